"""Packaging and hardening: where `make install` puts each file (pkg-config's directories), the
hardened unit (systemd-analyze security and verify), the bus policy (its rules, and a real
dbus-daemon enforcing it), the udev rule (udev's own parser), the sysusers and tmpfiles
snippets, and the polkit rules example (run under node)."""

import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import BUS_NAME, OBJECT_PATH, TOP

PREFIX = "/opt/mediagate-test"
ACCESS_DENIED = "org.freedesktop.DBus.Error.AccessDenied"
EXPOSURE_MAX = 1.4
IS_ROOT = os.geteuid() == 0


def pc_var(package, variable):
    r = subprocess.run(["pkg-config", f"--variable={variable}", package],
                       capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 and r.stdout.strip() else None


def multiarch():
    """The multiarch triplet of this system ("x86_64-linux-gnu"), or "" where it has none."""
    for cmd in (["dpkg-architecture", "-qDEB_HOST_MULTIARCH"], ["cc", "-print-multiarch"]):
        if shutil.which(cmd[0]):
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode == 0:
                return r.stdout.strip()
    return ""


def libdir_of(prefix):
    return prefix + "/lib" + ("/" + multiarch() if multiarch() else "")


def expected_locations(prefix):
    """Where each packaging file belongs: what pkg-config says, else the fallback below prefix
    (the same rule as the Makefile's, written independently)."""
    datadir = prefix + "/share"
    udevdir = pc_var("udev", "udevdir") or prefix + "/lib/udev"
    dbus_datadir = pc_var("dbus-1", "datadir") or datadir
    systemd = {v: pc_var("systemd", v) for v in
               ("systemdsystemunitdir", "systemduserunitdir", "sysusersdir", "tmpfilesdir",
                       "catalogdir")}
    return {
        "mediagated.service": (systemd["systemdsystemunitdir"] or prefix + "/lib/systemd/system")
        + "/mediagated.service",
        "mediagate-agent.service": (systemd["systemduserunitdir"] or prefix + "/lib/systemd/user")
        + "/mediagate-agent.service",
        "sysusers": (systemd["sysusersdir"] or prefix + "/lib/sysusers.d") + "/mediagate.conf",
        "tmpfiles": (systemd["tmpfilesdir"] or prefix + "/lib/tmpfiles.d") + "/mediagate.conf",
        "udev": udevdir + "/rules.d/72-mediagate.rules",
        "catalog": (systemd["catalogdir"] or prefix + "/lib/systemd/catalog") + "/mediagate.catalog",
        "bus-activation": (pc_var("dbus-1", "system_bus_services_dir")
                           or datadir + "/dbus-1/system-services")
        + "/org.mediagate.MediaGate1.service",
        "bus-policy": dbus_datadir + "/dbus-1/system.d/org.mediagate.MediaGate1.conf",
        "polkit-actions": (pc_var("polkit-gobject-1", "actiondir") or datadir + "/polkit-1/actions")
        + "/org.mediagate.policy",
        "daemon": prefix + "/sbin/mediagated",
        "mediactl": prefix + "/bin/mediactl",
        "pkgconfig": libdir_of(prefix) + "/pkgconfig/mediagate.pc",
        # Not below prefix: the daemon reads the vendor's settings from this one place.
        "vendor-config": "/usr/lib/mediagate/mediagated.conf",
        "library": libdir_of(prefix) + "/libmediagate.so.1",
        "header": prefix + "/include/mediagate/mediagate.h",
        "wire-header": prefix + "/include/mediagate/mediagate-wire.h",
    }


def run_make(*args):
    # Not the outer make's flags (`make check` runs us): this is a make of its own.
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    extra = [f"BUILD={os.environ['MEDIAGATE_BUILD']}"] if "MEDIAGATE_BUILD" in os.environ else []
    r = subprocess.run(["make", "--no-print-directory", "-C", str(TOP), *args, *extra],
                       capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, f"make {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}"
    return r


def inside(destdir, path):
    return Path(str(destdir) + path)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    destdir = tmp_path_factory.mktemp("destdir")
    run_make("install", f"DESTDIR={destdir}", f"prefix={PREFIX}")
    return destdir


def unit_entries(path):
    """(section, key, value) of a unit or desktop-style file, in order."""
    entries, section = [], None
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        entries.append((section, key.strip(), value.strip()))
    return entries


def unit_values(path, section, key):
    return [v for s, k, v in unit_entries(path) if s == section and k == key]


def unit_value(path, section, key):
    values = unit_values(path, section, key)
    assert len(values) == 1, f"{key}= in [{section}] of {path}: {values}"
    return values[0]


# ---------------------------------------------------------------------------------------------
# make install / uninstall


def test_install_puts_each_file_where_pkg_config_says(installed):
    for what, path in expected_locations(PREFIX).items():
        p = inside(installed, path)
        assert p.is_file(), f"{what}: {path} not installed"
        p = p.resolve()
        mode = p.stat().st_mode & 0o777
        expected = 0o755 if what in ("daemon", "mediactl", "library") else 0o644
        assert mode == expected, f"{what}: mode {oct(mode)}"
    for xml in (TOP / "dbus").glob("org.mediagate.MediaGate1.*.xml"):
        assert inside(installed, f"{PREFIX}/share/dbus-1/interfaces/{xml.name}").is_file()


def test_installed_files_name_the_installed_programs(installed):
    where = expected_locations(PREFIX)
    generated = [where[k] for k in ("mediagated.service", "mediagate-agent.service", "tmpfiles",
                                    "bus-activation", "pkgconfig")]
    for path in generated:
        text = inside(installed, path).read_text()
        assert not re.search(r"@[a-z_]+@", text), f"unsubstituted placeholder in {path}"

    unit = inside(installed, where["mediagated.service"])
    exec_start = unit_value(unit, "Service", "ExecStart").split()
    assert exec_start == [where["daemon"], "--system"]
    assert os.access(inside(installed, exec_start[0]), os.X_OK)

    agent = inside(installed, where["mediagate-agent.service"])
    exec_start = unit_value(agent, "Service", "ExecStart").split()
    assert exec_start == [where["mediactl"], "agent", "--notifications"]
    assert os.access(inside(installed, exec_start[0]), os.X_OK)

    activation = inside(installed, where["bus-activation"])
    assert unit_value(activation, "D-BUS Service", "Name") == BUS_NAME
    assert unit_value(activation, "D-BUS Service", "Exec").split()[0] == where["daemon"]
    # Activation goes through the unit that is installed, and as the unit's user.
    assert unit_value(activation, "D-BUS Service", "SystemdService") == Path(where["mediagated.service"]).name
    assert unit_value(activation, "D-BUS Service", "User") == unit_value(unit, "Service", "User")
    assert unit_value(unit, "Service", "BusName") == BUS_NAME

    pc = inside(installed, where["pkgconfig"]).read_text()
    assert f"prefix={PREFIX}\n" in pc and f"libdir={libdir_of(PREFIX)}\n" in pc


def test_uninstall_leaves_only_the_admins_files(tmp_path):
    destdir = tmp_path / "root"
    run_make("install", f"DESTDIR={destdir}", f"prefix={PREFIX}")
    run_make("uninstall", f"DESTDIR={destdir}", f"prefix={PREFIX}")
    left = sorted(str(p.relative_to(destdir)) for p in destdir.rglob("*") if not p.is_dir())
    # /etc/mediagate is the admin's: install writes only the bridge's broker entry there (when it
    # is not there yet), and uninstall leaves it.
    assert left == ["etc/mediagate/policy.d/50-pipewire-bridge.conf"]


# ---------------------------------------------------------------------------------------------
# The hardened unit


def test_unit_exposure_is_at_most_1_4(installed):
    unit = inside(installed, expected_locations(PREFIX)["mediagated.service"])
    r = subprocess.run(["systemd-analyze", "security", "--offline=yes", str(unit)],
                       capture_output=True, text=True)
    m = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", r.stdout)
    assert m, r.stdout + r.stderr
    exposure = float(m.group(1))
    print(f"mediagated.service exposure: {exposure}")
    assert exposure <= EXPOSURE_MAX, r.stdout


def verify(unit_file, user=False, runtime_dir=None, manpath=None):
    args = ["systemd-analyze"] + (["--user"] if user else []) + ["verify", str(unit_file)]
    env = dict(os.environ)
    if runtime_dir:
        env["XDG_RUNTIME_DIR"] = str(runtime_dir)
    if manpath:
        # verify looks up each Documentation=man:... page with man(1): the installed ones.
        env["MANPATH"] = str(manpath)
    r = subprocess.run(args, capture_output=True, text=True, env=env)
    return r.returncode, (r.stdout + r.stderr).strip()


def test_units_verify_clean(installed, tmp_path):
    """systemd-analyze verify wants ExecStart's program to exist: the check runs on a copy of each
    installed unit whose program path points into DESTDIR (the previous test proved the
    installed unit names the installed path). Clean means no complaint at all."""
    where = expected_locations(PREFIX)
    runtime_dir = tmp_path / "runtime"
    runtime_dir.mkdir(mode=0o700)
    for name, user in (("mediagated.service", False), ("mediagate-agent.service", True)):
        text = inside(installed, where[name]).read_text()
        text = text.replace(f"ExecStart={PREFIX}/", f"ExecStart={installed}{PREFIX}/")
        assert str(installed) in text
        copy = tmp_path / name
        copy.write_text(text)
        rc, out = verify(copy, user=user, runtime_dir=runtime_dir, manpath=inside(installed, PREFIX + "/share/man"))
        assert rc == 0 and out == "", f"{name}:\n{out}"

        # The check can fail: a misspelt key is reported.
        broken = tmp_path / "broken" / name
        broken.parent.mkdir(exist_ok=True)
        broken.write_text(text.replace("NoNewPrivileges=", "NoNewPrivilege="))
        rc, out = verify(broken, user=user, runtime_dir=runtime_dir, manpath=inside(installed, PREFIX + "/share/man"))
        assert "NoNewPrivilege" in out


def test_unit_keeps_its_promises(installed):
    """What the issue asks of the unit, read back from the installed file."""
    unit = inside(installed, expected_locations(PREFIX)["mediagated.service"])
    value = lambda key: unit_value(unit, "Service", key)  # noqa: E731
    assert value("Type") == "notify"
    assert value("Restart") == "on-failure"
    assert value("WatchdogSec") not in ("", "0", "infinity")
    assert value("User") == sysusers_user()
    assert value("StateDirectory") == "mediagate"
    assert value("ConfigurationDirectory") == "mediagate"
    assert value("DevicePolicy") == "closed"
    assert sorted(unit_values(unit, "Service", "DeviceAllow")) == \
        ["char-alsa rw", "char-video4linux rw"]
    assert value("CapabilityBoundingSet").split() == ["CAP_SYS_PTRACE"]
    assert value("AmbientCapabilities").split() == ["CAP_SYS_PTRACE"]
    assert sorted(value("RestrictAddressFamilies").split()) == ["AF_NETLINK", "AF_UNIX"]
    assert value("NoNewPrivileges") == "yes"
    assert value("ProtectSystem") == "strict"


# ---------------------------------------------------------------------------------------------
# The bus policy


POLICY_FILE = TOP / "dbus" / "org.mediagate.MediaGate1.conf"
STANDARD_INTERFACES = {"org.freedesktop.DBus.Introspectable", "org.freedesktop.DBus.Properties",
                       "org.freedesktop.DBus.Peer"}


def daemon_interfaces():
    """The interfaces the daemon serves, from their introspection files (Agent is served by
    consent agents, not by the daemon)."""
    names = set()
    for xml in (TOP / "dbus").glob("org.mediagate.MediaGate1.*.xml"):
        for iface in ET.parse(xml).getroot().iter("interface"):
            names.add(iface.get("name"))
    return names - {BUS_NAME + ".Agent"}


def test_bus_policy_rules_are_scoped():
    root = ET.parse(POLICY_FILE).getroot()  # well-formed, or this raises
    assert root.tag == "busconfig"

    allowed_to_daemon, denied_to_daemon, owners, agent_rules = set(), set(), set(), []
    for policy in root.findall("policy"):
        context = policy.get("context") or "user=" + policy.get("user", "?")
        for rule in policy:
            assert rule.tag in ("allow", "deny"), rule.tag
            attrs = dict(rule.attrib)
            assert not any(k.startswith("receive_") or k in ("user", "group", "eavesdrop")
                           for k in attrs), f"unscoped or receive rule {attrs}"
            if "own" in attrs or "own_prefix" in attrs:
                assert rule.tag == "allow" and attrs == {"own": BUS_NAME}, attrs
                owners.add(context)
                continue
            assert "send_destination" in attrs, f"send rule without send_destination: {attrs}"
            if attrs["send_destination"] == BUS_NAME:
                target = allowed_to_daemon if rule.tag == "allow" else denied_to_daemon
                target.add((context, attrs.get("send_interface", "*")))
            else:
                agent_rules.append((context, rule.tag, attrs))

    assert owners == {"user=" + sysusers_user()}
    # Everyone may call the daemon's interfaces (and only those); Testing is closed for all.
    testing = BUS_NAME + ".Testing"
    assert {i for c, i in allowed_to_daemon if c == "default"} == \
        (daemon_interfaces() - {testing}) | STANDARD_INTERFACES
    assert denied_to_daemon == {("mandatory", testing)}
    # The one rule that cannot name its destination: the daemon calling consent agents.
    assert agent_rules == [("user=" + sysusers_user(), "allow",
                            {"send_destination": "*", "send_type": "method_call",
                             "send_interface": BUS_NAME + ".Agent"})]


BUS_HELPER = r'''
import sys
import dbus
import dbus.service
import dbus.mainloop.glib
from gi.repository import GLib

N = "org.mediagate.MediaGate1"
role, address = sys.argv[1], sys.argv[2]

def error_text(e):
    return "error:" + (e.get_dbus_name() or "?")

if role == "call":
    dest, path, iface, method = sys.argv[3:7]
    bus = dbus.bus.BusConnection(address)
    try:
        args = sys.argv[7:]
        reply = bus.call_blocking(dest, path, iface, method, "s" * len(args), tuple(args),
                                  timeout=10)
        print("ok:" + str(reply))
    except dbus.exceptions.DBusException as e:
        print(error_text(e))
    sys.exit(0)

if role == "own":
    bus = dbus.bus.BusConnection(address)
    try:
        print("ok:%d" % bus.request_name(N, dbus.bus.NAME_FLAG_DO_NOT_QUEUE))
    except dbus.exceptions.DBusException as e:
        print(error_text(e))
    sys.exit(0)

dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
bus = dbus.bus.BusConnection(address)

if role == "daemon":
    class Gate(dbus.service.Object):
        @dbus.service.method(N + ".Manager", in_signature="", out_signature="s")
        def Echo(self):
            return "manager"

        @dbus.service.method(N + ".Testing", in_signature="", out_signature="s")
        def AddDevice(self):
            return "testing"

        @dbus.service.method(N + ".Manager", in_signature="ss", out_signature="s",
                             async_callbacks=("ok", "err"))
        def AskAgent(self, name, iface, ok, err):
            bus.call_async(name, "/agent", iface, "Prompt", "", (),
                           reply_handler=lambda r: ok("ok:" + str(r)),
                           error_handler=lambda e: ok(error_text(e)))

    Gate(bus, "/org/mediagate/MediaGate1")
    print("owned:%d" % bus.request_name(N, dbus.bus.NAME_FLAG_DO_NOT_QUEUE), flush=True)
elif role == "agent":
    class Agent(dbus.service.Object):
        @dbus.service.method(N + ".Agent", in_signature="", out_signature="s")
        def Prompt(self):
            return "allow-once"

        @dbus.service.method("org.example.Other", in_signature="", out_signature="s")
        def Prompt2(self):
            return "other"

    Agent(bus, "/agent")
    print("name:" + bus.get_unique_name(), flush=True)
GLib.MainLoop().run()
'''


class PolicyBus:
    """A private dbus-daemon with the system bus's own default policies (taken from system.conf)
    and the installed policy file, in which the daemon's user is replaced by a stand-in user
    that exists on this machine."""

    def __init__(self, tmp, policy_text, extra_policy=""):
        self.dir = Path(tempfile.mkdtemp(prefix="mediagate-bus-"))
        self.dir.chmod(0o755)  # the socket must be reachable for unprivileged clients
        system = ET.parse("/usr/share/dbus-1/system.conf").getroot()
        policies = "\n".join(ET.tostring(p, encoding="unicode") for p in system.findall("policy"))
        (self.dir / "mediagate.conf").write_text(policy_text)
        config = self.dir / "bus.conf"
        config.write_text(
            '<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"\n'
            ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n'
            f"<busconfig>\n<listen>unix:path={self.dir}/socket</listen>\n<auth>EXTERNAL</auth>\n"
            f"{policies}\n{extra_policy}\n<include>{self.dir}/mediagate.conf</include>\n"
            "</busconfig>\n")
        self.procs = []
        bus = subprocess.Popen(["dbus-daemon", f"--config-file={config}", "--nofork",
                                "--print-address=1"], stdout=subprocess.PIPE, text=True)
        self.procs.append(bus)
        self.address = bus.stdout.readline().strip()
        assert self.address.startswith("unix:"), "dbus-daemon did not start"

    def spawn(self, role, user):
        pw = pwd.getpwnam(user)
        p = subprocess.Popen([sys.executable, "-c", BUS_HELPER, role, self.address],
                             stdout=subprocess.PIPE, text=True, user=pw.pw_uid,
                             group=pw.pw_gid, extra_groups=[], cwd="/")
        self.procs.append(p)
        return p.stdout.readline().strip()

    def run(self, user, role, *args):
        pw = pwd.getpwnam(user)
        r = subprocess.run([sys.executable, "-c", BUS_HELPER, role, self.address, *args],
                           capture_output=True, text=True, user=pw.pw_uid, group=pw.pw_gid,
                           extra_groups=[], cwd="/", timeout=30)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    def call(self, user, iface, method, *args, dest=BUS_NAME, path=OBJECT_PATH):
        return self.run(user, "call", dest, path, iface, method, *args)

    def close(self):
        for p in reversed(self.procs):
            p.terminate()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def existing_user(*names):
    for n in names:
        try:
            pwd.getpwnam(n)
            return n
        except KeyError:
            pass
    pytest.skip(f"none of the users {names} exists")


@pytest.mark.skipif(not IS_ROOT, reason="runs bus clients as other users")
def test_bus_policy_enforced_by_dbus_daemon(installed, tmp_path):
    daemon_user = existing_user(sysusers_user(), "daemon", "bin")
    client = existing_user("nobody")
    policy = inside(installed, expected_locations(PREFIX)["bus-policy"]).read_text()
    policy = policy.replace(f'user="{sysusers_user()}"', f'user="{daemon_user}"')
    # An admin's local file that opens the daemon to root: the mandatory deny still wins.
    extra = f'<policy user="root"><allow send_destination="{BUS_NAME}"/></policy>'
    bus = PolicyBus(tmp_path, policy, extra)
    try:
        manager, testing = BUS_NAME + ".Manager", BUS_NAME + ".Testing"
        assert bus.run(client, "own") == "error:" + ACCESS_DENIED
        assert bus.spawn("daemon", daemon_user) == "owned:1"

        assert bus.call(client, manager, "Echo") == "ok:manager"
        assert bus.call(client, "org.freedesktop.DBus.Introspectable", "Introspect").startswith("ok:")
        # Let through by the bus; the stand-in has no properties, so the error is its own.
        got = bus.call(client, "org.freedesktop.DBus.Properties", "GetAll", manager)
        assert got.startswith("error:") and got != "error:" + ACCESS_DENIED
        assert bus.call(client, testing, "AddDevice") == "error:" + ACCESS_DENIED
        assert bus.call("root", testing, "AddDevice") == "error:" + ACCESS_DENIED
        assert bus.call(client, "org.example.Other", "Echo") == "error:" + ACCESS_DENIED

        agent = bus.spawn("agent", client)
        assert agent.startswith("name::")
        agent = agent[len("name:"):]
        # The daemon's user may call a consent agent's Agent interface, and nothing else there.
        assert bus.call(client, manager, "AskAgent", agent, BUS_NAME + ".Agent") == "ok:ok:allow-once"
        assert bus.call(client, manager, "AskAgent", agent, "org.example.Other") == \
            "ok:error:" + ACCESS_DENIED
        # Nobody else may call an agent.
        assert bus.call(client, BUS_NAME + ".Agent", "Prompt", dest=agent, path="/agent") == \
            "error:" + ACCESS_DENIED
    finally:
        bus.close()


# ---------------------------------------------------------------------------------------------
# udev, sysusers, tmpfiles


RULES_FILE = TOP / "systemd" / "72-mediagate.rules"


def udev_complaints(rules_text):
    """What udev's own rule parser says about a rules file: `udevadm verify` where this udev has
    it (253 and later), else `udevadm test` in a private mount namespace in which the file is
    the only one in /etc/udev/rules.d (the host's rules are untouched)."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "72-mediagate.rules"
        path.write_text(rules_text)
        has_verify = "verify" in subprocess.run(["udevadm", "--help"], capture_output=True,
                                                text=True).stdout
        if has_verify:
            r = subprocess.run(["udevadm", "verify", str(path)], capture_output=True, text=True)
            return [] if r.returncode == 0 else (r.stdout + r.stderr).splitlines()
        if not IS_ROOT or not shutil.which("unshare"):
            pytest.skip("udevadm has no verify and a private mount namespace needs root")
        script = (f"mount -t tmpfs none /etc/udev/rules.d && cp {path} /etc/udev/rules.d/ && "
                  "udevadm test --action=add /sys/class/mem/null")
        r = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True)
        out = r.stdout + r.stderr
        assert "Reading rules file: /etc/udev/rules.d/72-mediagate.rules" in out, out
        return [line for line in out.splitlines()
                if "72-mediagate.rules" in line and not line.startswith("Reading rules file")]


@pytest.mark.skipif(not shutil.which("udevadm"), reason="udevadm (package udev) is not installed")
def test_udev_rule_parses():
    text = RULES_FILE.read_text()
    assert udev_complaints(text) == []
    # The check can fail: an unknown key and a bad operator are reported.
    broken = text.replace('TAG-="uaccess"', 'TAGG-="uaccess"').replace('KERNEL=="video*"', 'KERNEL="video*"')
    assert len(udev_complaints(broken)) >= 2


def test_udev_rule_sits_between_tagging_and_acls():
    """70-uaccess.rules adds the tag, 73-seat-late.rules turns it into an ACL: the rule must
    sort in between (udev reads every rules directory as one list, ordered by file name)."""
    name = RULES_FILE.name
    assert "70-uaccess.rules" < name < "73-seat-late.rules"
    text = RULES_FILE.read_text()
    assert 'TAG-="uaccess"' in text and 'RUN{builtin}:=' in text


def sysusers_user():
    users = [line.split()[1] for line in (TOP / "systemd" / "mediagate.sysusers").read_text().splitlines()
             if line.startswith("u ")]
    assert len(users) == 1
    return users[0]


def test_sysusers_and_tmpfiles_make_the_user_and_its_state_directory(installed, tmp_path):
    where = expected_locations(PREFIX)
    sysusers = inside(installed, where["sysusers"])
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    r = subprocess.run(["systemd-sysusers", "--dry-run", f"--root={root}", str(sysusers)],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "Creating user 'mediagate'" in r.stderr + r.stdout, r.stderr
    assert not re.search(r"(?i)warn|ignor|fail|invalid", r.stderr + r.stdout), r.stderr

    # For real, into a root whose video and audio groups exist (with another member).
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (root / "etc" / "group").write_text("root:x:0:\nvideo:x:44:\naudio:x:29:alice\n")
    r = subprocess.run(["systemd-sysusers", f"--root={root}", str(sysusers)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    passwd = {l.split(":")[0]: l.split(":") for l in (root / "etc/passwd").read_text().splitlines()}
    groups = {l.split(":")[0]: l.split(":") for l in (root / "etc/group").read_text().splitlines()}
    user = passwd[sysusers_user()]
    assert user[6].endswith("nologin") and int(user[2]) < 1000
    assert "mediagate" in groups["video"][3].split(",")
    assert groups["audio"][3].split(",") == ["alice", "mediagate"]

    # tmpfiles makes the state directory the unit's StateDirectory= would, owned by that user.
    tmpfiles = inside(installed, where["tmpfiles"])
    r = subprocess.run(["systemd-tmpfiles", "--create", f"--root={root}", str(tmpfiles)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    state = root / "var/lib/mediagate"
    st = state.stat()
    assert st.st_mode & 0o777 == 0o700
    if IS_ROOT:
        assert st.st_uid == int(user[2])


# ---------------------------------------------------------------------------------------------
# polkit


POLKIT_HARNESS = r'''
const fs = require("fs"), vm = require("vm");
const [rulesFile, casesJson] = process.argv.slice(1);
const rules = [];
const polkit = {
    Result: {NO: "no", YES: "yes", AUTH_SELF: "auth_self", AUTH_SELF_KEEP: "auth_self_keep",
             AUTH_ADMIN: "auth_admin", AUTH_ADMIN_KEEP: "auth_admin_keep", NOT_HANDLED: null},
    addRule(f) { rules.push(f); },
    addAdminRule() {},
    log() {},
    spawn() { throw new Error("spawn is not expected in these rules"); },
};
vm.runInNewContext(fs.readFileSync(rulesFile, "utf8"), {polkit}, {filename: rulesFile});
const out = JSON.parse(casesJson).map(([id, s]) => {
    const action = {id, lookup: () => undefined};
    const subject = Object.assign({pid: 1, seat: "", session: "", system_unit: "",
                                   isInGroup: g => s.groups.includes(g),
                                   isInNetGroup: () => false}, s);
    for (const rule of rules) {
        const r = rule(action, subject);
        if (r !== null && r !== undefined)
            return r;
    }
    return "defaults";
});
console.log(JSON.stringify(out));
'''

POLKIT_RULES = TOP / "policy" / "50-mediagate.rules.example"


def subject(user, groups=(), local=True, active=True):
    return {"user": user, "groups": list(groups), "local": local, "active": active}


POLKIT_CASES = [
    # action, subject, result
    ("org.mediagate.camera", subject("ann", ["video"], active=False), "yes"),
    ("org.mediagate.camera", subject("ann", ["video"], local=False, active=False), "defaults"),
    ("org.mediagate.camera", subject("bob", [], active=False), "defaults"),
    ("org.mediagate.microphone", subject("ann", ["video"], active=False), "defaults"),
    ("org.mediagate.camera", subject("kiosk", [], local=False, active=False), "yes"),
    ("org.mediagate.microphone", subject("kiosk", [], local=False, active=False), "yes"),
    ("org.mediagate.manage", subject("kiosk", []), "defaults"),
    ("org.mediagate.manage", subject("carl", ["sudo"]), "auth_self_keep"),
    ("org.mediagate.manage", subject("dora", ["wheel"], active=False), "auth_self_keep"),
    ("org.mediagate.manage", subject("bob", ["video"]), "defaults"),
    ("org.mediagate.mute", subject("carl", ["sudo"]), "defaults"),
]


@pytest.mark.skipif(not shutil.which("node"), reason="node runs the polkit rules")
def test_polkit_rules_example():
    actions = {a.get("id") for a in ET.parse(TOP / "policy" / "org.mediagate.policy").getroot()
               .iter("action")}
    # Every action the example names exists.
    named = set(re.findall(r'"(org\.mediagate\.[a-z]+)"', POLKIT_RULES.read_text()))
    assert named and named <= actions
    assert {c[0] for c in POLKIT_CASES} <= actions

    cases = [[a, s] for a, s, _ in POLKIT_CASES]
    r = subprocess.run(["node", "-e", POLKIT_HARNESS, "--", str(POLKIT_RULES), json.dumps(cases)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    for (action, subj, expected), result in zip(POLKIT_CASES, got):
        assert result == expected, f"{action} for {subj}: {result}"
