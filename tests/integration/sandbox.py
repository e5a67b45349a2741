"""Run test clients as someone else: as a Flatpak app (a private mount namespace whose root holds a
/.flatpak-info, as Flatpak's own sandbox has it), or as another uid on a bus that lets other users
in. The daemon identifies both from the kernel, as it would the real thing. Needs root."""

import json
import os
import shutil
import subprocess
import tempfile
import textwrap
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

# Builds a root from bind mounts of every top-level directory of the real one (symlinks copied),
# adds the .flatpak-info, and runs the client chrooted into it.
_FLATPAK_ROOT_SCRIPT = r"""
set -eu
root=$1
shift
for d in /*; do
    name=${d#/}
    if [ -L "$d" ]; then
        ln -s "$(readlink "$d")" "$root/$name"
    elif [ -d "$d" ]; then
        mkdir -p "$root/$name"
        mount --rbind "$d" "$root/$name"
    fi
done
exec chroot "$root" "$@"
"""


def require_root():
    if os.geteuid() != 0:
        pytest.skip("needs root: mount namespaces and a second uid (CI runs the suite as root)")


def _client_code(body):
    """A client program: `bus`, `manager`, `admin`, `call` and `emit` are at hand; `emit(x)` prints x
    as one JSON line for the test to read."""
    return textwrap.dedent("""
        import json, os, sys
        import dbus
        sys.path.insert(0, {here!r})
        from mgclient import Client, run_until, sv, unwrap
        BUS_NAME = "org.mediagate.MediaGate1"
        OBJECT_PATH = "/org/mediagate/MediaGate1"
        client = Client()
        bus = client.bus
        manager = client.manager
        admin = dbus.Interface(bus.get_object(BUS_NAME, OBJECT_PATH), BUS_NAME + ".Admin")

        def emit(x):
            print(json.dumps(x), flush=True)

        def call(f, *args):
            try:
                return ["ok", unwrap(f(*args))]
            except dbus.DBusException as e:
                return ["error", e.get_dbus_name()]
    """).format(here=str(HERE)) + textwrap.dedent(body)


def _results(proc):
    if proc.returncode != 0:
        raise AssertionError(f"client failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith(("[", "{", '"'))]


def start_as_flatpak(tmp_path, app_id, body):
    """Start the client program body as the Flatpak app app_id; returns the Popen (see finish())."""
    require_root()
    root = tmp_path / "flatpak-root"
    root.mkdir()
    (root / ".flatpak-info").write_text(
        f"[Application]\nname={app_id}\nruntime=runtime/org.freedesktop.Platform/x86_64/23.08\n")
    return subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", _FLATPAK_ROOT_SCRIPT,
                             "sh", str(root), "/usr/bin/python3", "-c", _client_code(body)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_as_flatpak(tmp_path, app_id, body, timeout=60):
    """Run the client program body as the Flatpak app app_id; returns what it emitted."""
    return finish(start_as_flatpak(tmp_path, app_id, body), timeout)


def start_as_uid(uid, body, env):
    """Start the client program body as uid (no groups) on the bus in env; returns the Popen."""
    require_root()
    return subprocess.Popen(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                             "/usr/bin/python3", "-c", _client_code(body)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def finish(proc, timeout=60):
    """Wait for a client started here, serving this process's bus objects (agents) meanwhile;
    returns what it emitted."""
    from mgclient import run_until
    run_until(lambda: proc.poll() is not None, timeout)
    out, err = proc.communicate(timeout=5)
    return _results(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))


class MultiUserBus:
    """A private bus that any uid may connect to (the session bus lets in its own user only)."""

    def __init__(self):
        require_root()
        # Not below pytest's tmp_path: its parents are closed to other users.
        directory = Path(tempfile.mkdtemp(prefix="mediagate-bus-"))
        directory.chmod(0o755)
        self.directory = directory
        self.socket = directory / "socket"
        config = directory / "bus.conf"
        config.write_text(textwrap.dedent(f"""\
            <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
             "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
            <busconfig>
              <type>session</type>
              <listen>unix:path={self.socket}</listen>
              <auth>EXTERNAL</auth>
              <policy context="default">
                <allow user="*"/>
                <allow send_destination="*" eavesdrop="true"/>
                <allow eavesdrop="true"/>
                <allow own="*"/>
              </policy>
            </busconfig>
            """))
        self.proc = subprocess.Popen(["dbus-daemon", "--config-file", str(config), "--nofork", "--print-address"],
                                     stdout=subprocess.PIPE, text=True)
        self.address = self.proc.stdout.readline().strip()
        os.chmod(self.socket, 0o777)
        self.env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS=self.address)

    def close(self):
        self.proc.terminate()
        self.proc.wait(10)
        shutil.rmtree(self.directory, ignore_errors=True)
