"""The packages on a systemd system: an install (of the packages under a lower version number)
creates the system user and the state directory, enables and starts the unit, registers the
journal catalog; an upgrade to this tree's packages restarts the daemon and keeps its state."""

import grp
import os
import pwd
import stat
from pathlib import Path

from .vmsystemd import (PACKAGES, UNIT, busctl_call, installed_version, installed_version_of, journal, run,
                      show, wait_for)

STATE = Path("/var/lib/mediagate")
CATALOG_ID = "8b1f0c6e4a3d4c3f9d2e71a5c0b4e6d1"  # MG_MESSAGE_DAEMON_STARTED


def dpkg_install(paths):
    return run("dpkg", "-i", *[str(p) for p in paths], timeout=600)


def test_nothing_of_ours_is_installed_yet():
    for p in PACKAGES:
        assert installed_version(p) is None, f"{p} is installed before the test"
    assert show(UNIT, "LoadState")["LoadState"] == "not-found"


def test_install_creates_the_user_enables_and_starts_the_unit(previous_debs):
    debs, previous = previous_debs
    dpkg_install(debs[p] for p in PACKAGES)
    for p in PACKAGES:
        assert installed_version(p) == previous

    user = pwd.getpwnam("mediagate")
    assert user.pw_uid < 1000 and user.pw_shell.endswith("nologin")
    assert "mediagate" in grp.getgrnam("video").gr_mem and "mediagate" in grp.getgrnam("audio").gr_mem

    assert run("systemctl", "is-enabled", UNIT).stdout.strip() == "enabled"
    wait_for(lambda: show(UNIT, "ActiveState")["ActiveState"] == "active", 60, what="mediagated active")
    st = STATE.stat()
    assert st.st_uid == user.pw_uid and stat.S_IMODE(st.st_mode) == 0o700

    # The daemon answers on the system bus, as root (the library's own check is elsewhere).
    assert busctl_call("Manager", "QueryPermission", "sa{sv}", "camera", "0").stdout.startswith("s ")


def test_the_bridge_is_a_trusted_broker_by_a_conffile():
    """mediagate-pipewire's broker entry is the admin's file (a conffile: kept on upgrades when
    changed, removed on purge); its user unit starts with PipeWire."""
    conffiles = run("dpkg-query", "-W", "-f=${Conffiles}", "mediagate-pipewire").stdout
    assert "/etc/mediagate/policy.d/50-pipewire-bridge.conf" in conffiles, conffiles
    text = Path("/etc/mediagate/policy.d/50-pipewire-bridge.conf").read_text()
    assert "Apps=host:/usr/bin/mediagate-pipewire" in text, text
    assert Path("/usr/lib/systemd/user/mediagate-pipewire.service").is_file()


def test_install_registers_the_journal_catalog():
    """systemd's trigger ran journalctl --update-catalog: the entries explain themselves."""
    listed = run("journalctl", "--list-catalog").stdout
    assert CATALOG_ID in listed
    # -x adds the catalog's text ("Subject: ...") below each entry that has one.
    text = journal(UNIT, "-x", f"MESSAGE_ID={CATALOG_ID}")
    assert "The media gate is serving cameras and microphones" in text, text


def test_upgrade_restarts_the_daemon_and_keeps_its_state(debs, previous_debs):
    # A decision stored before the upgrade (Admin.SetGrant, root's own) must still be there after.
    busctl_call("Admin", "SetGrant", "ssssa{sv}", "org.example.UpgradeProbe", "", "camera", "deny", "0")
    before = show(UNIT, "InvocationID", "MainPID")

    dpkg_install(debs[p] for p in PACKAGES)
    for p in PACKAGES:
        assert installed_version(p) == installed_version_of(debs[p])

    assert run("systemctl", "is-enabled", UNIT).stdout.strip() == "enabled"
    after = wait_for(lambda: (s := show(UNIT, "InvocationID", "MainPID", "ActiveState"))["ActiveState"] == "active"
                     and s["InvocationID"] != before["InvocationID"] and s, 60, what="a restarted mediagated")
    assert after["MainPID"] != before["MainPID"]
    grants = busctl_call("Admin", "ListGrants", "a{sv}", "0").stdout
    assert "org.example.UpgradeProbe" in grants, grants
    busctl_call("Admin", "RevokeGrant", "sssa{sv}", "org.example.UpgradeProbe", "", "camera", "0")
    assert os.path.isdir(STATE)
