"""A headless PipeWire and WirePlumber for the bridge's tests: both on the test's private bus, with
a runtime, configuration and state directory of their own, so that nothing of the machine's
PipeWire is used or changed. Readiness is polled with a deadline."""

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

START_TIMEOUT = float(os.environ.get("MEDIAGATE_START_TIMEOUT", "10"))


def have_pipewire():
    return all(shutil.which(p) for p in ("pipewire", "wireplumber", "pw-cli"))


def poll(predicate, timeout=START_TIMEOUT, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


class PipeWireSession:
    def __init__(self, tmp_path):
        self.dir = tmp_path / "pipewire"
        self.runtime = self.dir / "runtime"
        self.runtime.mkdir(parents=True, mode=0o700)
        (self.dir / "config").mkdir()
        (self.dir / "state").mkdir()
        self.env = dict(os.environ,
                        XDG_RUNTIME_DIR=str(self.runtime),
                        PIPEWIRE_RUNTIME_DIR=str(self.runtime),
                        XDG_CONFIG_HOME=str(self.dir / "config"),
                        XDG_STATE_HOME=str(self.dir / "state"),
                        PIPEWIRE_REMOTE="pipewire-0")
        self.procs = []

    def spawn(self, name, args, env=None):
        log = open(self.dir / f"{name}.log", "w")
        p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env or self.env)
        p.log_path = self.dir / f"{name}.log"
        self.procs.append((p, log))
        return p

    def start(self):
        # The portal module's log says when it knows the portal's pid (portal-connect waits for it).
        self.pipewire = self.spawn("pipewire", ["pipewire"], env=dict(self.env, PIPEWIRE_DEBUG="2,mod.portal:4"))
        assert poll(lambda: (self.runtime / "pipewire-0").exists()), "PipeWire did not start:\n" + self.log("pipewire")
        self.wireplumber = self.spawn("wireplumber", ["wireplumber"])
        assert poll(lambda: "WirePlumber" in self.cli("ls", "Client")), \
            "WirePlumber did not connect:\n" + self.log("wireplumber")
        return self

    def cli(self, *args):
        p = subprocess.run(["pw-cli", *args], capture_output=True, text=True, env=self.env, timeout=10)
        return p.stdout

    def node_names(self):
        return [line.split("=", 1)[1].strip().strip('"') for line in self.cli("ls", "Node").splitlines()
                if line.strip().startswith("node.name")]

    def log(self, name):
        path = self.dir / f"{name}.log"
        return path.read_text() if path.exists() else ""

    def stop(self):
        for p, log in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            log.close()
        self.procs = []


def stop_process(p, sig=signal.SIGTERM, timeout=10):
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    return p.returncode


def find_program(name):
    path = shutil.which(name)
    return Path(path).resolve() if path else None
