"""mediactl's manners: --json=pretty|short, --no-legend, --no-pager and the pager, what `status`
and `monitor` tell about the apps (process, pid, user, since; the held entry of a short capture),
`stop APP`, refusals that name what refused and the command that changes it, connection errors
in plain words, and `policy check`/`policy show` exit codes that can gate a deployment."""

import json
import os
import pty
import select
import subprocess
import time


from conftest import MEDIACTL, mediactl
from mgclient import Client, run_until
from test_mediactl import MEDIACTL_APP, admin_env, env, error_line, readers  # noqa: F401 (fixtures)


def run_on_a_terminal(args, env=None, timeout=10):
    """mediactl with its stdout on a pseudo-terminal (where the pager starts); returns the output."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(str(MEDIACTL), [str(MEDIACTL), *args], dict(os.environ, MEDIAGATE_BUS="session", **(env or {})))
    out, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, out
    return out.decode().replace("\r\n", "\n")


# ---- --json, --no-legend, --no-pager --------------------------------------------------------

def test_json_pretty_and_short(env):
    pretty = mediactl("--json=pretty", "devices").stdout
    short = mediactl("devices", "--json=short").stdout
    assert len(pretty.splitlines()) > 1 and len(short.splitlines()) == 1
    assert json.loads(pretty) == json.loads(short) == json.loads(mediactl("--json", "devices").stdout)
    p = mediactl("--json=compact", "devices", check=False)
    assert p.returncode == 2 and "--json takes pretty or short" in p.stderr


def test_no_legend_drops_headers_and_the_empty_text(env):
    assert mediactl("--no-legend", "grants").stdout == ""
    mediactl("grants", "set", "org.example.App", "camera", "deny")
    with_legend = mediactl("grants").stdout.splitlines()
    without = mediactl("grants", "--no-legend").stdout.splitlines()
    assert with_legend[0].split()[:2] == ["USER", "APP"] and without == with_legend[1:]
    assert without[0].split()[1:4] == ["org.example.App", "-", "camera"]


def test_listings_go_through_the_pager_on_a_terminal(env):
    mediactl("grants", "set", "org.example.App", "camera", "deny")
    paged = run_on_a_terminal(["grants"], {"MEDIACTL_PAGER": "sed -e s/^/paged:/"})
    assert "paged:USER" in paged and "paged:" + str(os.getuid()) in paged
    plain = run_on_a_terminal(["--no-pager", "grants"], {"MEDIACTL_PAGER": "sed -e s/^/paged:/"})
    assert "paged:" not in plain and "org.example.App" in plain
    # PAGER=cat (or empty) is no pager, as in systemd's tools.
    assert "paged:" not in run_on_a_terminal(["grants"], {"PAGER": "cat"})


# ---- status, monitor, stop ----------------------------------------------------------------

def start_video():
    c = Client()
    code, results = c.get_user_media({"video": True})
    assert code == 0, results
    track = c.track(results["tracks"][0])
    return c, track, track.open()


def test_monitor_names_the_app_of_a_short_capture_during_the_hold(env, readers):
    env.agent("--auto", "allow-once")
    monitor = readers("monitor")
    monitor.wait_for(lambda line: "apps: none" in line)
    c, track, stream = start_video()
    stream.next_frame()
    monitor.wait_for(lambda line: "(camera, live)" in line)
    stream.close()
    track.iface.Stop()
    # The light stays on for the hold, and the app stays named beside it, as ended.
    monitor.wait_for(lambda line: "(camera, ended)" in line)
    monitor.wait_for(lambda line: "camera: off" in line and "apps: none" in line, 10)
    for line in monitor.lines:
        if "camera: live" in line or "camera: accessible" in line:
            assert "apps: none" not in line, monitor.lines
    c.close()


def test_status_lists_an_ended_app_while_held(env):
    env.agent("--auto", "allow-once")
    c, track, stream = start_video()
    stream.next_frame()
    stream.close()
    track.iface.Stop()
    state = json.loads(mediactl("--json", "status").stdout)
    entry, = state["clients"]
    assert entry["state"] == "ended" and not entry["live"] and not entry["accessible"]
    assert entry["pid"] == os.getpid() and entry["user"]
    assert "ended" in mediactl("status").stdout
    c.close()


def test_stop_ends_the_tracks_of_an_app(env):
    # Allowed once: nothing is stored, and stop still ends the capture.
    env.agent("--auto", "allow-once")
    c, track, stream = start_video()
    stream.next_frame()
    app = json.loads(mediactl("--json", "status").stdout)["clients"][0]["app_id"]
    p = mediactl("stop", app, "microphone", check=False)
    assert p.returncode == 1 and "uses no microphone now" in p.stderr and "mediactl status" in p.stderr
    assert track.prop("ReadyState") == "live"

    stopped = json.loads(mediactl("--json", "stop", app).stdout)
    assert stopped == [{"app_id": app, "origin": "", "kind": "camera", "uid": os.getuid()}]
    assert run_until(lambda: track.ended, 5) and track.ended == ["revoked"]
    assert track.prop("ReadyState") == "ended"
    # What was stored went with it: the next request asks again.
    assert json.loads(mediactl("--json", "grants").stdout) == []
    p = mediactl("stop", app, check=False)
    assert p.returncode == 1 and "nothing to stop" in p.stderr
    c.close()


def test_stop_by_pid_and_usage_errors(env):
    env.agent("--auto", "allow-always")
    c, track, stream = start_video()
    assert f"Stopped the camera of host:" in mediactl("stop", str(os.getpid())).stdout
    assert run_until(lambda: track.ended, 5)
    for args in ((), ("a", "b", "c"), ("org.example.App", "speaker")):
        assert mediactl("stop", *args, check=False).returncode == 2, args
    c.close()


# ---- refusals -----------------------------------------------------------------------------

def test_a_policy_refusal_names_the_rule_and_the_commands(admin_env):
    env = admin_env
    (env.daemon.policy_dir / "10-no-camera.conf").write_text(
        f"# no cameras for mediactl\n[Rule]\nApps={MEDIACTL_APP}\nKinds=camera\nDecision=deny\n")
    mediactl("policy", "reload")
    p = mediactl("get", "--video", "true", check=False)
    name, message = error_line(p)
    assert name == "NotAllowedError" and "10-no-camera.conf:2" in message
    assert f"mediactl policy check --app {MEDIACTL_APP} --kind camera" in message
    assert "mediactl policy reload" in message

    (env.daemon.policy_dir / "10-no-camera.conf").write_text("[Rule]\nKinds=camera\nDecision=deny\n")
    mediactl("policy", "reload")
    code, results = Client().get_user_media({"video": True})
    assert (code, results["error"], results["denied_by"]) == (1, "NotAllowedError", "policy")
    assert results["rule"].endswith("10-no-camera.conf:1")


def test_a_stored_deny_names_the_command_that_forgets_it(env):
    mediactl("grants", "set", MEDIACTL_APP, "camera", "deny")
    p = mediactl("get", "--video", "true", check=False)
    name, message = error_line(p)
    assert name == "NotAllowedError" and '"always deny" is stored' in message
    assert f"mediactl grants revoke {MEDIACTL_APP} camera" in message
    mediactl("grants", "revoke", MEDIACTL_APP, "camera")
    env.agent("--auto", "allow-once")
    mediactl("get", "--video", "true")


def test_refusals_say_who_refused(env):
    c = Client()
    code, results = c.get_user_media({"audio": True})
    assert (code, results["denied_by"]) == (1, "no-agent")
    assert "systemctl --user start mediagate-agent.service" in results["message"]

    agent = env.agent("--auto", "deny-once")
    code, results = c.get_user_media({"audio": True})
    assert (results["denied_by"], results["message"]) == ("user", "Permission denied by the user.")
    agent.stop()

    env.polkit.SetAllowed([])
    code, results = c.get_user_media({"video": True})
    assert results["denied_by"] == "polkit" and "org.mediagate.camera" in results["message"]
    assert "rule" not in results
    c.close()


# ---- connection errors --------------------------------------------------------------------

def test_connection_errors_in_plain_words(env):
    no_bus = dict(os.environ, MEDIAGATE_BUS="session")
    no_bus.pop("DBUS_SESSION_BUS_ADDRESS", None)
    no_bus.pop("XDG_RUNTIME_DIR", None)
    p = subprocess.run([str(MEDIACTL), "status"], capture_output=True, text=True, env=no_bus, timeout=30)
    assert p.returncode == 1 and p.stderr.startswith("mediactl: there is no session bus here")
    assert "dbus-run-session" in p.stderr and "ENOMEDIUM" not in p.stderr

    p = subprocess.run([str(MEDIACTL), "--system", "status"], capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS="unix:path=/nonexistent/bus"))
    assert p.returncode == 1 and p.stderr.startswith("mediactl: cannot connect to the system bus")
    assert "systemctl status dbus.service" in p.stderr and "System.Error" not in p.stderr

    env.daemon.stop()
    for args in (("status",), ("get", "--video", "true"), ("grants",), ("stop", "org.example.App")):
        p = mediactl(*args, check=False)
        assert p.returncode == 1 and p.stderr.startswith("mediactl: mediagated is not running"), (args, p.stderr)
        assert "ServiceUnknown" not in p.stderr


# ---- policy check and show as a deployment gate ---------------------------------------------

def test_policy_check_and_show_exit_codes(env, tmp_path):
    good, broken, missing = tmp_path / "good", tmp_path / "broken", tmp_path / "missing"
    good.mkdir()
    broken.mkdir()
    (good / "10-meet.conf").write_text("[Rule]\nApps=org.example.Meet\nDecision=allow\n")
    (broken / "10-meet.conf").write_text("[Rule]\nApps=org.example.Meet\nDecision=allow\n")
    (broken / "20-typo.conf").write_text("[Rule]\nUsers=no-such-user-here\nDecision=allow\n")
    (broken / "30-garbage.conf").write_text("this is not a policy\n")
    check = ("check", "--app", "org.example.Meet", "--kind", "camera")

    for d, code in ((good, 0), (broken, 1), (missing, 1)):
        for args in (check, ("show",)):
            p = mediactl("policy", *args, "--directory", str(d), check=False)
            assert p.returncode == code, (d, args, p.stdout, p.stderr)
            json_p = mediactl("--json", "policy", *args, "--directory", str(d), check=False)
            assert json_p.returncode == code and json.loads(json_p.stdout)

    # Each problem once, in show's output and on stderr together.
    p = mediactl("policy", "show", "--directory", str(broken), check=False)
    both = p.stdout + p.stderr
    assert both.count('unknown user "no-such-user-here"') == 1, both
    assert both.count("expected Key=Value or [Section]") == 1, both
    p = mediactl("policy", *check, "--directory", str(broken), check=False)
    both = p.stdout + p.stderr
    assert both.count('unknown user "no-such-user-here"') == 1, both
    assert both.count("expected Key=Value or [Section]") == 1, both
    p = mediactl("policy", "show", "--directory", str(missing), check=False)
    assert p.stderr.count("does not exist") == 1
