"""mediagated.service under a real systemd, as the package installed it: readiness through
Type=notify, the watchdog, D-Bus activation, reload, the settings of a drop-in, the sandbox
(where the daemon may write, which device nodes it may open) and its exposure score."""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from .vmsystemd import HERE, UNIT, busctl_call, daemon_reload, journal, query_permission, run, show, wait_for

EXPOSURE_MAX = 1.4
DROPIN_DIR = Path("/run/systemd/system/mediagated.service.d")
POLICY_FILE = Path("/etc/mediagate/policy.d/50-vmtest.conf")
CONFIG_DROPIN = Path("/etc/mediagate/mediagated.conf.d/50-vmtest.conf")


def active():
    return show(UNIT, "ActiveState")["ActiveState"] == "active"


def restart():
    run("systemctl", "restart", UNIT, timeout=120)
    assert active()


def with_dropin(name, text):
    DROPIN_DIR.mkdir(parents=True, exist_ok=True)
    (DROPIN_DIR / name).write_text(text)
    daemon_reload()


def without_dropin(name):
    (DROPIN_DIR / name).unlink(missing_ok=True)
    daemon_reload()


@pytest.fixture(autouse=True)
def running_daemon():
    """Each test starts from the daemon running as the package left it."""
    if not active():
        run("systemctl", "start", UNIT, timeout=120)
    yield


def test_ready_through_notify():
    props = show(UNIT, "Type", "NotifyAccess", "StatusText", "SubState", "BusName")
    assert props["Type"] == "notify" and props["SubState"] == "running"
    # The status text comes from the daemon's own sd_notify(), with READY=1.
    assert props["StatusText"] == "Serving cameras and microphones.", props
    # `systemctl restart` of a Type=notify unit returns once READY=1 arrived: the bus name is
    # taken by then (the daemon says READY only after owning it).
    restart()
    run("busctl", "--system", "status", props["BusName"])


def test_the_daemon_runs_ahead_of_apps_but_not_in_real_time():
    pid = show(UNIT, "MainPID")["MainPID"]
    stat = Path(f"/proc/{pid}/stat").read_text()
    # After the command name's last ')': state is field 3, nice field 19, policy field 41.
    fields = stat[stat.rindex(")") + 2:].split()
    assert int(fields[19 - 3]) == -11, stat
    assert int(fields[41 - 3]) == 0, f"not SCHED_OTHER: {stat}"


def test_a_stalled_daemon_is_killed_by_the_watchdog_and_restarted():
    # The installed WatchdogSec= is 30 s; 3 s here tests the same mechanism in less time.
    assert show(UNIT, "WatchdogUSec")["WatchdogUSec"] not in ("0", "infinity")
    with_dropin("50-watchdog.conf", "[Service]\nWatchdogSec=3s\n")
    try:
        restart()
        before = show(UNIT, "MainPID", "NRestarts")
        os.kill(int(before["MainPID"]), 19)  # SIGSTOP: the event loop stops sending WATCHDOG=1
        after = wait_for(lambda: (s := show(UNIT, "MainPID", "NRestarts", "ActiveState"))["ActiveState"] == "active"
                         and s["MainPID"] != before["MainPID"] and s, 60, what="a restart by the watchdog")
        assert int(after["NRestarts"]) == int(before["NRestarts"]) + 1
        assert "Watchdog timeout" in journal(UNIT, "-o", "cat")
    finally:
        # The daemon the watchdog restarted stays (a 3 s watchdog harms nothing); the next start
        # is without the drop-in.
        without_dropin("50-watchdog.conf")


def test_dbus_activation_starts_the_daemon_on_the_first_call():
    run("systemctl", "stop", UNIT)
    assert show(UNIT, "ActiveState")["ActiveState"] in ("inactive", "failed")
    assert run("systemctl", "is-enabled", UNIT).stdout.strip() == "enabled"
    before = show(UNIT, "InvocationID")["InvocationID"]
    # Nobody owns the name now; the call makes dbus-daemon ask systemd for the unit.
    assert query_permission("microphone") in ("prompt", "granted", "denied")
    props = show(UNIT, "ActiveState", "InvocationID")
    assert props["ActiveState"] == "active" and props["InvocationID"] != before


def test_reload_rereads_the_admin_policy():
    POLICY_FILE.parent.mkdir(parents=True, exist_ok=True)
    try:
        assert query_permission("camera") != "denied"
        pid = show(UNIT, "MainPID")["MainPID"]
        POLICY_FILE.write_text("[Rule]\nKinds=camera\nDecision=deny\n")
        assert query_permission("camera") != "denied", "the daemon read the policy without a reload"
        run("systemctl", "reload", UNIT)
        wait_for(lambda: query_permission("camera") == "denied", 10, what="the denying policy")
        assert show(UNIT, "MainPID")["MainPID"] == pid, "reload restarted the daemon"
    finally:
        POLICY_FILE.unlink(missing_ok=True)
        run("systemctl", "reload", UNIT)
    wait_for(lambda: query_permission("camera") != "denied", 10, what="the policy without the rule")


