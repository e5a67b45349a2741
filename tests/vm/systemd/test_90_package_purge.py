"""Removing and purging the packages: the daemon stops, the unit and every installed file go,
so does the state directory; the system user stays, as Debian keeps the users packages made."""

import pwd
from pathlib import Path

from .vmsystemd import BUS_NAME, PACKAGES, UNIT, installed_version, run, show


def test_purge_removes_everything_but_the_user():
    files = set()
    for p in PACKAGES:
        files |= {line for line in run("dpkg", "-L", p).stdout.splitlines()
                  if Path(line).is_file() and not Path(line).is_symlink()}
    assert "/usr/sbin/mediagated" in files
    run("dpkg", "--purge", *reversed(PACKAGES), timeout=600)

    for p in PACKAGES:
        assert installed_version(p) is None
    left = sorted(f for f in files if Path(f).exists())
    assert not left, f"left behind: {left}"
    assert not Path("/var/lib/mediagate").exists()
    assert not Path("/etc/mediagate").exists()
    assert show(UNIT, "LoadState", "ActiveState") == {"LoadState": "not-found", "ActiveState": "inactive"}
    # Nothing answers for the name any more, and nothing can be activated for it.
    r = run("busctl", "--system", "call", BUS_NAME, "/org/mediagate/MediaGate1",
            "org.freedesktop.DBus.Peer", "Ping", check=False)
    text = r.stdout + r.stderr
    assert r.returncode != 0 and "not provided by any .service files" in text, text
    assert pwd.getpwnam("mediagate").pw_uid < 1000
