"""launch.py and startup.py: the collector paused for start-up, its objects frozen, an
ordinary exit.

Each test runs a real interpreter, as the console script does.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import SAMPLES, clean_env, run_cli


def _python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
        check=False,
    )


def test_exit_code_and_every_byte_of_output_survive_the_exit(tmp_path: Path) -> None:
    """Many frames' JSON through a pipe, all flushed, and the status code kept."""
    paths = []
    for copy in range(40):  # 240 runs (the same file given twice is read once)
        for sample in sorted(SAMPLES.glob("*.jsonl")):
            path = tmp_path / f"copy{copy}" / sample.name
            path.parent.mkdir(exist_ok=True)
            shutil.copy(sample, path)
            paths.append(str(path))
    result = run_cli(["once", "--format", "json", "--fail-on", "warning", *paths])
    lines = result.stdout.decode().splitlines()
    assert len(lines) == len(paths)
    assert all(json.loads(line)["source"] for line in lines)
    assert result.returncode == 1  # collapse.jsonl is critical: fail-on warning trips
    assert "Traceback" not in result.stderr.decode()


def test_the_collector_runs_for_the_command_body_and_start_up_is_frozen() -> None:
    code = """
import gc, sys
import value_diag.commands.once as once
seen = []
real = once.run_once
def spy(*args, **kwargs):
    seen.append((gc.isenabled(), gc.get_freeze_count() > 10_000))
    return real(*args, **kwargs)
once.run_once = spy
import atexit
atexit.register(lambda: print("in body (enabled, frozen):", seen))
from value_diag.launch import run
sys.argv = ["value-diag", "once", "--format", "json", sys.argv[1]]
sys.exit(run())
"""
    result = _python(code, str(SAMPLES / "healthy.jsonl"))
    assert result.returncode == 0, result.stderr
    assert "in body (enabled, frozen): [(True, True)]" in result.stdout


def test_no_collection_runs_before_the_command_body_begins() -> None:
    """Parsing the options is start-up too; it builds no Pydantic validator (Typer would
    build one for each parameter: about 40 % of a command's start-up)."""
    code = """
import gc, sys
from value_diag import startup
collections = []
gc.callbacks.append(lambda phase, info: phase == "start" and collections.append(1))
real = startup.resume
at_body = []
def spy():
    at_body.append((len(collections), "pydantic" in sys.modules, gc.isenabled()))
    real()
startup.resume = spy
from value_diag.launch import run
sys.argv = ["value-diag", "once", "--format", "json", sys.argv[1]]
code = run()
print("at the body (collections, pydantic imported, collector on):", at_body[0])
print("after:", gc.isenabled())
sys.exit(code)
"""
    result = _python(code, str(SAMPLES / "healthy.jsonl"))
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert "at the body (collections, pydantic imported, collector on): (0, False, False)" in out
    assert out[-1] == "after: True"


def test_a_command_line_with_no_body_turns_the_collector_back_on() -> None:
    code = """
import gc, sys
from value_diag.launch import run
sys.argv = ["value-diag", "once", "--no-such-option"]
code = run()
print("code", code, "collector on:", gc.isenabled())
"""
    result = _python(code)
    assert result.stdout.strip().splitlines()[-1] == "code 2 collector on: True"


def test_exit_handlers_and_non_daemon_threads_still_run() -> None:
    """The process ends the ordinary way: nothing registered to run at exit is skipped."""
    code = """
import atexit, sys, threading
atexit.register(lambda: print("handler ran"))
returned = threading.Event()
def late():
    returned.wait()  # outlives the command: an exit inside run() would cut it off
    print("thread finished")
threading.Thread(target=late).start()
from value_diag.launch import run
sys.argv = ["value-diag", "once", "--fail-on", "critical", sys.argv[1]]
code = run()
returned.set()
sys.exit(code)
"""
    result = _python(code, str(SAMPLES / "collapse.jsonl"))
    out = result.stdout.splitlines()
    assert out[-2:] == ["thread finished", "handler ran"], out[-3:]
    assert "VALUE DIAGNOSTICS" in result.stdout
    assert result.returncode == 1  # the collapse sample is critical


def test_a_failed_start_up_still_turns_the_collector_back_on() -> None:
    code = """
import gc, sys
sys.modules["value_diag.cli"] = None  # importing it raises ImportError
from value_diag.launch import run
try:
    run()
except ImportError:
    print("collector on:", gc.isenabled())
"""
    result = _python(code)
    assert result.stdout.strip() == "collector on: True"
