"""The layout checks of tests/structure find what they are for, on small made-up trees: an
include cycle, a library or common file reaching into the daemon, a long function without its
reason; and they pass a tree without those."""

import subprocess
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
CHECK_INCLUDES = TOP / "tests" / "structure" / "check-includes"
CHECK_LENGTH = TOP / "tests" / "structure" / "check-function-length"


def write(tree, files):
    for name, text in files.items():
        path = tree / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def run(check, tree):
    proc = subprocess.run([str(check), str(tree)], capture_output=True, text=True)
    return proc.returncode, proc.stdout


CLEAN = {
    "common/util.h": "#pragma once\n",
    "common/util.c": '#include "util.h"\n',
    "daemon/track.h": '#pragma once\n#include "util.h"\n',
    "daemon/track.c": '#include "track.h"\n',
    "daemon/manager.h": '#pragma once\n',
    "daemon/manager.c": '#include "manager.h"\n#include "track.h"\n',
    "client-lib/lib/client.h": '#pragma once\n#include "util.h"\n',
    "client-lib/lib/client.c": '#include "client.h"\n#include <stdio.h>\n',
}


def test_a_layered_tree_passes(tmp_path):
    write(tmp_path, CLEAN)
    code, out = run(CHECK_INCLUDES, tmp_path)
    assert code == 0, out


def test_a_cycle_between_two_modules_is_found(tmp_path):
    write(tmp_path, CLEAN)
    write(tmp_path, {"daemon/track.c": '#include "track.h"\n#include "manager.h"\n'})
    code, out = run(CHECK_INCLUDES, tmp_path)
    assert code == 1
    assert "include cycle among 2 modules: daemon/manager daemon/track" in out
    assert "daemon/track -> daemon/manager (daemon/track.c:2)" in out


def test_a_longer_cycle_is_found(tmp_path):
    write(tmp_path, CLEAN)
    write(tmp_path, {
        "daemon/a.h": '#include "b.h"\n',
        "daemon/b.h": '#include "c.h"\n',
        "daemon/c.h": "#pragma once\n",
        "daemon/c.c": '#include "c.h"\n#include "a.h"\n',
    })
    code, out = run(CHECK_INCLUDES, tmp_path)
    assert code == 1
    assert "include cycle among 3 modules: daemon/a daemon/b daemon/c" in out


def test_the_library_may_not_include_the_daemon(tmp_path):
    write(tmp_path, CLEAN)
    write(tmp_path, {"client-lib/lib/client.c": '#include "client.h"\n#include "track.h"\n'})
    code, out = run(CHECK_INCLUDES, tmp_path)
    assert code == 1
    assert "client-lib/lib/client.c:2: includes the daemon's daemon/track.h" in out


def test_common_may_not_include_the_daemon_or_the_library(tmp_path):
    write(tmp_path, CLEAN)
    write(tmp_path, {"common/util.c": '#include "util.h"\n#include "../daemon/manager.h"\n'})
    code, out = run(CHECK_INCLUDES, tmp_path)
    assert code == 1
    assert "common/util.c:2: common/ includes daemon/manager.h" in out


def function(name, lines, comment=""):
    body = "".join(f"        step({i});\n" for i in range(lines - 2))
    return f"{comment}int {name}(void) {{\n{body}}}\n"


def test_a_long_function_is_found_and_a_short_one_is_not(tmp_path):
    write(tmp_path, {"daemon/x.c": function("short_enough", 80) + "\n" + function("too_long", 81)})
    code, out = run(CHECK_LENGTH, tmp_path)
    assert code == 1
    assert "daemon/x.c:" in out and "too_long() is 81 lines" in out
    assert "short_enough" not in out


def test_a_long_function_with_its_reason_passes(tmp_path):
    reason = "/* One table of cases; it is long because splitting it would hide the order. */\n"
    write(tmp_path, {"common/y.c": function("table", 120, reason)})
    code, out = run(CHECK_LENGTH, tmp_path)
    assert code == 0, out


def test_a_comment_without_the_reason_does_not_count(tmp_path):
    write(tmp_path, {"client-lib/lib/z.c": function("table", 120, "/* Reads the table. */\n")})
    code, out = run(CHECK_LENGTH, tmp_path)
    assert code == 1
    assert "table() is 120 lines" in out
