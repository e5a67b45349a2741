"""The machine of the system test, from real components only: `make install` into the VM's
writable root, the mediagate user from the installed sysusers file and two unprivileged users
(alice, bob), a real system bus (dbus-daemon --system with the installed bus policy), a real
polkitd with the installed actions and this directory's rules, and the installed
mediagated --system running as mediagate with the unit's capability; and the clients: actor.py
processes and `mediactl agent` running as alice and bob. README.md says why each piece is set
up the way it is and what of the hardened unit this does not exercise."""

import errno
import json
import os
import pwd
import select
import shutil
import signal
import subprocess
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOP = HERE.parents[2]

PYTHON = "/usr/bin/python3"
SYSTEM_BUS_ADDRESS = "unix:path=/run/dbus/system_bus_socket"
BUS_NAME = "org.mediagate.MediaGate1"
OBJECT_PATH = "/org/mediagate/MediaGate1"
IFACE_MANAGER = BUS_NAME + ".Manager"
IFACE_ADMIN = BUS_NAME + ".Admin"
IFACE_TRACK = BUS_NAME + ".Track"
IFACE_TESTING = BUS_NAME + ".Testing"
ACCESS_DENIED = "org.freedesktop.DBus.Error.AccessDenied"
POLKIT_NAME = "org.freedesktop.PolicyKit1"

# Where `make install DESTDIR=/ prefix=/usr` puts what the test runs and reads.
DAEMON = "/usr/sbin/mediagated"
MEDIACTL = "/usr/bin/mediactl"
POLKITD = "/usr/lib/polkit-1/polkitd"
RULES = HERE / "50-mediagate-systest.rules"
RULES_INSTALLED = Path("/etc/polkit-1/rules.d") / RULES.name
USERS = ("alice", "bob")
START_TIMEOUT = 30.0

# The daemon as mediagated.service runs it, as far as setpriv can: User=, Group=,
# SupplementaryGroups= (its groups from sysusers), CapabilityBoundingSet= and
# AmbientCapabilities=CAP_SYS_PTRACE, NoNewPrivileges=yes. UMask=0077 is set before the exec.
DAEMON_AS_UNIT = ["setpriv", "--reuid", "mediagate", "--regid", "mediagate", "--init-groups",
                  "--inh-caps", "-all,+sys_ptrace", "--ambient-caps", "+sys_ptrace",
                  "--bounding-set", "-all,+sys_ptrace", "--no-new-privs"]


def as_user(user, argv):
    """argv run as `user` with that user's groups and no capabilities, as a login would."""
    return ["setpriv", "--reuid", user, "--regid", user, "--init-groups", "--inh-caps", "-all", *argv]


def user_env(user, **extra):
    """A clean environment for a user's process: nothing of the test runner's, in particular not
    the runner's session bus. mgclient.py finds its bus in DBUS_SESSION_BUS_ADDRESS: here that
    is the system bus."""
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "USER": user, "HOME": "/nonexistent",
           "DBUS_SESSION_BUS_ADDRESS": SYSTEM_BUS_ADDRESS}
    env.update(extra)
    return env


def uid_of(user):
    return pwd.getpwnam(user).pw_uid


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def tail(path, lines=40):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError as e:
        return f"({path}: {e.strerror})"


class World:
    """The installed, running system: logs, processes, and a root connection to the bus."""

    def __init__(self, logs):
        self.logs = logs
        self.procs = {}
        self.timings = {}
        self.root_bus = None
        self.daemon_pid = None

    def step(self, name, argv, **kwargs):
        """Run a setup command; its output goes to logs/<name>.log, a failure says what failed."""
        start = time.monotonic()
        log = self.logs / f"{name}.log"
        with open(log, "w") as out:
            r = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, timeout=600, **kwargs)
        self.timings[name] = time.monotonic() - start
        assert r.returncode == 0, f"{name}: {' '.join(map(str, argv))} exited with {r.returncode}:\n{tail(log)}"

    def spawn(self, name, argv, **kwargs):
        log = open(self.logs / f"{name}.log", "w")
        self.procs[name] = (subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, **kwargs), log)
        return self.procs[name][0]

    def alive(self, name):
        proc = self.procs[name][0]
        assert proc.poll() is None, f"{name} exited with {proc.returncode}:\n{tail(self.logs / (name + '.log'))}"
        return True

    def install(self):
        env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
        build = [f"BUILD={os.environ['MEDIAGATE_BUILD']}"] if os.environ.get("MEDIAGATE_BUILD") else []
        self.step("make-install", ["make", "--no-print-directory", "-C", str(TOP), "install", "DESTDIR=/",
                                   "prefix=/usr", *build], env=env)
        # What a package's maintainer scripts would do after unpacking. (No ldconfig: /usr/lib,
        # where libmediagate went, is in the loader's built-in search path.)
        self.step("sysusers", ["systemd-sysusers", "mediagate.conf"])
        self.step("tmpfiles", ["systemd-tmpfiles", "--create", "mediagate.conf"])
        for user in USERS:
            try:
                pwd.getpwnam(user)
            except KeyError:
                self.step(f"useradd-{user}", ["useradd", "--no-create-home", "--home-dir", "/nonexistent",
                                              "--shell", "/usr/sbin/nologin", user])
        shutil.copyfile(RULES, RULES_INSTALLED)
        os.chmod(RULES_INSTALLED, 0o644)

    def start_bus(self):
        """dbus-daemon --system with its stock configuration, which reads the installed
        /usr/share/dbus-1/system.d/org.mediagate.MediaGate1.conf."""
        import dbus
        os.makedirs("/run/dbus", exist_ok=True)
        self.spawn("dbus-daemon", ["dbus-daemon", "--system", "--nofork", "--nopidfile", "--nosyslog"])
        wait_until(lambda: self.alive("dbus-daemon") and os.path.exists("/run/dbus/system_bus_socket"),
                   START_TIMEOUT, "the system bus socket")
        self.root_bus = dbus.bus.BusConnection(SYSTEM_BUS_ADDRESS)

    def start_polkitd(self):
        """Debian's polkitd, started as root the way its bus activation file does; it drops to
        its own user. It reads the installed actions and the rules file of this test."""
        self.spawn("polkitd", [POLKITD, "--no-debug"])
        wait_until(lambda: self.alive("polkitd") and self.root_bus.name_has_owner(POLKIT_NAME), START_TIMEOUT,
                   "polkitd on the system bus")

    def start_daemon(self):
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
               "MEDIAGATE_LOG_LEVEL": os.environ.get("MEDIAGATE_LOG_LEVEL", "debug")}
        self.spawn("mediagated", [*DAEMON_AS_UNIT, DAEMON, "--system"], env=env, cwd="/",
                   preexec_fn=lambda: os.umask(0o077))
        wait_until(lambda: self.alive("mediagated") and self.root_bus.name_has_owner(BUS_NAME), START_TIMEOUT,
                   f"mediagated to own {BUS_NAME}")
        self.daemon_pid = int(self.root_bus.call_blocking("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                                          "org.freedesktop.DBus", "GetConnectionUnixProcessID",
                                                          "s", [BUS_NAME]))

    def stop(self):
        """Everything in reverse order; returns mediagated's exit status (None: not started)."""
        code = None
        if self.root_bus is not None:
            self.root_bus.close()
        for name in reversed(list(self.procs)):
            proc, log = self.procs[name]
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if name == "mediagated":
                code = proc.returncode
            log.close()
        return code


