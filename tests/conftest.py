"""Shared fixtures: a clean colour environment and the real console script."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from esperlog import Mix, write
from hypothesis import settings

if TYPE_CHECKING:
    from servers import S3Server

HYPOTHESIS_PROFILE = "VALUE_DIAG_HYPOTHESIS"
"""The environment variable naming the Hypothesis profile: ``ci`` (CI sets it) runs as
many examples as Hypothesis does by default, ``dev`` (when unset) a tenth of them, for
a quick run while working. A test that sets its own count says it with ``examples``."""
PROFILE = os.environ.get(HYPOTHESIS_PROFILE, "dev")
settings.register_profile("ci", print_blob=True)
settings.register_profile("dev", max_examples=10)
settings.load_profile(PROFILE)


def examples(count: int) -> int:
    """A test's own example count under the profile: ``count`` in ``ci``, a tenth of it
    (at least 2) in ``dev``, as the profiles do for every other test."""
    return count if PROFILE == "ci" else max(2, count // 10)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto`` (pyproject.toml): two workers to each core the suite may run on. Most
    tests wait on a console script, a pty, a server or a timeout rather than compute, so
    one worker a core leaves the cores idle for about 40 % of the suite's time."""
    return 2 * len(os.sched_getaffinity(0))


LONGEST_FIRST = (
    "tests/test_rllib.py",
    "tests/test_readme_code.py",
    "tests/test_cli_cloud.py",
    "tests/test_remote.py",
    "tests/test_remote_ftp.py",
    "tests/test_exit_codes.py",
    "tests/test_remote_misc.py",
    "tests/test_sb3.py",
    "tests/test_foreign_ray.py",
    "tests/test_remote_empty.py",
    "tests/test_cli_watch.py",
    "tests/test_signals.py",
)
"""The test modules that take longest, longest first (20 to 60 s each: Ray, the README's
training blocks, the storage servers, processes ended by signals): handed out to the
workers before the others."""


def longest_first(modules: Sequence[str]) -> list[str]:
    """The order modules are handed out in: LONGEST_FIRST's first, then the others in the
    order given (xdist's: by number of tests, most first).

    By number of tests alone the longest modules, which have few (a Ray session, a README
    block), started last, and one ran alone for the last 30 to 50 s of the suite while the
    other workers idled."""
    rank = {module: i for i, module in enumerate(LONGEST_FIRST)}
    return sorted(modules, key=lambda module: rank.get(module, len(rank)))


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadfile`` (pyproject.toml), the modules handed out in ``longest_first``'s
    order."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    if not callable(getattr(LoadFileScheduling, "_assign_work_unit", None)):
        return None  # an xdist whose scheduler is made otherwise: its own order

    class LongestFirst(LoadFileScheduling):  # type: ignore[misc]
        workqueue: OrderedDict[str, dict[str, bool]]
        ordered = False

        def _assign_work_unit(self, node: Any) -> None:
            queue = getattr(self, "workqueue", None)
            if not self.ordered and isinstance(queue, OrderedDict):
                # the queue is whole: the first unit is about to go
                self.workqueue = OrderedDict((m, queue[m]) for m in longest_first(list(queue)))
            self.ordered = True
            super()._assign_work_unit(node)

    return LongestFirst(config, log)


# A suite started in the background of a shell without job control inherits SIGINT and
# SIGQUIT ignored, and would hand that on to every process it starts: a Ctrl-C or a Ctrl-\
# sent by a test would then reach nothing (value-diag, as any program, keeps a signal ignored
# that it was started with). The tests run as from a terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
if signal.getsignal(signal.SIGQUIT) is signal.SIG_IGN:
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_logs"
DEADLINE = 10.0
"""Seconds a test waits for a condition before it gives up (a safety net, not a measure)."""
COLOR_VARS = ("FORCE_COLOR", "NO_COLOR", "TERM", "COLUMNS", "LINES", "CLICOLOR_FORCE")


