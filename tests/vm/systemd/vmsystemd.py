"""Helpers of the systemd tier's tests: systemctl, busctl, journalctl and dpkg, as the tests
use them inside the VM that booted systemd."""

import os
import re
import subprocess
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
UNIT = "mediagated.service"
BUS_NAME = "org.mediagate.MediaGate1"
OBJECT_PATH = "/org/mediagate/MediaGate1"
# In the order of their dependencies: each needs only those before it.
PACKAGES = ["libmediagate1", "mediagate", "libmediagate-dev", "mediagate-pipewire"]


def run(*args, check=True, timeout=120, **kwargs):
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, **kwargs)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
    return r


def show(unit=UNIT, *props):
    """systemctl show's properties of a unit, as a dict of strings."""
    out = run("systemctl", "show", unit, *[f"--property={p}" for p in props]).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def wait_for(predicate, timeout, interval=0.25, what="the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what} did not hold within {timeout} s")


def busctl_call(interface, method, signature="", *args, check=True, options=()):
    return run("busctl", "--system", "--timeout=30", *options, "call", BUS_NAME, OBJECT_PATH,
               f"{BUS_NAME}.{interface}", method, *([signature] if signature else []), *args, check=check)


def query_permission(kind):
    out = busctl_call("Manager", "QueryPermission", "sa{sv}", kind, "0").stdout.split()
    assert out[0] == "s", out
    return out[1].strip('"')


def daemon_reload():
    run("systemctl", "daemon-reload")


def journal(unit=UNIT, *extra):
    return run("journalctl", "--no-pager", "-b", "-u", unit, *extra).stdout


def installed_version(package):
    r = run("dpkg-query", "-W", "-f=${db:Status-Status} ${Version}", package, check=False)
    return r.stdout.split()[1] if r.returncode == 0 and r.stdout.startswith("installed ") else None


def installed_version_of(deb):
    return run("dpkg-deb", "-f", deb, "Version").stdout.strip()


def repack_with_version(deb, version, new_version, dest):
    """The same package under another version number: what an upgrade starts from. Every
    mention of the version in the control file changes (its own and its siblings' dependencies)."""
    work = dest / (deb.name + ".d")
    run("dpkg-deb", "-R", deb, work)
    control = work / "DEBIAN" / "control"
    control.write_text(re.sub(rf"(?<![\w.~+-]){re.escape(version)}(?![\w.~+-])", new_version, control.read_text()))
    out = dest / deb.name.replace(f"_{version}_", f"_{new_version}_")
    run("dpkg-deb", "-Zgzip", "-b", work, out)
    return out
