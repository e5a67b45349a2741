"""The client library's example programs run the whole flow against the daemon, the way an
app built on libmediagate would."""

import os
import subprocess
import threading

import pytest

from conftest import BUILD
from mgclient import run_until


def run_example(name, *args):
    """Run an example while this process's GLib loop serves the agent that answers it."""
    env = dict(os.environ, MEDIAGATE_BUS="session")
    proc = subprocess.Popen([str(BUILD / "examples" / name), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    result = {}
    threading.Thread(target=lambda: result.update(zip(("out", "err"), proc.communicate())), daemon=True).start()
    assert run_until(lambda: "out" in result, 30), f"{name} did not finish"
    return proc.returncode, result["out"], result["err"]


@pytest.fixture
def ready(daemon, polkit, agents):
    return agents


def test_blocking_example_reads_frames_at_the_chosen_size(ready):
    ready("allow-once")
    code, out, err = run_example("capture", '{"video":{"width":{"min":1280}}}', "5")
    assert code == 0, err
    assert "1280x720" in out
    assert out.count("frame") >= 5


def test_blocking_example_reports_the_spec_error(ready):
    ready("deny-once")
    code, out, err = run_example("capture", '{"video":true}', "1")
    assert code != 0
    assert "NotAllowedError" in err


def test_async_example_gets_audio_and_video_frames(ready):
    ready("allow-once")
    code, out, err = run_example("capture-async", '{"audio":true,"video":true}', "3")
    assert code == 0, err
    assert "video frame" in out and "audio frame" in out
