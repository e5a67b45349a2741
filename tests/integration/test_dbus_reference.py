"""docs/dbus-api.md, the D-Bus reference, stays what the XML in dbus/ gives (tools/dbus-doc),
every member of the XML carries a comment, and every member the running daemon serves, on the
root object, on a request and on a track, is documented there: beside test_introspection.py,
which holds the XML and the daemon to each other."""

import re
import subprocess

import dbus

from conftest import BUS_NAME, OBJECT_PATH, TOP
from mgclient import Agent, run_until
from test_introspection import documented_interfaces, served_interfaces

REFERENCE = TOP / "docs" / "dbus-api.md"
TOOL = TOP / "tools" / "dbus-doc"


def sections(text):
    """{interface: {heading names}} of the reference: '## iface' then '#### Member' headings
    ('#### A, B' for a group of properties)."""
    result, current = {}, None
    for line in text.splitlines():
        m = re.match(r"^## (\S+)$", line)
        if m:
            current = result.setdefault(m.group(1), set())
            continue
        m = re.match(r"^#### (.+)$", line)
        if m and current is not None:
            current |= {n.strip() for n in m.group(1).split(",")}
    return result


def test_reference_is_generated_from_the_xml():
    r = subprocess.run([str(TOOL), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([str(TOOL)], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout == REFERENCE.read_text()


def test_every_member_of_the_xml_is_in_the_reference():
    documented = sections(REFERENCE.read_text())
    for iface, (xml_file, members) in documented_interfaces().items():
        assert iface in documented, f"{iface} ({xml_file}) has no section"
        for _, name in members:
            assert name in documented[iface], f"{iface}.{name} is not in the reference"


def test_every_error_is_in_the_reference():
    names = re.findall(r'#define MG_ERROR_\w+\s+(?:MG_ERROR_PREFIX\s+)?"([A-Za-z]+)"',
                       (TOP / "common" / "mediagate-names.h").read_text())
    assert "NotAllowedError" in names
    text = REFERENCE.read_text()
    for name in names:
        assert f"- `{name}`:" in text, f"the error {name} is not described in the reference"


def test_the_check_sees_an_undocumented_member_and_a_stale_reference(tmp_path):
    """tools/dbus-doc --check, on a copy of the tree: a method without a comment fails it, and so
    does a reference that is not what the XML gives."""
    copy = tmp_path / "tree"
    for d in ("tools", "docs", "dbus"):
        (copy / d).mkdir(parents=True)
    (copy / "tools" / "dbus-doc").write_text(TOOL.read_text())
    for xml in (TOP / "dbus").glob("*.xml"):
        (copy / "dbus" / xml.name).write_text(xml.read_text())
    tool = ["python3", str(copy / "tools" / "dbus-doc")]
    assert subprocess.run(tool + ["--write"]).returncode == 0
    assert subprocess.run(tool + ["--check"]).returncode == 0

    request = copy / "dbus" / f"{BUS_NAME}.Request.xml"
    request.write_text(request.read_text().replace('<method name="Close"/>',
                                                   '<method name="Close"/>\n    <method name="Sneak"/>'))
    r = subprocess.run(tool + ["--check"], capture_output=True, text=True)
    assert r.returncode == 1 and "no comment for Sneak" in r.stderr and "not what the XML gives" in r.stderr


def assert_served_members_documented(bus, path, documented):
    served = served_interfaces(bus, path)
    assert served, f"nothing served at {path}"
    for iface, members in served.items():
        assert iface in documented, f"{iface} (at {path}) has no section in the reference"
        for _, name in members:
            assert name in documented[iface], f"{iface}.{name} is served at {path} but not documented"
    return served


def test_every_served_member_is_documented(bus, daemon, polkit, clients):
    documented = sections(REFERENCE.read_text())
    root = assert_served_members_documented(bus, OBJECT_PATH, documented)
    assert {BUS_NAME + ".Manager", BUS_NAME + ".Admin", BUS_NAME + ".Testing"} <= set(root)

    client = clients()
    # A request waiting for its prompt: its object is served meanwhile.
    agent = Agent(decision=None)
    try:
        path, responses = client.start_request({"video": True})
        assert run_until(lambda: agent.pending, 10), "no prompt"
        assert BUS_NAME + ".Request" in assert_served_members_documented(client.bus, path, documented)
        ok, _ = agent.pending[0]
        ok("allow-once", dbus.Dictionary({}, signature="sv"))
        assert run_until(lambda: responses, 10), "no Response"
    finally:
        agent.vanish()
    code, results = responses[0]
    assert code == 0, results
    track_path = results["tracks"][0]
    assert BUS_NAME + ".Track" in assert_served_members_documented(client.bus, track_path, documented)
