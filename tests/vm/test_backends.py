"""The real backends without udevd, as in a minimal VM or container: the daemon finds vivid and
the ALSA cards through sysfs alone, captures from them, and follows hotplug through the kernel's
own uevents, believing only those the kernel sent. (With udevd the same is test_real_devices.py's
part.) udevd is stopped for each test here and started again after it."""

import os
import socket
import subprocess
import time

import pytest

import devnodes
from conftest import IFACE_MANAGER, REAL_BACKENDS_CONFIG, RealEnv
from mgclient import FRAME, run_until

NETLINK_KOBJECT_UEVENT = 15
KERNEL_UEVENT_GROUP = 1


def udevd_running():
    return subprocess.run(["udevadm", "control", "--ping", "--timeout=2"], capture_output=True).returncode == 0


def modprobe(*args):
    # Not devnodes' helpers: they wait for udev, which is not there.
    subprocess.run(["modprobe", *args], check=True, timeout=60)


def module_loaded(name):
    return os.path.isdir(f"/sys/module/{name.replace('-', '_')}")


@pytest.fixture
def without_udevd():
    assert udevd_running(), "udevd should run in the VM before this test"
    subprocess.run(["udevadm", "control", "--exit"], check=True, timeout=60)
    # Its control socket stays behind; the daemon must not take that for a live udevd.
    assert not udevd_running()
    yield
    if not module_loaded("vivid"):
        modprobe("vivid")
    subprocess.run(["/lib/systemd/systemd-udevd", "--daemon"], check=True, timeout=60)
    # Whatever came and went meanwhile has no udev database entry yet.
    subprocess.run(["udevadm", "trigger", "--type=subsystems", "--action=add"], check=True, timeout=60)
    subprocess.run(["udevadm", "trigger", "--type=devices", "--action=add"], check=True, timeout=60)
    subprocess.run(["udevadm", "settle", "--timeout=60"], check=True, timeout=90)


@pytest.fixture
def bare(without_udevd, daemon_factory, polkit, clients, agents):
    """The daemon on the real backends, started while udevd is down (torn down before udevd
    comes back)."""
    return RealEnv(daemon_factory(config=REAL_BACKENDS_CONFIG).start(), polkit, clients, agents)


def has_camera(env):
    # Before any grant a kind shows as one blank entry while some device of it exists.
    return any(d[1] == "videoinput" for d in env.enumerate())


def test_without_udevd_the_devices_are_found_through_sysfs(bare):
    bare.require("v4l2", "alsa")
    bare.expose("video")
    cameras = [d for d in bare.enumerate() if d[1] == "videoinput"]
    assert len(cameras) == 1 and "vivid" in cameras[0][2].lower(), cameras
    assert cameras[0][3]["group_id"]
    bare.expose("audio")
    labels = " | ".join(d[2] for d in bare.enumerate() if d[1] == "audioinput")
    for name in ("Loopback", "Dummy"):
        assert name.lower() in labels.lower(), labels
    assert "kernel uevents" in bare.daemon.output(), bare.daemon.output()


def test_without_udevd_the_camera_delivers_fresh_frames(bare):
    bare.require("v4l2")
    bare.agents("allow-once")
    code, results = bare.client.get_user_media({"video": {"width": {"exact": 640}, "height": {"exact": 480}}})
    assert code == 0, results
    stream = bare.client.track(results["tracks"][0]).open()
    try:
        seqs = []
        for _ in range(3):
            msg, data = stream.next_frame(timeout=10)
            assert msg is not None and msg["type"] == FRAME, msg
            assert len(data) == stream.format["frame_size"]
            now = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
            assert -1_000_000_000 < now - msg["timestamp_ns"] < 5_000_000_000, "a stale frame"
            seqs.append(msg["sequence"])
        assert seqs == sorted(set(seqs)), seqs
    finally:
        stream.close()


def forged_remove(devpath, subsystem):
    """A "remove" uevent for devpath, sent to the kernel's uevent group by a process (root may
    send there): the kernel never sent it."""
    body = (f"remove@{devpath}\0ACTION=remove\0DEVPATH={devpath}\0SUBSYSTEM={subsystem}\0"
            f"SEQNUM=999999\0").encode()
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_KOBJECT_UEVENT) as s:
        s.bind((0, 0))
        s.sendto(body, (0, KERNEL_UEVENT_GROUP))


def test_without_udevd_hotplug_follows_the_kernel_and_only_the_kernel(bare):
    bare.require("v4l2")
    changes = []
    bare.client.bus.add_signal_receiver(lambda: changes.append(time.monotonic()), "DevicesChanged",
                                        IFACE_MANAGER, None, None)
    assert has_camera(bare)
    node = os.path.basename(devnodes.vivid_capture_node())
    devpath = os.path.realpath(f"/sys/class/video4linux/{node}")[len("/sys"):]

    # Anyone may say a camera went; only the kernel is believed.
    forged_remove(devpath, "video4linux")
    run_until(lambda: changes, timeout=3)
    assert not changes and has_camera(bare), "a forged uevent removed the camera"

    # The daemon holds no camera open while nobody captures, so the driver can go.
    modprobe("-r", "vivid")
    assert run_until(lambda: changes and not has_camera(bare), timeout=15), "the camera stayed after unplugging"
    seen = len(changes)
    modprobe("vivid")
    assert run_until(lambda: len(changes) > seen and has_camera(bare), timeout=15), "the camera did not come back"
