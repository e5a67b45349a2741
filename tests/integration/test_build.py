"""The build as a distribution drives it: CPPFLAGS, CFLAGS and LDFLAGS from outside reach every
compile and link, and what `make install` puts in the include and library directories is enough
to build a client with nothing but `pkg-config --cflags --libs mediagate`."""

import os
import shlex
import subprocess
from pathlib import Path

import pytest

from conftest import TOP
from test_packaging import PREFIX, expected_locations, libdir_of, run_make

PROBE_CC = "mediagate-probe-cc"
PROBES = {
    "CPPFLAGS": "-DMEDIAGATE_PROBE_CPPFLAGS",
    "CFLAGS": "-DMEDIAGATE_PROBE_CFLAGS",
    "LDFLAGS": "-Wl,--mediagate-probe-ldflags",
}


def every_program(build):
    """Every program the Makefile builds: the default goal, each unit test, each benchmark."""
    units = [f"{build}/tests/{p.stem}" for p in (TOP / "tests" / "unit").glob("test-*.c")]
    benches = [f"{build}/bench/{p.stem}" for p in (TOP / "tests" / "bench").glob("bench-*.c")]
    return ["all", *units, *benches]


def dry_run_commands(build, env_flags):
    """The compiler command lines `make -B -n` would run, with the flags passed in the
    environment (as dpkg-buildpackage does) or not at all."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", *PROBES)}
    env.update(env_flags)
    r = subprocess.run(["make", "--no-print-directory", "-C", str(TOP), "-B", "-n",
                        f"CC={PROBE_CC}", f"BUILD={build}", *every_program(build)],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    # Continued lines (backslash-newline) are one command.
    text = r.stdout.replace("\\\n", " ")
    return [shlex.split(line) for line in text.splitlines() if line.startswith(PROBE_CC + " ")]


def test_outside_flags_reach_every_compile_and_link(tmp_path):
    commands = dry_run_commands(tmp_path / "build", PROBES)
    compiles = [c for c in commands if "-c" in c]
    links = [c for c in commands if "-c" not in c]
    assert len(compiles) > 20 and len(links) > 5, commands
    for c in compiles:
        assert PROBES["CPPFLAGS"] in c and PROBES["CFLAGS"] in c, " ".join(c)
        # The project's own flags stay, and the packager's come after them.
        assert "-std=gnu11" in c and "-Wall" in c
        assert c.index(PROBES["CFLAGS"]) > c.index("-Wall")
    for c in links:
        assert PROBES["LDFLAGS"] in c, " ".join(c)
        if "-shared" in c or c[c.index("-o") + 1].endswith("mediagated"):
            assert PROBES["CFLAGS"] in c, " ".join(c)


def test_default_flags_optimize_with_debug_info(tmp_path):
    commands = dry_run_commands(tmp_path / "build", {})
    compiles = [c for c in commands if "-c" in c]
    assert compiles
    for c in compiles:
        assert "-O2" in c and "-g" in c, " ".join(c)
        assert not any(p in c for p in PROBES.values())


@pytest.fixture(scope="module")
def installed_dev(tmp_path_factory):
    destdir = tmp_path_factory.mktemp("devroot")
    run_make("install", f"DESTDIR={destdir}", f"prefix={PREFIX}")
    return destdir


def pkg_config(destdir, *args):
    env = dict(os.environ,
               PKG_CONFIG_PATH=str(destdir) + libdir_of(PREFIX) + "/pkgconfig",
               PKG_CONFIG_SYSROOT_DIR=str(destdir))
    r = subprocess.run(["pkg-config", *args, "mediagate"], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def test_pc_file_requires_libsystemd_publicly(installed_dev):
    # mediagate.h includes <systemd/sd-bus.h>: libsystemd must be a public requirement.
    assert pkg_config(installed_dev, "--print-requires") == ["libsystemd"]
    assert pkg_config(installed_dev, "--print-requires-private") == []
    assert f"-I{installed_dev}{PREFIX}/include/mediagate" in pkg_config(installed_dev, "--cflags-only-I")
    assert "-lsystemd" in pkg_config(installed_dev, "--libs")


def test_a_client_builds_from_the_installed_files_alone(installed_dev, tmp_path):
    """An example client, compiled and linked with only the installed header directory, library
    and .pc file: the header's own #include "mediagate-wire.h" resolves beside it."""
    where = expected_locations(PREFIX)
    assert Path(str(installed_dev) + where["header"]).is_file()
    assert Path(str(installed_dev) + where["wire-header"]).is_file()
    flags = pkg_config(installed_dev, "--cflags", "--libs")
    program = tmp_path / "capture"
    r = subprocess.run(["cc", "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-o", str(program),
                        str(TOP / "client-lib" / "examples" / "capture.c"), *flags],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    # <mediagate/mediagate.h> works too, from the plain include directory.
    source = tmp_path / "both.c"
    source.write_text("#include <mediagate/mediagate.h>\n#include <mediagate.h>\n"
                      "int main(void) { return 0; }\n")
    r = subprocess.run(["cc", "-std=gnu11", "-Werror", "-c", "-o", str(tmp_path / "both.o"),
                        f"-I{installed_dev}{PREFIX}/include", *pkg_config(installed_dev, "--cflags"),
                        str(source)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
