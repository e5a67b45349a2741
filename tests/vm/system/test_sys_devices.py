"""Device permissions in the VM: the camera and capture nodes belong to the video and audio
groups, the daemon's user (in both) opens them, alice and bob (in neither) cannot; and the
installed udev rule (72-mediagate.rules) keeps the user of the active seat out, where without
it logind's uaccess ACL would let her in.

There is no logind in the VM. The uaccess builtin of udev (73-seat-late.rules) reads the seat's
active user from /run/systemd/seats/seat0, which logind writes; the test writes that file with
alice as the active user, which is what udev sees on a laptop where alice is logged in."""

import grp
import os
import stat
import subprocess
from pathlib import Path

import pytest

import devnodes
from .mgsystem import acl_users, open_as, strip_acl, uid_of

SEATS = Path("/run/systemd/seats")
MASK = Path("/etc/udev/rules.d/72-mediagate.rules")


def capture_nodes():
    """The camera and every capture PCM of the VM."""
    pcms = [p for card in devnodes.alsa_cards().values() for p in devnodes.capture_pcms(card)]
    return [devnodes.vivid_capture_node(), *pcms]


def playback_node():
    """A playback PCM: a sound node the rule leaves to uaccess (the control of the scenario)."""
    card = devnodes.alsa_cards()["Loopback"]
    return f"/dev/snd/pcmC{card}D0p"


def test_nodes_belong_to_the_video_and_audio_groups(system):
    for node in capture_nodes() + [playback_node()]:
        st = os.stat(node)
        group = "video" if "/video" in node else "audio"
        assert stat.S_ISCHR(st.st_mode) and st.st_uid == 0, node
        assert grp.getgrgid(st.st_gid).gr_name == group and stat.S_IMODE(st.st_mode) == 0o660, \
            (node, oct(st.st_mode), grp.getgrgid(st.st_gid).gr_name)
        # No seat has an active user: nobody has an ACL on it yet.
        assert acl_users(node) == {}, node
    members = {g: grp.getgrnam(g).gr_mem for g in ("video", "audio")}
    assert all("mediagate" in m for m in members.values()), members
    assert not any(u in m for m in members.values() for u in ("alice", "bob")), members


def test_the_daemons_user_opens_them_and_users_do_not(system):
    nodes = capture_nodes()
    assert open_as("mediagate", nodes) == {n: "ok" for n in nodes}
    for user in ("alice", "bob"):
        assert open_as(user, nodes) == {n: "EACCES" for n in nodes}, user


def trigger(nodes):
    """A "change" event for each node (what a session switch makes logind's ACLs follow), and
    wait for udev to finish with them."""
    syspaths = [subprocess.run(["udevadm", "info", "--query=path", f"--name={n}"], capture_output=True, text=True,
                               check=True).stdout.strip() for n in nodes]
    subprocess.run(["udevadm", "trigger", "--action=change", "--settle", *["/sys" + p for p in syspaths]],
                   check=True, timeout=60)


def current_tags(node):
    return devnodes.udev_properties(node).get("CURRENT_TAGS", "").strip(":").split(":")


@pytest.fixture
def alice_on_seat0(system):
    """alice as the active user of seat0, as logind would record her login; undone after."""
    created = not SEATS.exists()
    SEATS.mkdir(parents=True, exist_ok=True)
    (SEATS / "seat0").write_text(f"ACTIVE=c1\nACTIVE_UID={uid_of('alice')}\n")
    nodes = capture_nodes() + [playback_node()]
    yield nodes
    MASK.unlink(missing_ok=True)
    subprocess.run(["udevadm", "control", "--reload"], check=True)
    (SEATS / "seat0").unlink()
    if created:
        SEATS.rmdir()
    for node in nodes:
        strip_acl(node)


def test_the_udev_rule_takes_the_seat_users_access_away(system, alice_on_seat0):
    nodes = alice_on_seat0
    alice = uid_of("alice")
    captures, playback = nodes[:-1], nodes[-1]

    # Without the rule (masked in /etc): uaccess gives alice an ACL on every node, and she opens
    # the camera and microphones herself, around the daemon.
    MASK.symlink_to("/dev/null")
    subprocess.run(["udevadm", "control", "--reload"], check=True)
    trigger(nodes)
    assert {n: alice in acl_users(n) for n in nodes} == {n: True for n in nodes}
    assert open_as("alice", captures) == {n: "ok" for n in captures}

    # With the installed rule, after the README's step for nodes that are already there (clear
    # their ACLs): the capture nodes get no ACL and lose the uaccess tag; the playback node,
    # which the rule does not cover, gets alice's ACL again from the same event.
    MASK.unlink()
    subprocess.run(["udevadm", "control", "--reload"], check=True)
    for node in nodes:
        strip_acl(node)
    trigger(nodes)
    assert {n: alice in acl_users(n) for n in captures} == {n: False for n in captures}
    assert alice in acl_users(playback)
    assert all("uaccess" not in current_tags(n) for n in captures), {n: current_tags(n) for n in captures}
    assert "uaccess" in current_tags(playback)
    assert open_as("alice", captures) == {n: "EACCES" for n in captures}
    assert open_as("mediagate", captures) == {n: "ok" for n in captures}
