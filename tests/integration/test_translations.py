"""The translations: po/mediagate.pot holds every string the sources mark and the autostart
entry's Name= and Comment= (no file with translatable strings is left out of po/POTFILES), and
every translation is complete."""

import re
import subprocess
from pathlib import Path

import pytest

from conftest import TOP

PO = TOP / "po"


def msgids(pot_text):
    """The msgids of a .pot or .po text (the header's empty one left out)."""
    ids, current = set(), None
    for line in pot_text.splitlines() + [""]:
        m = re.match(r'^msgid "(.*)"$', line)
        if m:
            current = m.group(1)
        elif current is not None and line.startswith('"'):
            current += line[1:-1]
        elif current is not None:
            if current:
                ids.add(current)
            current = None
    return ids


def test_every_marked_source_is_listed():
    listed = set(PO.joinpath("POTFILES").read_text().split())
    marked = {str(p.relative_to(TOP)) for p in (TOP / "client-lib").rglob("*.c")
              if re.search(r'\b(_|N_|ngettext)\("', p.read_text())}
    assert marked <= listed, marked - listed


def test_the_template_is_up_to_date(tmp_path):
    sources = PO.joinpath("POTFILES").read_text().split()
    fresh = tmp_path / "fresh.pot"
    subprocess.run(["xgettext", "--language=C", "--from-code=UTF-8", "--keyword=_", "--keyword=N_",
                    "--keyword=ngettext:1,2", f"--output={fresh}", *[f for f in sources if f.endswith(".c")]],
                   cwd=TOP, check=True, capture_output=True)
    subprocess.run(["xgettext", "--language=Desktop", "--join-existing", f"--output={fresh}",
                    *[f for f in sources if f.endswith(".desktop")]], cwd=TOP, check=True, capture_output=True)
    assert msgids(fresh.read_text()) == msgids(PO.joinpath("mediagate.pot").read_text()), \
        "po/mediagate.pot is out of date: run `make update-po`"


@pytest.mark.parametrize("language", PO.joinpath("LINGUAS").read_text().split())
def test_translations_are_complete(language):
    po = PO / f"{language}.po"
    p = subprocess.run(["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(po)], capture_output=True,
                       text=True)
    assert p.returncode == 0, p.stderr
    assert "untranslated" not in p.stderr and "fuzzy" not in p.stderr, p.stderr
    assert msgids(po.read_text()) == msgids(PO.joinpath("mediagate.pot").read_text())
