"""The manual pages: each scdoc source builds without a word from scdoc or from groff's checks
of the result, `make install` puts each into its section's directory, and the pages keep up
with what they describe: every option of mediagated and mediactl, every key of
mediagated.conf and of the policy files, every function of libmediagate."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import BUILD, DAEMON, MEDIACTL, TOP
from test_packaging import PREFIX, run_make

MAN_DIRS = [TOP / "docs" / "man", TOP / "bridge"]
REQUIRED = ["mediagated.8", "mediactl.1", "mediagated.conf.5", "mediagate-policy.5", "libmediagate.3"]


def sources():
    found = sorted(p for d in MAN_DIRS if d.is_dir() for p in d.glob("*.scd"))
    return {p.name[:-len(".scd")]: p for p in found}


def page_text(name):
    return sources()[name].read_text()


def scdoc(path):
    with open(path, "rb") as f:
        r = subprocess.run(["scdoc"], stdin=f, capture_output=True)
    return r.returncode, r.stdout, r.stderr.decode()


def test_every_required_page_exists():
    assert set(REQUIRED) <= set(sources()), sorted(sources())


@pytest.mark.parametrize("name", sorted(sources()))
def test_page_builds_without_warnings(name, tmp_path):
    path = sources()[name]
    rc, roff, err = scdoc(path)
    assert rc == 0 and err == "", f"scdoc {path.name}: exit {rc}\n{err}"
    # The title line names the page as the file does: NAME(SECTION).
    title, section = name.rsplit(".", 1)
    assert path.read_text().splitlines()[0] == f"{title}({section})"
    out = tmp_path / name
    out.write_bytes(roff)
    # groff with every warning on, output discarded: anything it says is a defect of the page.
    r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", str(out)], capture_output=True, text=True)
    assert r.returncode == 0 and r.stderr == "", f"groff on {name}:\n{r.stderr}"
    text = subprocess.run(["groff", "-man", "-Tutf8", "-P", "-cbou", str(out)], capture_output=True).stdout
    assert b"NAME" in text and b"DESCRIPTION" in text


def test_the_check_sees_a_broken_page(tmp_path):
    bad = tmp_path / "bad.1.scd"
    bad.write_text("bad(1)\n\n# NAME\n\nbad - x\n\n  indented with spaces\n")
    rc, _, err = scdoc(bad)
    assert rc != 0 and err


def test_make_builds_and_install_installs_every_page(tmp_path):
    destdir = tmp_path / "root"
    run_make("install", f"DESTDIR={destdir}", f"prefix={PREFIX}")
    for name in sources():
        section = name.rsplit(".", 1)[1]
        assert (BUILD / "man" / name).is_file(), f"make did not build {name}"
        installed = destdir / f"{PREFIX.lstrip('/')}/share/man/man{section}/{name}"
        assert installed.is_file(), f"{name} not installed"
        assert installed.stat().st_mode & 0o777 == 0o644


def help_options(text):
    """The options a --help text lists in its usage lines ("mediactl grants [--app APP]...", and
    their continuations) and in its table ("  --json   Print JSON", "  -h --help ..."); options
    it merely mentions in prose (of another command, say) do not count."""
    options = set()
    for line in text.splitlines():
        if line.startswith("mediactl ") or line.startswith("mediagated ") or re.match(r"^\s+\[", line):
            options |= set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", line))
        options |= set(re.findall(r"^ {2,}(?:-\w,? +)?(--[a-z][a-z-]*)", line))
    return options


def run_help(program, *args):
    r = subprocess.run([str(program), *args, "--help"], capture_output=True, text=True,
                       env=dict(os.environ, MEDIAGATE_BUS="session"))
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_mediagated_page_names_every_option():
    options = help_options(run_help(DAEMON))
    assert "--config" in options
    page = page_text("mediagated.8")
    missing = sorted(o for o in options if f"*{o}*" not in page)
    assert not missing, f"mediagated.8 does not document {missing}"


def mediactl_commands():
    text = run_help(MEDIACTL)
    block = text.split("Commands:", 1)[1].split("Options:", 1)[0]
    commands = re.findall(r"^  ([a-z][a-z-]*)\s", block, flags=re.M)
    assert len(commands) > 5, text
    return commands


def test_mediactl_page_names_every_command_and_option():
    page = page_text("mediactl.1")
    for option in help_options(run_help(MEDIACTL)):
        assert f"*{option}*" in page, f"mediactl.1 does not document {option}"
    for command in mediactl_commands():
        assert re.search(rf"^\*{command}\*", page, flags=re.M), f"mediactl.1 has no entry for {command}"
        for option in help_options(run_help(MEDIACTL, command)) - {"--help"}:
            assert f"*{option}*" in page, f"mediactl.1 does not document {command} {option}"


def source_of(name):
    """A module of the tree wherever the layout keeps it (common/ or daemon/)."""
    for d in ("common", "daemon"):
        if (TOP / d / name).exists():
            return TOP / d / name
    raise AssertionError(f"no {name} in common/ or daemon/")


def config_keys():
    keys = re.findall(r'streq\(key, "([A-Za-z]+)"\)', source_of("config.c").read_text())
    assert "Backends" in keys
    return keys


def test_config_page_documents_every_key():
    page = page_text("mediagated.conf.5")
    for key in config_keys():
        assert re.search(rf"^\*{key}=\*$", page, flags=re.M), f"mediagated.conf.5 lacks {key}="


def policy_keys():
    text = source_of("policy.c").read_text()
    keys = set(re.findall(r'\[KEY_[A-Z]+\] = "([A-Za-z]+)"', text))
    keys |= set(re.findall(r'streq\(key, "([A-Za-z]+)"\)', text))
    assert {"Apps", "Decision", "Lock"} <= keys
    return keys


def test_policy_page_documents_every_key_and_section():
    page = page_text("mediagate-policy.5")
    for key in policy_keys():
        assert re.search(rf"^\*{key}=\*$", page, flags=re.M), f"mediagate-policy.5 lacks {key}="
    for section in re.findall(r'"\[?(Rule|Brokers)\]?"', source_of("policy.c").read_text()):
        assert f"# [{section}]" in page


def library_functions():
    names = set(re.findall(r"\b(mg_[a-z0-9_]+)\s*\(", (TOP / "client-lib" / "mediagate.h").read_text()))
    assert "mg_client_get_user_media" in names
    return names


def test_library_page_names_every_function():
    page = page_text("libmediagate.3")
    missing = sorted(f for f in library_functions() if f"*{f}*()" not in page)
    assert not missing, f"libmediagate.3 does not name {missing}"


def test_library_page_example_builds(tmp_path):
    """The example of libmediagate.3, as a reader copies it, compiles and links against this
    build's header and library without a warning."""
    page = page_text("libmediagate.3")
    example = page.split("# EXAMPLE", 1)[1].split("```", 2)[1]
    # scdoc writes a backslash in a literal block as two.
    source = tmp_path / "example.c"
    source.write_text(example.replace("\\\\", "\\"))
    r = subprocess.run(["cc", "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-o", str(tmp_path / "example"),
                        str(source), f"-I{TOP / 'client-lib'}", f"-I{TOP / 'common'}", f"-L{BUILD}",
                        "-lmediagate", "-lsystemd"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


@pytest.mark.skipif(not (TOP / "bridge").is_dir(), reason="no bridge/ in this tree")
def test_bridge_page_is_built_when_present():
    page = TOP / "bridge" / "mediagate-pipewire.1.scd"
    assert page.is_file(), "bridge/ exists but has no mediagate-pipewire.1.scd"
    assert (BUILD / "man" / "mediagate-pipewire.1").is_file()
