"""Shell completion of mediactl: the bash and zsh scripts load in the shells they are for and
complete commands, verbs, options and values, app ids from the daemon's stored decisions, and
they keep up with mediactl itself (every command and every option its --help names)."""

import json
import os
import re
import subprocess

import pytest

from conftest import MEDIACTL, TOP, mediactl
from test_manpages import help_options, mediactl_commands, run_help
from test_packaging import PREFIX, run_make

HERE = TOP / "tests" / "integration" / "completion"
BASH_SCRIPT = TOP / "shell-completion" / "bash" / "mediactl"
ZSH_DIR = TOP / "shell-completion" / "zsh"
SHELLS = ["bash", "zsh"]


@pytest.fixture(scope="module", autouse=True)
def zsh_dump(tmp_path_factory):
    """One compinit dump for every zsh of this module: the first call scans $fpath, the others
    read the dump."""
    os.environ["MEDIAGATE_ZCOMPDUMP"] = str(tmp_path_factory.mktemp("zsh") / "zcompdump")
    yield
    del os.environ["MEDIAGATE_ZCOMPDUMP"]


def complete(shell, line, env=None):
    """What the shell offers at the end of line."""
    if shell == "bash":
        args = [str(HERE / "complete-bash"), str(BASH_SCRIPT), line]
    else:
        args = [str(HERE / "complete-zsh"), str(ZSH_DIR), line]
    e = dict(os.environ)
    # mediactl (for the app ids) is the one of this build.
    e["PATH"] = f"{MEDIACTL.parent}:{e['PATH']}"
    e.update(env or {})
    r = subprocess.run(args, capture_output=True, text=True, env=e, timeout=60)
    assert r.returncode == 0, f"{shell} completing {line!r}: {r.stderr}"
    return r.stdout.split()


@pytest.mark.parametrize("shell", SHELLS)
def test_completes_a_command(shell):
    assert complete(shell, "mediactl gr") == ["grants"]
    assert complete(shell, "mediactl mu") == ["mute"]


@pytest.mark.parametrize("shell", SHELLS)
def test_offers_every_command_mediactl_has(shell):
    assert sorted(complete(shell, "mediactl ")) == sorted(mediactl_commands())


@pytest.mark.parametrize("shell", SHELLS)
def test_offers_every_option_of_every_command(shell):
    assert {"--session", "--system", "--json"} <= set(complete(shell, "mediactl --"))
    for command in mediactl_commands():
        options = help_options(run_help(MEDIACTL, command))
        # grants and policy list the options of their verbs: ask each verb.
        offered = set(complete(shell, f"mediactl {command} --"))
        for verb in {"grants": ["set", "revoke"], "policy": ["check"]}.get(command, []):
            offered |= set(complete(shell, f"mediactl {command} {verb} --"))
        missing = options - offered
        assert not missing, f"{shell}: mediactl {command} -- does not offer {sorted(missing)}"


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("line, expected", [
    ("mediactl grants ", ["list", "revoke", "set"]),
    ("mediactl policy ", ["check", "reload", "show"]),
    ("mediactl mute ", ["camera", "microphone"]),
    ("mediactl mute microphone ", ["off", "on"]),
    ("mediactl permission ", ["camera", "microphone"]),
    ("mediactl grants set org.example.App ", ["camera", "microphone"]),
    ("mediactl grants set org.example.App camera ", ["allow", "deny"]),
    ("mediactl history --kind ", ["camera", "microphone"]),
    ("mediactl agent --auto allow-", ["allow-always", "allow-once", "allow-timed"]),
])
def test_completes_verbs_and_values(shell, line, expected):
    assert sorted(complete(shell, line)) == expected


@pytest.mark.parametrize("shell", SHELLS)
def test_completes_app_ids_of_stored_grants(shell, daemon):
    mediactl("grants", "set", "org.example.Camera", "camera", "deny")
    mediactl("grants", "set", "org.example.Mic", "microphone", "deny", "--origin", "https://a.example")
    env = {"MEDIAGATE_BUS": "session"}
    assert sorted(complete(shell, "mediactl grants revoke ", env)) == ["org.example.Camera", "org.example.Mic"]
    assert complete(shell, "mediactl grants revoke org.example.C", env) == ["org.example.Camera"]
    assert complete(shell, "mediactl --session history --app org.example.M", env) == ["org.example.Mic"]
    assert complete(shell, "mediactl policy check --app org.example.M", env) == ["org.example.Mic"]


@pytest.fixture
def live_client(daemon, polkit, clients, agents):
    """A client holding a live camera track: the app `mediactl status` lists."""
    agents("allow-once")
    client = clients()
    code, results = client.get_user_media({"video": True})
    assert code == 0, results
    return client


@pytest.mark.parametrize("shell", SHELLS)
def test_stop_completes_the_apps_using_a_device_now(shell, live_client):
    env = {"MEDIAGATE_BUS": "session"}
    status = json.loads(mediactl("--json", "status").stdout)
    running = {c["app_id"] for c in status["clients"]}
    assert running, status
    assert set(complete(shell, "mediactl stop ", env)) == running
    assert sorted(complete(shell, f"mediactl stop {sorted(running)[0]} ", env)) == ["camera", "microphone"]


@pytest.mark.parametrize("shell", SHELLS)
def test_no_daemon_means_no_app_ids_and_no_hang(shell):
    """Without a daemon on the bus the completion offers nothing for an app id, promptly."""
    env = {"MEDIAGATE_BUS": "session"}
    assert complete(shell, "mediactl grants revoke ", env) == []


def test_install_puts_the_scripts_where_the_shells_look(tmp_path):
    destdir = tmp_path / "root"
    run_make("install", f"DESTDIR={destdir}", f"prefix={PREFIX}")
    r = subprocess.run(["pkg-config", "--variable=completionsdir", "bash-completion"],
                       capture_output=True, text=True)
    bash_dir = r.stdout.strip() or PREFIX + "/share/bash-completion/completions"
    assert (destdir / bash_dir.lstrip("/") / "mediactl").read_text() == BASH_SCRIPT.read_text()
    # zsh: a directory of zsh's own $fpath below the prefix's data directory, else site-functions
    # there (which a zsh built for that prefix reads).
    fpath = subprocess.run(["zsh", "-fc", "print -l $fpath"], capture_output=True, text=True).stdout.split()
    candidates = [d for d in fpath if re.fullmatch(re.escape(PREFIX) + r"/share/zsh/(site-functions|vendor-completions)", d)]
    zsh_dir = candidates[0] if candidates else PREFIX + "/share/zsh/site-functions"
    assert (destdir / zsh_dir.lstrip("/") / "_mediactl").read_text() == (ZSH_DIR / "_mediactl").read_text()
    # For the system prefix, the directory is one zsh reads.
    r = subprocess.run(["make", "--no-print-directory", "-s", "-C", str(TOP), "print-zshcompletiondir", "prefix=/usr"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() in fpath, r.stdout + r.stderr
