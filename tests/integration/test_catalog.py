"""The journal catalog (systemd/mediagate.catalog) and the MESSAGE_IDs of
common/mediagate-names.h stay in step: every ID the daemon logs has an entry, no entry is left
for an ID that is gone, each entry is complete, and journalctl itself indexes the installed file
and explains each ID."""

import re
import subprocess
from pathlib import Path

import pytest

from conftest import TOP
from test_packaging import PREFIX, expected_locations, inside, run_make

NAMES_HEADER = TOP / "common" / "mediagate-names.h"
CATALOG = TOP / "systemd" / "mediagate.catalog"


def message_ids():
    """{ID: macro name} of every journal MESSAGE_ID the code defines."""
    ids = {}
    for name, value in re.findall(r'#define\s+(MG_MESSAGE_\w+)\s+"([^"]*)"', NAMES_HEADER.read_text()):
        assert re.fullmatch(r"[0-9a-f]{32}", value), f"{name}: {value!r} is not a 128-bit id"
        assert value not in ids, f"{name} and {ids[value]} share {value}"
        ids[value] = name
    assert ids, "no MESSAGE_ID found in " + str(NAMES_HEADER)
    return ids


def catalog_entries(text):
    """{ID: (headers, body)} of a catalog file, as journalctl reads it."""
    entries = {}
    for block in re.split(r"^-- ", text, flags=re.M)[1:]:
        head, _, rest = block.partition("\n")
        ident = head.strip()
        assert ident not in entries, f"{ident} has two entries"
        headers, body, in_body = {}, [], False
        for line in rest.splitlines():
            if not in_body and re.match(r"^[A-Za-z-]+: ", line):
                key, _, value = line.partition(": ")
                headers[key] = value
            elif not in_body and line == "":
                in_body = True
            elif in_body and not line.startswith("#"):
                body.append(line)
        entries[ident] = (headers, "\n".join(body).strip())
    return entries


def test_every_message_id_has_a_catalog_entry_and_no_more():
    ids = set(message_ids())
    entries = set(catalog_entries(CATALOG.read_text()))
    assert ids - entries == set(), "MESSAGE_IDs without a catalog entry: " + \
        ", ".join(message_ids()[i] for i in sorted(ids - entries))
    assert entries - ids == set(), f"catalog entries for unknown ids: {sorted(entries - ids)}"


def test_catalog_entries_are_complete():
    for ident, (headers, body) in catalog_entries(CATALOG.read_text()).items():
        assert headers.get("Subject"), f"{ident}: no Subject"
        assert headers.get("Defined-By") == "mediagate", ident
        assert headers.get("Documentation", "").startswith("man:"), ident
        assert len(body) > 80, f"{ident}: the explanation is missing or too short"


def test_catalog_fields_are_fields_the_daemon_sends():
    """@FIELD@ in an entry is replaced by that field of the journal entry: each one used must be
    a field some daemon source sends."""
    sources = "\n".join(p.read_text() for p in (TOP / "daemon").rglob("*.c"))
    used = set()
    for headers, body in catalog_entries(CATALOG.read_text()).values():
        used |= set(re.findall(r"@([A-Z0-9_]+)@", headers["Subject"] + "\n" + body))
    assert used
    for field in used:
        assert f'"{field}=' in sources, f"{field} is used in the catalog but never sent"


def test_the_catalog_check_can_fail(tmp_path):
    """The comparison sees a missing entry (a MESSAGE_ID added without one)."""
    text = CATALOG.read_text()
    first = next(iter(message_ids()))
    trimmed = re.sub(rf"^-- {first}\n.*?(?=^-- |\Z)", "", text, flags=re.M | re.S)
    assert first not in catalog_entries(trimmed) and len(catalog_entries(trimmed)) == \
        len(catalog_entries(text)) - 1


@pytest.fixture(scope="module")
def installed_catalog(tmp_path_factory):
    destdir = tmp_path_factory.mktemp("catalogroot")
    run_make("install", f"DESTDIR={destdir}", f"prefix={PREFIX}")
    return destdir


def test_journalctl_indexes_the_installed_catalog(installed_catalog, tmp_path):
    """journalctl --update-catalog reads catalogs from <root>/usr/lib/systemd/catalog: with the
    installed file there (and only it), every ID is listed with its subject."""
    installed = inside(installed_catalog, expected_locations(PREFIX)["catalog"])
    assert installed.is_file()
    root = tmp_path / "root"
    catalog_dir = root / "usr/lib/systemd/catalog"
    catalog_dir.mkdir(parents=True)
    (catalog_dir / installed.name).write_bytes(installed.read_bytes())
    r = subprocess.run(["journalctl", f"--root={root}", "--update-catalog"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert (root / "var/lib/systemd/catalog/database").is_file()
    r = subprocess.run(["journalctl", f"--root={root}", "--list-catalog"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    listed = {line.split()[0]: line for line in r.stdout.splitlines() if line.strip()}
    entries = catalog_entries(CATALOG.read_text())
    for ident in message_ids():
        assert ident in listed, f"journalctl does not list {ident}"
        assert entries[ident][0]["Subject"] in listed[ident]
    r = subprocess.run(["journalctl", f"--root={root}", "--dump-catalog", next(iter(message_ids()))],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "Defined-By: mediagate" in r.stdout, r.stdout + r.stderr