@pytest.fixture(autouse=True, scope="session")
def _sb3_logs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """SB3 makes a new folder in the temp dir at every ``learn()`` unless SB3_LOGDIR names
    one: the session's trainings, in process or not, share one of the session's own."""
    saved = os.environ.get("SB3_LOGDIR")
    os.environ["SB3_LOGDIR"] = str(tmp_path_factory.mktemp("sb3-logs"))
    yield
    if saved is None:
        os.environ.pop("SB3_LOGDIR", None)
    else:
        os.environ["SB3_LOGDIR"] = saved


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests see no colour forcing or width settings from the developer's shell."""
    for name in COLOR_VARS:
        monkeypatch.delenv(name, raising=False)
    yield


def give_up_after(deadline: float, what: str) -> None:
    """Fails the test once ``deadline`` (time.monotonic) has passed while it waits for
    ``what``: a safety net under a wait that would otherwise hang, not a measure of time."""
    if time.monotonic() > deadline:
        pytest.fail(f"gave up waiting: {what}")


IN_PROCESS = "VALUE_DIAG_IN_PROCESS"
"""Set (to 1): run only what runs in this process; a test that starts a process (the console
script, a pty, a server) is skipped where it would start it. A quick run while working."""


@pytest.fixture(autouse=True)
def _in_process_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    if os.environ.get(IN_PROCESS):

        class Refused(subprocess.Popen):  # type: ignore[type-arg]
            """A class still (libraries subclass it), that starts nothing."""

            def __init__(self, *args: object, **kwargs: object) -> None:
                pytest.skip(f"starts a process ({IN_PROCESS} is set)")

        monkeypatch.setattr(subprocess, "Popen", Refused)
    yield


def script() -> list[str]:
    """The installed console script, or the module when only the package is importable."""
    found = shutil.which("value-diag", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "value_diag"]


LOCALE_VARS = ("LC_ALL", "LC_CTYPE", "LANG")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a subprocess: no colour forcing, a UTF-8 locale, plus ``extra``.

    A C locale in the developer's shell would make value-diag choose ASCII glyphs.
    """
    env = {k: v for k, v in os.environ.items() if k not in COLOR_VARS + LOCALE_VARS}
    env["LANG"] = "C.UTF-8"
    env.update(extra)
    return env


PROBE = """
import json, sys
from value_diag.cli import main
code = main(sys.argv[1:])
sys.stdout.flush()
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""
"""A ``python -c`` script: runs ``value_diag.cli.main`` on its arguments, then prints the exit
code and every module loaded to stderr as the last line (JSON)."""


