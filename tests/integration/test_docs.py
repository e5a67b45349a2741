"""The documentation in docs/ stands on its own: its links lead to files of this repository, the
source files it names exist (so a file that moves is noticed), every page is in the index,
every reliability case is there once, and nothing in the repository points at design notes that
live outside it."""

import re
import subprocess

from conftest import TOP

DOCS = TOP / "docs"


def pages():
    return sorted(DOCS.glob("*.md"))


def test_every_page_is_in_the_index():
    index = (DOCS / "README.md").read_text()
    for page in pages():
        if page.name != "README.md":
            assert f"({page.name})" in index, f"{page.name} is not listed in docs/README.md"
    for man in sorted((DOCS / "man").glob("*.scd")):
        assert f"(man/{man.name})" in index, f"{man.name} is not listed in docs/README.md"


def test_links_lead_to_files_of_the_repository():
    for page in pages():
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if re.match(r"[a-z]+:", target):
                continue
            assert (page.parent / target).exists(), f"{page.name} links to {target}, which does not exist"


def test_source_paths_named_in_the_docs_exist():
    """Paths such as `daemon/policy.c` or `tests/vm/` in the prose must be real."""
    roots = ("daemon/", "common/", "client-lib/", "dbus/", "policy/", "systemd/", "tests/",
             "tools/", "docs/", "debian/", "examples/", "shell-completion/", "bridge/")
    for page in [*pages(), TOP / "README.md"]:
        for path in re.findall(r"`([a-z][a-z0-9_./-]*)`", page.read_text()):
            if not path.startswith(roots) or "*" in path:
                continue
            for alternative in path.split(", "):
                assert (TOP / alternative).exists(), f"{page.name} names {alternative}, which does not exist"


def test_reliability_cases_are_numbered_once_each():
    numbers = [int(n) for n in re.findall(r"^\| (\d+) \|", (DOCS / "reliability.md").read_text(), flags=re.M)]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 45, numbers


def tracked_files():
    r = subprocess.run(["git", "-C", str(TOP), "ls-files", "-z"], capture_output=True)
    if r.returncode == 0 and r.stdout:
        return [TOP / p for p in r.stdout.decode().split("\0") if p]
    return [p for p in TOP.rglob("*") if p.is_file() and "/.git/" not in str(p) and "/build/" not in str(p)]


def test_nothing_points_outside_the_repository():
    # The design notes beside a checkout, spelled in parts so that this file names no such path
    # either and is checked like every other.
    notes = "shared"
    pattern = re.compile(re.escape(notes + "/design") + "|" + re.escape("../" + notes + "/"))
    offenders = []
    for path in tracked_files():
        if path.suffix in (".png", ".y4m", ".wav") or not path.is_file():
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        if pattern.search(text):
            offenders.append(str(path.relative_to(TOP)))
    assert not offenders, f"these point at design notes outside the repository: {offenders}"


def test_every_page_named_exists():
    """A "something.md" named in any file of the repository is a file of the repository: the
    design notes that once lived outside it are not to be pointed at again."""
    files = [p for p in tracked_files() if p.is_file()]
    existing = {p.name for p in files if p.suffix == ".md"}
    missing = set()
    for path in files:
        if path.suffix in (".png", ".y4m", ".wav") or path.name == "test_docs.py":
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        for name in re.findall(r"(?<![\w./-])([A-Za-z][\w-]*\.md)\b", text):
            if name not in existing:
                missing.add(f"{path.relative_to(TOP)}: {name}")
    assert not missing, f"pages that are not in the repository: {sorted(missing)}"
