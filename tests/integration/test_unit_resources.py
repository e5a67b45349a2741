"""The unit's resource limits and hardening (reliability.md 36, 40): LimitNOFILE= and MemoryMax=
are set, the file limit holds what the unit's comment budgets with the fds a running daemon
really spends per connection and per stream, and systemd-analyze's exposure stays at 1.4."""

import os
import re
import shutil
import subprocess

import pytest

from conftest import TOP

UNIT = TOP / "systemd" / "mediagated.service.in"
EXPOSURE_MAX = 1.4
# The budget of the unit's comment: connections of the system bus, streams of 8 users at 64 live
# tracks each, 8 fds for each of 32 devices, the daemon's own.
CONNECTIONS, STREAMS, DEVICE_FDS, OWN_FDS = 2048, 8 * 64, 32 * 8, 64


def unit_value(key):
    values = re.findall(rf"^{key}=(.*)$", UNIT.read_text(), re.M)
    assert len(values) == 1, f"{key}= set {len(values)} times"
    return values[0].strip()


def test_36_the_exposure_stays_at_most_1_4(tmp_path):
    if not shutil.which("systemd-analyze"):
        pytest.skip("no systemd-analyze")
    unit = tmp_path / "mediagated.service"
    unit.write_text(UNIT.read_text().replace("@sbindir@", "/usr/sbin"))
    r = subprocess.run(["systemd-analyze", "security", "--offline=yes", str(unit)], capture_output=True, text=True)
    m = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", r.stdout)
    assert m, r.stdout + r.stderr
    print(f"\nmediagated.service exposure: {m.group(1)}")
    assert float(m.group(1)) <= EXPOSURE_MAX, r.stdout


def test_40_the_file_limit_holds_the_budget_at_the_cost_a_running_daemon_shows(daemon, polkit, clients, agents):
    limit = int(unit_value("LimitNOFILE"))
    m = re.fullmatch(r"(\d+)([KMGT]?)", unit_value("MemoryMax"))
    assert m, unit_value("MemoryMax")
    # At least the frame pools of the budget's 8 users at MaxPoolMiBPerUser=256.
    assert int(m.group(1)) * 1024 ** (" KMGT".index(m.group(2) or " ")) >= 8 * 256 * 1024 ** 2

    fds = lambda: len(os.listdir(f"/proc/{daemon.proc.pid}/fd"))  # noqa: E731
    agents("allow-once")
    before = fds()
    connections = [clients() for _ in range(20)]
    for c in connections:
        c.manager.EnumerateDevices({})
    per_connection = (fds() - before) / len(connections)
    before = fds()
    streams = []
    for _ in range(8):
        code, results = connections[0].get_user_media({"video": True})
        assert code == 0, results
        streams.append(connections[0].track(results["tracks"][0]).open())
    per_stream = (fds() - before) / len(streams)
    for s in streams:
        s.close()
    # A stream holds up to 3 fds while its pool is replaced; never count it cheaper than that.
    need = OWN_FDS + DEVICE_FDS + CONNECTIONS * per_connection + STREAMS * max(per_stream, 3)
    print(f"\nfds per identified connection {per_connection:.2f}, per stream {per_stream:.2f} (counted as "
          f"{max(per_stream, 3):.0f}); budget {need:.0f}, LimitNOFILE={limit}")
    assert need <= limit