def run_cli(
    args: Sequence[str],
    *,
    input: bytes | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 30,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Runs `value-diag ARGS` (in ``cwd`` if given) as a user would and captures everything."""
    return subprocess.run(
        [*script(), *args],
        input=input,
        capture_output=True,
        env=env if env is not None else clean_env(),
        timeout=timeout,
        check=False,
        cwd=cwd,
    )


@contextlib.contextmanager
def _process_state(environ: dict[str, str], cwd: Path | None) -> Iterator[None]:
    """The variables and the working folder a console script would have had, for the
    layers that still read ``os.environ`` or the working folder themselves; restored after."""
    saved, here = dict(os.environ), os.getcwd()
    os.environ.clear()
    os.environ.update(environ)
    try:
        if cwd is not None:
            os.chdir(cwd)
        yield
    finally:
        os.chdir(here)
        os.environ.clear()
        os.environ.update(saved)


def invoke(
    args: Sequence[str],
    *,
    input: bytes | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 30,
    cwd: Path | None = None,
    clock: Callable[[], float] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """`value-diag ARGS` run in this process against a test Environment, captured as
    ``run_cli`` captures the console script: stdout and stderr as bytes (UTF-8, as under
    C.UTF-8, unless PYTHONIOENCODING says otherwise), the exit code, stdin a pipe holding
    ``input``, the clock ``clock`` (the real one by default: a fixed one makes ages exact).
    For usage, format and exit-code checks; ``run_cli`` stays where processes, signals or
    terminals are the point. ``timeout`` is accepted for the same call, not enforced."""
    from value_diag.cli import main
    from value_diag.environment import Environment

    environ = env if env is not None else clean_env()
    # The encoding Python gives the standard streams (PYTHONIOENCODING=name[:errors]).
    named, _, errors = environ.get("PYTHONIOENCODING", "").partition(":")
    encoding = named or "utf-8"
    out, err = io.BytesIO(), io.BytesIO()
    read_fd, write_fd = os.pipe()
    feeder = threading.Thread(target=_feed, args=(write_fd, input or b""), daemon=True)
    feeder.start()
    with (
        open(read_fd, encoding=encoding, errors=errors or None, closefd=True) as stdin,
        io.TextIOWrapper(
            out, encoding=encoding, errors=errors or None, write_through=True
        ) as stdout,
        io.TextIOWrapper(err, encoding=encoding, errors="backslashreplace") as stderr,
        _process_state(environ, cwd),
    ):
        test_env = Environment(
            stdin=stdin, stdout=stdout, stderr=stderr, environ=environ, clock=clock
        )
        try:
            code = main(list(args), test_env)
        finally:
            stdout.flush()
            stderr.flush()
        result = subprocess.CompletedProcess(
            ["value-diag", *args], code, out.getvalue(), err.getvalue()
        )
    feeder.join()  # stdin is closed: a feeder whose input was not all read ends too
    return result


def _feed(fd: int, data: bytes) -> None:
    """Writes ``data`` to a pipe and closes it, ignoring a reader that left early: unbuffered,
    and the broken pipe suppressed around the close too (a buffered file's close flushes,
    and would raise it there when the command ended without reading)."""
    with contextlib.suppress(BrokenPipeError), open(fd, "wb", buffering=0) as pipe:
        view = memoryview(data)
        while view:
            view = view[pipe.write(view) or 0 :]


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Starts `[PREFIX...] value-diag watch ARGS` (in tmp_path unless ``cwd``); every process is
    killed at teardown."""
    from watching import Watch

    started: list[Watch] = []

    def start(
        *args: str,
        stdin: bool = False,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        prefix: Sequence[str] = (),
    ) -> Watch:
        w = Watch(list(args), cwd=cwd or tmp_path, stdin=stdin, env=env, prefix=prefix)
        started.append(w)
        return w

    try:
        yield start
    finally:
        for w in started:
            w.close()


@pytest.fixture
def ptys() -> Iterator[Callable[..., Any]]:
    """Starts `value-diag ARGS` on pseudo-terminals of a given size; closed at teardown."""
    from ptyterm import Pty

    started: list[Pty] = []

    def start(*args: str, cwd: Path, cols: int, rows: int, **env: str) -> Pty:
        p = Pty(list(args), cwd, cols=cols, rows=rows, **env)
        started.append(p)
        return p

    try:
        yield start
    finally:
        for p in started:
            p.close()


# --- shared by the remote tests (the servers come from the ``servers`` plugin) ---------


@pytest.fixture
def bucket(s3: S3Server) -> Iterator[tuple[Any, str]]:
    """A fresh bucket on the S3 server and a client to fill it."""
    client = s3.client()
    name = f"runs-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    yield client, name


@pytest.fixture(scope="module")
def big_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Several MB of esper-lite telemetry: bad lines, NaN tokens, names inside strings, a
    1 MiB foreign line in the middle, a restart after the last update, no final newline."""
    path = tmp_path_factory.mktemp("logs") / "big.jsonl"
    mix = Mix(bad_every=5, names_in_strings=True, restart_at_end=True, long_line=1 << 20)
    write(path, 6 << 20, seed=11, mix=mix)
    with path.open("ab") as f:
        f.write(b'{"bellman_error": 77.5}')
    return path
