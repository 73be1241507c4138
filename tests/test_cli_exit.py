"""The ``lineage`` program ends without the interpreter's teardown (``cli._leave``), yet exits as
``sys.exit`` would: the same status, atexit functions run, streams flushed, threads waited for."""

from __future__ import annotations

import subprocess
import sys


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_leave_keeps_status_atexit_and_buffered_output() -> None:
    done = _run(
        "import atexit, sys\n"
        "from lineage.cli import _leave\n"
        "atexit.register(lambda: print('atexit ran'))\n"
        "sys.stdout.write('x' * 100000)\n"  # buffered, not yet written
        "_leave(3)\n"
    )
    assert done.returncode == 3
    assert done.stdout == "x" * 100000 + "atexit ran\n"


def test_leave_spells_codes_as_sys_exit_does() -> None:
    cases = [("None", 0, ""), ("'no luck'", 1, "no luck\n"), ("-1", 255, ""), ("True", 1, "")]
    for code, status, err in cases:
        done = _run(f"from lineage.cli import _leave\n_leave({code})\n")
        assert (done.returncode, done.stderr) == (status, err), code


def test_leave_waits_for_a_running_thread() -> None:
    done = _run(
        "import threading, time\n"
        "from lineage.cli import _leave\n"
        "threading.Thread(target=lambda: (time.sleep(0.3), print('thread done'))).start()\n"
        "_leave(0)\n"
    )
    assert (done.returncode, done.stdout) == (0, "thread done\n")


def test_the_program_exits_with_its_commands_status() -> None:
    program = [sys.executable, "-m", "lineage"]
    ok = subprocess.run([*program, "--version"], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and ok.stdout.strip()
    bad = subprocess.run(
        [*program, "ls", "--snapshot", "/nonexistent/snap.json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
