"""Fixtures of the system test (tests/vm/system): the installed system started once per run,
the users' clients and agents, and the system test's own pass/fail counts at the end."""

import os
import time
from pathlib import Path

import pytest

IN_VM = bool(os.environ.get("MEDIAGATE_VM"))

if not IN_VM:
    # Installing into / and starting a system bus is for the VM's throw-away root only.
    collect_ignore_glob = ["test_*.py"]

from .mgsystem import HERE, Actor, Agent, World, tail  # noqa: E402

_world = None  # for the summary at the end of the run


@pytest.fixture(scope="session")
def system(tmp_path_factory):
    global _world
    world = _world = World(tmp_path_factory.mktemp("system"))
    start = time.monotonic()
    try:
        world.install()
        world.start_bus()
        world.start_polkitd()
        world.start_daemon()
    except BaseException:
        world.stop()
        raise
    world.timings["setup"] = time.monotonic() - start
    yield world
    code = world.stop()
    assert code == 0, f"mediagated exited with {code} on SIGTERM:\n{tail(world.logs / 'mediagated.log')}"


@pytest.fixture(scope="session")
def root_bus(system):
    return system.root_bus


@pytest.fixture(scope="session")
def alice(system):
    a = Actor(system, "alice")
    yield a
    a.close()


@pytest.fixture(scope="session")
def bob(system):
    a = Actor(system, "bob")
    yield a
    a.close()


@pytest.fixture(scope="session")
def alice_agent(system):
    a = Agent(system, "alice")
    yield a
    a.stop()


@pytest.fixture
def agent_of(system):
    """Start a consent agent for a user during a test; stopped at its end."""
    started = []

    def start(user, decision="allow-once"):
        started.append(Agent(system, user, decision))
        return started[-1]

    yield start
    for a in started:
        a.stop()


def _is_system_test(report):
    return str(Path(report.fspath).resolve().parent) == str(HERE) if report.fspath else False


def pytest_terminal_summary(terminalreporter):
    """The system test's own counts (run-tier counts them with the rest of the VM tier), and on
    a failure the tails of the system's logs."""
    if _world is None:
        return
    outcomes = {}
    for kind in ("passed", "failed", "error", "skipped", "xfailed", "xpassed"):
        for report in terminalreporter.stats.get(kind, []):
            if getattr(report, "fspath", None) and _is_system_test(report):
                # A test counts once: its worst outcome over setup, call and teardown.
                worst = outcomes.get(report.nodeid)
                if worst in (None, "passed") or kind in ("failed", "error"):
                    outcomes[report.nodeid] = kind
    passed = sum(1 for k in outcomes.values() if k == "passed")
    failed = len(outcomes) - passed
    tw = terminalreporter
    tw.write_sep("=", "system test (tests/vm/system)")
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in _world.timings.items())
    tw.write_line(f"setup: {steps}")
    if failed:
        for name in ["mediagated", "polkitd", "dbus-daemon", "actor-alice", "actor-bob", "make-install"]:
            tw.write_line(f"--- last lines of {name}.log ---")
            tw.write_line(tail(_world.logs / f"{name}.log", 25))
        # What polkit answered the daemon: a refusal for the wrong reason hides in a long log.
        said = [line for line in tail(_world.logs / "mediagated.log", 100000).splitlines() if "polkit" in line]
        tw.write_line("--- the daemon's polkit lines (last 8) ---")
        tw.write_line("\n".join(said[-8:]))
    tw.write_line(f"system: {passed} passed, {failed} failed")
