"""polkit without the daemon: the actions file is valid and names the actions the code asks for,
python-dbusmock's polkitd template runs on the test bus, and polkit.c's CheckAuthorization is
accepted by it (signature, subject, flags) and read back correctly, through a small C program
linked with build/libmediagated.a."""

import os
import re
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET

import dbus
import pytest

from conftest import BUILD, TOP, session_bus, wait_for_name

POLICY = TOP / "policy" / "org.mediagate.policy"
NAMES = TOP / "common" / "mediagate-names.h"
POLKIT_DTD = "/usr/share/polkit-1/policyconfig-1.dtd"
POLKIT_NAME = "org.freedesktop.PolicyKit1"

CHECK_PROGRAM = r"""
/* Ask polkit once, as mediagated would, about this program's own connection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include "polkit.h"

static int answered = -1;

static void on_answer(int allowed, void *userdata) {
        answered = allowed;
        sd_event_exit(userdata, 0);
}

static int on_cancel_time(sd_event_source *s, uint64_t usec, void *userdata) {
        PolkitQuery **q = userdata;
        *q = polkit_query_cancel(*q);
        return 0;
}

static int on_done_time(sd_event_source *s, uint64_t usec, void *userdata) {
        return sd_event_exit(userdata, 0);
}

int main(int argc, char **argv) {
        /* argv: action interactive(0|1) [cancel-after-ms] */
        sd_event *event = NULL;
        sd_bus *bus = NULL;
        PolkitAuthority *authority = NULL;
        PolkitQuery *q = NULL;
        const char *name;
        int r;

        if (argc < 3)
                return 2;
        if (sd_event_default(&event) < 0 || sd_bus_open_user(&bus) < 0 ||
            sd_bus_attach_event(bus, event, 0) < 0 || sd_bus_get_unique_name(bus, &name) < 0 ||
            polkit_authority_new(bus, &authority) < 0)
                return 3;
        r = polkit_check(authority, name, argv[1], atoi(argv[2]) != 0, on_answer, event, &q);
        if (r < 0) {
                printf("error=%d\n", r);
                return 4;
        }
        if (argc > 3) {
                uint64_t cancel = strtoull(argv[3], NULL, 10) * 1000;
                sd_event_add_time_relative(event, NULL, CLOCK_MONOTONIC, cancel, 0, on_cancel_time, &q);
                sd_event_add_time_relative(event, NULL, CLOCK_MONOTONIC, cancel + 300000, 0, on_done_time, event);
        }
        r = sd_event_loop(event);
        printf(answered < 0 ? "no-answer\n" : "allowed=%d\n", answered);
        polkit_query_unref(q);
        polkit_authority_free(authority);
        sd_bus_flush_close_unref(bus);
        sd_event_unref(event);
        return r < 0 ? 5 : 0;
}
"""


def header_actions():
    return dict(re.findall(r'#define (MG_POLKIT_ACTION_\w+) "([^"]+)"', NAMES.read_text()))


def test_policy_file_is_valid():
    if not shutil.which("xmllint"):
        pytest.skip("xmllint is not installed")
    args = ["xmllint", "--noout"]
    if os.path.exists(POLKIT_DTD):
        args += ["--dtdvalid", POLKIT_DTD]
    subprocess.run(args + [str(POLICY)], check=True)


def test_policy_file_declares_exactly_the_actions_in_the_names_header():
    root = ET.parse(POLICY).getroot()
    declared = {a.get("id"): a for a in root.findall("action")}
    assert set(declared) == set(header_actions().values())
    for action_id, action in declared.items():
        assert action.findtext("description").strip(), action_id
        assert action.findtext("message").strip(), action_id
        defaults = {d.tag: d.text for d in action.find("defaults")}
        assert set(defaults) == {"allow_any", "allow_inactive", "allow_active"}, action_id
    # Using a device: the active local session only. Managing: an admin, every time.
    for device_action in ("org.mediagate.camera", "org.mediagate.microphone"):
        d = {e.tag: e.text for e in declared[device_action].find("defaults")}
        assert d == {"allow_any": "no", "allow_inactive": "no", "allow_active": "yes"}


@pytest.fixture(scope="module")
def check_program(tmp_path_factory):
    lib = BUILD / "libmediagated.a"
    if not lib.exists():
        pytest.skip("build/libmediagated.a is not built")
    d = tmp_path_factory.mktemp("polkit-check")
    src, exe = d / "polkit-check.c", d / "polkit-check"
    src.write_text(CHECK_PROGRAM)
    libs = subprocess.run(["pkg-config", "--libs", "libsystemd"], capture_output=True, text=True,
                          check=True).stdout.split()
    # A library built with sanitizers (tools/check's sanitized tier) needs them at link time too.
    sanitize = os.environ.get("MEDIAGATE_SANITIZE")
    san_flags = [f"-fsanitize={sanitize}"] if sanitize else []
    subprocess.run(["cc", "-std=gnu11", "-D_GNU_SOURCE", *san_flags, f"-I{TOP / 'daemon'}", "-o", str(exe), str(src),
                    str(lib), *libs, "-lm"], check=True)
    return exe


def ask(program, action, interactive=False, cancel_after_ms=None, timeout=10):
    args = [str(program), action, "1" if interactive else "0"]
    if cancel_after_ms is not None:
        args.append(str(cancel_after_ms))
    start = time.monotonic()
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout.strip(), time.monotonic() - start


@pytest.fixture
def polkit_mock():
    proc = subprocess.Popen(["/usr/bin/python3", "-m", "dbusmock", "--session", "--template", "polkitd"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bus = session_bus()
    try:
        assert wait_for_name(bus, POLKIT_NAME, timeout=10), "the polkitd template did not start"
        yield dbus.Interface(bus.get_object(POLKIT_NAME, "/org/freedesktop/PolicyKit1/Authority"),
                             "org.freedesktop.DBus.Mock")
    finally:
        proc.terminate()
        proc.wait(10)
        wait_for_name(bus, POLKIT_NAME, present=False, timeout=5)
        bus.close()


@pytest.mark.parametrize("allowed,action,interactive,expected", [
    (["org.mediagate.camera"], "org.mediagate.camera", False, "allowed=1"),
    (["org.mediagate.camera"], "org.mediagate.microphone", False, "allowed=0"),
    ([], "org.mediagate.camera", False, "allowed=0"),
    (["org.mediagate.manage"], "org.mediagate.manage", True, "allowed=1"),
    (["org.mediagate.camera"], "org.mediagate.manage", True, "allowed=0"),
])
def test_check_against_the_mock(check_program, polkit_mock, allowed, action, interactive, expected):
    polkit_mock.SetAllowed(allowed)
    out, _ = ask(check_program, action, interactive)
    assert out == expected


def test_withdrawn_check_is_never_answered(check_program, polkit_mock):
    polkit_mock.SetAllowed(["org.mediagate.camera"])
    polkit_mock.SimulateHang(True)
    out, _ = ask(check_program, "org.mediagate.camera", cancel_after_ms=100)
    assert out == "no-answer"
    # The mock releases the held call now; the program has gone, nothing breaks.
    assert polkit_mock.HaveHangingCalls()
    polkit_mock.ReleaseHangingCalls()


def test_no_polkit_on_the_bus_is_no_within_a_second(check_program):
    bus = session_bus()
    assert not bus.name_has_owner(POLKIT_NAME)
    bus.close()
    out, elapsed = ask(check_program, "org.mediagate.camera")
    assert out == "allowed=0"
    assert elapsed < 1.0