class Actor:
    """actor.py as `user`: one bus connection of that user, driven one command at a time."""

    def __init__(self, world, user):
        self.user = user
        self.uid = uid_of(user)
        self.stderr = open(world.logs / f"actor-{user}.log", "w")
        self.proc = subprocess.Popen(as_user(user, [PYTHON, "-u", str(HERE / "actor.py")]),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
                                     env=user_env(user), text=True)
        self.info = self.ok("hello", timeout=60)

    def request(self, op, timeout=30, **args):
        self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            raise AssertionError(f"{self.user}'s actor gave no answer to {op}; "
                                 f"its stderr:\n{tail(self.stderr.name)}")
        return json.loads(line)

    def ok(self, op, **args):
        """The result of a command that must succeed."""
        reply = self.request(op, **args)
        assert "error" not in reply, f"{self.user}: {op} {args} failed: {reply}"
        return reply["ok"]

    def call(self, interface, member, signature="", *args, path=OBJECT_PATH, destination=BUS_NAME):
        """A method call as this user: {"ok": result} or {"error": name, "message": text}."""
        return self.request("call", path=path, interface=interface, member=member, signature=signature,
                            args=list(args), destination=destination)

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()


class Agent:
    """`mediactl --json agent --auto DECISION` as `user`: the installed consent agent. Its
    answers are JSON lines in its log."""

    def __init__(self, world, user, decision="allow-once"):
        self.user = user
        self.log = world.logs / f"agent-{user}.jsonl"
        with open(self.log, "w") as out, open(world.logs / f"agent-{user}.err", "w") as err:
            self.proc = subprocess.Popen(as_user(user, [MEDIACTL, "--json", "agent", "--auto", decision]),
                                         stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=user_env(user))
        wait_until(lambda: self._alive() and any(e.get("event") == "ready" for e in self.events()), START_TIMEOUT,
                   f"{user}'s agent to register")

    def _alive(self):
        assert self.proc.poll() is None, f"{self.user}'s agent exited with {self.proc.returncode}:\n" + \
            tail(str(self.log).replace(".jsonl", ".err"))
        return True

    def events(self):
        out = []
        for line in self.log.read_text().splitlines():
            if line.startswith("{"):
                out.append(json.loads(line))
        return out

    def prompts(self):
        return [e for e in self.events() if e.get("event") == "prompt"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def open_as(user, paths):
    """{path: "ok" or errno name} of opening each path read-write as `user` (with that user's
    groups), in one process."""
    r = subprocess.run(as_user(user, [PYTHON, str(HERE / "actor.py"), "--open", *paths]), capture_output=True,
                       text=True, env=user_env(user), timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def acl_users(path):
    """{uid: permission bits} of the named-user entries of a node's POSIX access ACL (the entries
    logind's uaccess gives); {} without an ACL."""
    try:
        raw = os.getxattr(path, "system.posix_acl_access")
    except OSError as e:
        if e.errno in (errno.ENODATA, errno.ENOTSUP):
            return {}
        raise
    users = {}
    for i in range(4, len(raw), 8):
        tag, perm, ident = int.from_bytes(raw[i:i + 2], "little"), int.from_bytes(raw[i + 2:i + 4], "little"), \
            int.from_bytes(raw[i + 4:i + 8], "little")
        if tag == 0x02:  # ACL_USER
            users[ident] = perm
    return users


def strip_acl(path):
    try:
        os.removexattr(path, "system.posix_acl_access")
    except OSError as e:
        if e.errno not in (errno.ENODATA, errno.ENOTSUP):
            raise


