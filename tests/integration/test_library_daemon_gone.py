"""libmediagate when mediagated leaves the bus without a word: a request still waiting for its
Response fails at once, with the spec's AbortError, instead of waiting forever."""

import os
import signal
import subprocess
import threading

from conftest import BUILD
from mgclient import run_until


def test_pending_request_fails_when_the_daemon_dies(daemon, polkit, agents):
    agent = agents(decision=None)  # the prompt stays open: the request is pending
    env = dict(os.environ, MEDIAGATE_BUS="session")
    proc = subprocess.Popen([str(BUILD / "examples" / "capture-async"), '{"video":true}', "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    result = {}
    threading.Thread(target=lambda: result.update(zip(("out", "err"), proc.communicate())), daemon=True).start()
    try:
        assert run_until(lambda: agent.prompts, 30), "the daemon never prompted"
        daemon.stop(signal.SIGKILL)
        assert run_until(lambda: "err" in result, 30), "the client kept waiting after the daemon died"
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1
    assert "AbortError" in result["err"]
    assert "left the bus before answering" in result["err"]