def list_devices():
    out = busctl_call("Admin", "ListDevices", "a{sv}", "0", options=["--json=short"]).stdout
    return [d[0] for d in json.loads(out)["data"][0]]


def test_settings_from_a_drop_in_of_the_admin():
    """/usr/lib/mediagate/mediagated.conf is the package's; a drop-in in /etc overrides it."""
    assert Path("/usr/lib/mediagate/mediagated.conf").is_file()
    real = list_devices()
    assert any(d.startswith("v4l2:") for d in real) and not any(d.startswith("synthetic:") for d in real), real
    CONFIG_DROPIN.parent.mkdir(parents=True, exist_ok=True)
    try:
        CONFIG_DROPIN.write_text("[Daemon]\nBackends=synthetic\n")
        restart()
        synthetic = list_devices()
        assert synthetic and all(d.startswith("synthetic:") for d in synthetic), synthetic
    finally:
        CONFIG_DROPIN.unlink()
        shutil.rmtree(CONFIG_DROPIN.parent, ignore_errors=True)
        restart()
    assert list_devices() == real


def device_nodes():
    """(allowed, others): video4linux and ALSA nodes of the VM, and a node of another class."""
    video = sorted(str(p) for p in Path("/dev").glob("video*"))
    alsa = [p for p in ("/dev/snd/controlC0", "/dev/snd/pcmC0D0c") if Path(p).exists()]
    assert video and len(alsa) == 2, (video, alsa)
    # A serial port's major and minor under a new name, readable and writable by anybody: only
    # the unit's device filter can keep the daemon out.
    tty = Path("/dev/mediagate-probe-tty")
    if not tty.exists():
        st = os.stat("/dev/ttyS0")
        os.mknod(tty, 0o666 | 0o020000, st.st_rdev)
        os.chmod(tty, 0o666)
    return video + alsa, [str(tty)]


def test_the_sandbox_holds():
    allowed, others = device_nodes()
    probe = Path("/usr/local/libexec/mediagate-sandbox-probe")
    probe.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(HERE / "sandbox-probe", probe)
    probe.chmod(0o755)
    output = "/var/lib/mediagate/sandbox-probe.json"

    # Outside the sandbox, the daemon's user could open every one of these nodes, and write in
    # the world-writable directories.
    outside = "/var/lib/mediagate/outside-probe.json"
    run("setpriv", "--reuid=mediagate", "--regid=mediagate", "--init-groups", "--",
        str(probe), outside, *allowed, *others)
    control = json.loads(Path(outside).read_text())
    Path(outside).unlink()
    for node in allowed + others:
        assert control["opens"][node] == "ok", f"the mediagate user cannot open {node} even outside the unit"
    for world_writable in ("/dev/shm", "/run/lock", "/tmp", "/var/tmp"):
        assert control["writes"][world_writable]["result"] == "ok", control["writes"][world_writable]
        Path(control["writes"][world_writable]["path"]).unlink(missing_ok=True)

    with_dropin("50-probe.conf", f"[Service]\nExecStartPre={probe} {output} {' '.join(allowed + others)}\n")
    try:
        restart()
        report = json.loads(Path(output).read_text())
    finally:
        # The probe ran once, at this start; the daemon goes on without the drop-in.
        without_dropin("50-probe.conf")
        Path(output).unlink(missing_ok=True)

    assert report["uid"] == int(run("id", "-u", "mediagate").stdout)
    writes = {d: w["result"] for d, w in report["writes"].items()}
    assert writes.pop("/var/lib/mediagate") == "ok", report
    # /tmp and /var/tmp are the unit's own (PrivateTmp=): writable, invisible from outside.
    for private in ("/tmp", "/var/tmp"):
        assert writes.pop(private) == "ok"
        assert not Path(report["writes"][private]["path"]).exists(), f"{private} is not private"
    assert all(result != "ok" for result in writes.values()), f"the daemon could write: {writes}"

    opens = report["opens"]
    for node in allowed:
        assert opens[node] == "ok", f"the daemon cannot open {node}: {opens[node]}"
    for node in others:
        assert opens[node] == "EPERM", f"the device filter let the daemon open {node}: {opens[node]}"


def test_exposure_is_at_most_1_4():
    out = run("systemd-analyze", "security", "--no-pager", UNIT).stdout
    m = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", out)
    assert m, out
    print(f"systemd-analyze security {UNIT}: {m.group(1)}")
    assert float(m.group(1)) <= EXPOSURE_MAX, out
