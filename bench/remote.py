"""Remote runs: what `watch` asks of an S3 bucket of 64 runs, and `once` on a 1 GiB object.

Against moto's S3 server on 127.0.0.1, started here and stopped however the script ends
(tests/servers.py's S3Server, launched through bench/s3_server.py so that a ranged GET
reads its range only, as S3 does, and its request log is written one entry at a time:
bench/s3_server.py says why).

1. Following. `value-diag watch s3://BUCKET/sweep/ --format json --poll 2` on --files runs
   (sweep/seedNN/run.jsonl, --lines TelemetryWriter lines each): for --seconds while
   nothing changes, then for --seconds while each object is uploaded again one line
   longer every --interval s (an object store's append; the uploads spread evenly), and a
   few seconds more for watch to fetch the last ones. Requests are counted in moto's
   request log (MOTO_ENABLE_RECORDING: method, URL and headers of each request, no
   sizes), by kind: HEAD, ranged GET, listing (GET ?list-type=2), whole GET, and the
   bench's own PUTs. Bytes of the answers' bodies are computed from it: a ranged GET's from
   its Range header (watch asks for no more than the size its HEAD saw, and the objects
   only grow), a listing's by asking the server the same listing again afterwards, a HEAD
   none. Headers are counted apart: the request headers as logged, the answers' as the
   server sends them for one request of each kind asked again. Baselines: what the
   polling design asks (a HEAD per run per poll, a listing every 5 polls, a ranged GET per
   upload seen, reading the bytes appended plus the 64 bytes before them again), and what
   reading each uploaded object whole would cost; watch's CPU beside `watch` on the same
   runs as local files, appended alike, for --local-seconds each.
2. once. `value-diag once s3://BUCKET/big.jsonl` on a --size esper-style log (generated
   once into --cache, about a minute for 1 GiB, and kept) beside `value-diag once` on the
   same file on local disk (in the page cache), `curl` of the whole object (what the
   server takes to send it) and `once` on a small object (start-up and the remote
   libraries): the median wall time of --runs runs of each, taken in turns after one
   checked run of each, and the largest max RSS (GNU time).

Prints a table; asserts nothing. Measures the value-diag of the running interpreter's venv
(moto[server] and the remote extra installed: `pip install -e '.[test]'`).

    python bench/remote.py [--files 64] [--seconds 45] [--size 1G] [--runs 3] [--json]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.append(str(HERE.parent / "tests"))  # servers.py; appended: nothing there shadows

from servers import DUMMY_KEY, DUMMY_SECRET, S3Server  # noqa: E402

from bench.esper_log import Mix, parse_size, write  # noqa: E402
from bench.procs import Watched, cpu_seconds, peak_rss_kb, unwind, value_diag, watching  # noqa: E402
from value_diag.ingest.remote.tail import OVERLAP  # noqa: E402
from value_diag.producer.simulate import Scenario, metric_series  # noqa: E402
from value_diag.producer.writer import encode, flat_record  # noqa: E402
from value_diag.schema import ValueFunctionMetrics  # noqa: E402

BUCKET = "value-diag-bench"
CACHE = Path(tempfile.gettempdir()) / "value-diag-remote-logs"
LIST_EVERY = 5
"""Looks at the files per listing of the prefix (ingest/remote/prefetch.py's LIST_EVERY)."""
CATCH_UP_S = 5.0
"""Seconds after the last upload for watch to fetch it (two polls and a margin)."""
KINDS = ("HEAD", "ranged GET", "listing", "whole GET", "PUT", "other")


# -- the server


@contextlib.contextmanager
def s3_server() -> Iterator[S3Server]:
    """The server, started in a temporary folder (its request log), stopped and removed."""
    with tempfile.TemporaryDirectory(prefix="value-diag-remote-") as tmp:
        server = S3Server(Path(tmp), launcher=(str(HERE / "s3_server.py"),))
        server.start()
        try:
            yield server
        finally:
            server.stop()


def client_env(server: S3Server) -> dict[str, str]:
    """The environment of the value-diag processes: the server, dummy keys, nothing else."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AWS_") and k not in ("FSSPEC_S3_ENDPOINT_URL", "FORCE_COLOR")
    }
    env.update(
        AWS_ENDPOINT_URL=server.endpoint,
        AWS_ACCESS_KEY_ID=DUMMY_KEY,
        AWS_SECRET_ACCESS_KEY=DUMMY_SECRET,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    return env


def recorder(server: S3Server, action: str) -> None:
    """Tells moto's request log to start, stop (while the big object is uploaded: the log
    keeps every request's body) or reset (empty itself, between two entries)."""
    url = f"{server.endpoint}/moto-api/recorder/{action}-recording"
    with urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=10):
        pass


def ask_again(server: S3Server, entry: dict[str, Any]) -> tuple[int, int]:
    """(header bytes, body bytes) of the answer to a logged request, asked again unsigned."""
    parts = urlsplit(entry["url"])
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    headers = {k: v for k, v in entry["headers"].items() if k.lower() == "range"}
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(entry["method"], path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        status_line = len(f"HTTP/1.1 {response.status} {response.reason}\r\n")
        return status_line + len(response.msg.as_bytes()), len(body)
    finally:
        conn.close()


# -- the request log, counted


@dataclass(slots=True)
class Window:
    """What the server's log holds for a stretch of time, by kind of request."""

    seconds: float
    requests: Counter[str] = field(default_factory=Counter)
    body_bytes: Counter[str] = field(default_factory=Counter)
    """Bytes of the answers' bodies (computed: see the module's docstring)."""
    request_header_bytes: int = 0
    """Request lines and headers of watch's requests, as logged (not the bench's PUTs)."""
    response_header_bytes: int = 0
    """Estimated: each kind's count times the headers of one answer of that kind."""
    uploaded_bytes: int = 0
    """Bodies of the bench's PUTs, as logged (a check that the log holds every request)."""

    def per_minute(self, value: float) -> float:
        return value * 60 / self.seconds


def kind(entry: dict[str, Any]) -> str:
    method = entry["method"]
    if method != "GET":
        return method if method in KINDS else "other"
    if "list-type=" in urlsplit(entry["url"]).query:
        return "listing"
    return "ranged GET" if _range(entry) else "whole GET"


def _range(entry: dict[str, Any]) -> str | None:
    for name, value in entry["headers"].items():
        if name.lower() == "range":
            return str(value)
    return None


def range_length(header: str) -> int | None:
    """Bytes a `bytes=A-B` range names (None for other forms)."""
    unit, _, spec = header.partition("=")
    start, _, end = spec.partition("-")
    if unit != "bytes" or not start.isdigit() or not end.isdigit():
        return None
    return int(end) - int(start) + 1


def request_head(entry: dict[str, Any]) -> int:
    """Bytes of a logged request's request line and headers, as they went out."""
    parts = urlsplit(entry["url"])
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    line = len(f"{entry['method']} {target} HTTP/1.1\r\n")
    return line + sum(len(f"{k}: {v}\r\n") for k, v in entry["headers"].items()) + 2


def count(server: S3Server, seconds: float) -> Window:
    """The log since recorder(server, "reset"), counted; the server is asked a few things
    again afterwards (one request of each kind, each distinct listing, whole GETs)."""
    window = Window(seconds)
    sample: dict[str, dict[str, Any]] = {}
    listings: Counter[str] = Counter()
    whole: Counter[str] = Counter()
    for entry in server.requests():
        k = kind(entry)
        window.requests[k] += 1
        sample.setdefault(k, entry)
        if k == "PUT":  # the bench's, not watch's: only their bodies are counted
            body = entry.get("body") or ""
            window.uploaded_bytes += len(
                base64.b64decode(body) if entry.get("body_encoded") else body.encode()
            )
            continue
        window.request_header_bytes += request_head(entry)
        if k == "ranged GET":
            length = range_length(_range(entry) or "")
            if length is None:
                whole[entry["url"]] += 1
            else:
                window.body_bytes[k] += length
        elif k == "listing":
            listings[entry["url"]] += 1
        elif k == "whole GET":
            whole[entry["url"]] += 1
    for url, n in listings.items():
        window.body_bytes["listing"] += (
            n * ask_again(server, {"method": "GET", "url": url, "headers": {}})[1]
        )
    for url, n in whole.items():  # none expected: sized as the object is now (at most)
        window.body_bytes["whole GET"] += (
            n * ask_again(server, {"method": "GET", "url": url, "headers": {}})[1]
        )
    for k, entry in sample.items():
        if k != "PUT":
            window.response_header_bytes += window.requests[k] * ask_again(server, entry)[0]
    return window


# -- the runs


class Runs:
    """The run logs of the sweep: TelemetryWriter lines, one more per append."""

    def __init__(self, files: int, lines: int, metrics: Sequence[ValueFunctionMetrics]) -> None:
        self.names = [f"sweep/seed{i:02d}/run.jsonl" for i in range(files)]
        self.metrics = metrics
        self.data = [b"".join(self._line(s) for s in range(lines)) for _ in self.names]
        self.lines = [lines] * files

    def _line(self, step: int) -> bytes:
        return encode(flat_record(self.metrics[step % len(self.metrics)], step=step))

    def grow(self, i: int) -> bytes:
        """Appends a line to run i; returns it."""
        line = self._line(self.lines[i])
        self.data[i] += line
        self.lines[i] += 1
        return line


@dataclass(slots=True)
class Appends:
    """What a round of appending did."""

    uploads: int = 0
    appended_bytes: int = 0
    """New bytes (the objects' growth)."""
    whole_bytes: int = 0
    """Sizes of the objects uploaded (what reading each whole again would cost)."""
    late_s: float = 0.0
    """How far behind its schedule the latest append went (s)."""


def append(
    runs: Runs, put: Callable[[int, bytes, bytes], None], interval: float, seconds: float
) -> Appends:
    """Each run one line longer every ``interval`` s, run i at i/n of it, for ``seconds``."""
    done = Appends()
    n = len(runs.names)
    t0 = time.perf_counter()
    k = 0
    while True:
        for i in range(n):
            due = (k + i / n) * interval
            if due >= seconds:
                return done
            delay = t0 + due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            done.late_s = max(done.late_s, -delay)
            line = runs.grow(i)
            put(i, runs.data[i], line)
            done.uploads += 1
            done.appended_bytes += len(line)
            done.whole_bytes += len(runs.data[i])
        k += 1


# -- watch


class Watch(Watched):
    """A running `value-diag watch --format json`: the last frame of each run, as it comes."""

    def __init__(self, args: Sequence[str], env: dict[str, str], err: IO[bytes]) -> None:
        super().__init__([*args, "--format", "json"], err, env=env)
        self.last: dict[str, dict[str, Any]] = {}
        self.read(self._read)

    def _read(self, stdout: IO[bytes]) -> None:
        for line in iter(stdout.readline, b""):
            frame = json.loads(line)
            self.last[frame["source"]] = frame

    def records(self) -> dict[str, int]:
        return {source: int(f["records"]) for source, f in list(self.last.items())}

    def wait_for(self, expected: dict[str, int], timeout: float) -> None:
        """Until the last frame of each run counts its expected records."""
        deadline = time.monotonic() + timeout
        while self.records() != expected:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                got = self.records()
                behind = sum(got.get(s) != n for s, n in expected.items())
                raise self.failure(f"{behind} of {len(expected)} runs not at their records")
            time.sleep(0.1)


def watching_s3(
    args: Sequence[str], env: dict[str, str]
) -> contextlib.AbstractContextManager[Watch]:
    """A Watch, stopped however the block ends."""
    return watching(lambda err: Watch(args, env, err))


def cpu_pct(pid: int, seconds_since: float, cpu_since: float) -> float:
    return (cpu_seconds(pid) - cpu_since) / (time.perf_counter() - seconds_since) * 100


@dataclass(slots=True)
class Following:
    """The figures of watch following the sweep."""

    idle: Window
    appending: Window
    appends: Appends
    cpu_idle_pct: float
    cpu_appending_pct: float
    rss_mb: float
    caught_up: bool
    """watch's last frames counted every line of every run."""


def follow_remote(
    server: S3Server, runs: Runs, poll: float, interval: float, seconds: float
) -> Following:
    client = server.client()
    for name, data in zip(runs.names, runs.data, strict=True):
        client.put_object(Bucket=BUCKET, Key=name, Body=data)
    expected = {
        f"s3://{BUCKET}/{n}": lines for n, lines in zip(runs.names, runs.lines, strict=True)
    }
    args = [f"s3://{BUCKET}/sweep/", "--poll", f"{poll:g}"]
    with watching_s3(args, client_env(server)) as watch:
        watch.wait_for(expected, 120)
        time.sleep(poll)  # the reads from the top are done
        recorder(server, "reset")
        t0, cpu0 = time.perf_counter(), cpu_seconds(watch.proc.pid)
        time.sleep(seconds)
        idle_cpu = cpu_pct(watch.proc.pid, t0, cpu0)
        idle = count(server, time.perf_counter() - t0)

        def put(i: int, data: bytes, line: bytes) -> None:
            client.put_object(Bucket=BUCKET, Key=runs.names[i], Body=data)

        recorder(server, "reset")
        t0, cpu0 = time.perf_counter(), cpu_seconds(watch.proc.pid)
        appends = append(runs, put, interval, seconds)
        time.sleep(CATCH_UP_S)
        busy_cpu = cpu_pct(watch.proc.pid, t0, cpu0)
        appending = count(server, time.perf_counter() - t0)
        expected = {f"s3://{BUCKET}/{n}": k for n, k in zip(runs.names, runs.lines, strict=True)}
        try:
            watch.wait_for(expected, 10)
            caught_up = True
        except RuntimeError:
            caught_up = False
        rss = peak_rss_kb(watch.proc.pid) / 1024
    return Following(idle, appending, appends, idle_cpu, busy_cpu, rss, caught_up)


def follow_local(runs: Runs, interval: float, seconds: float) -> tuple[float, float, float]:
    """watch's CPU (%, idle and appending) and max RSS (MB) on the runs as local files."""
    with tempfile.TemporaryDirectory(prefix="value-diag-remote-") as tmp:
        root = Path(tmp)
        files = []
        for name, data in zip(runs.names, runs.data, strict=True):
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            files.append(path.open("ab", buffering=0))
        try:
            expected = {str(root / n): k for n, k in zip(runs.names, runs.lines, strict=True)}
            with watching_s3([str(root / "sweep")], os.environ.copy()) as watch:
                watch.wait_for(expected, 60)
                time.sleep(1)
                t0, cpu0 = time.perf_counter(), cpu_seconds(watch.proc.pid)
                time.sleep(seconds)
                idle = cpu_pct(watch.proc.pid, t0, cpu0)

                def put(i: int, data: bytes, line: bytes) -> None:
                    files[i].write(line)

                t0, cpu0 = time.perf_counter(), cpu_seconds(watch.proc.pid)
                append(runs, put, interval, seconds)
                time.sleep(1)
                busy = cpu_pct(watch.proc.pid, t0, cpu0)
                rss = peak_rss_kb(watch.proc.pid) / 1024
        finally:
            for f in files:
                f.close()
    return idle, busy, rss


# -- once


def timed(cmd: Sequence[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds, max RSS (MB, GNU time's) and exit code of one command."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, check=False, env=env
    )
    elapsed = time.perf_counter() - t0
    rss = proc.stderr.decode().strip().splitlines()[-1:]
    return elapsed, int(rss[0]) / 1024 if rss and rss[0].isdigit() else 0.0, proc.returncode


def ensure_log(cache: Path, size: int, label: str) -> Path:
    """The esper-style log of ``size`` bytes in ``cache``, written the first time."""
    path = cache / f"esper-{label}.jsonl"
    if not path.exists() or path.stat().st_size < size:
        cache.mkdir(parents=True, exist_ok=True)
        print(f"writing {path} ...", file=sys.stderr)
        write(path, size, seed=1, mix=Mix())
    subprocess.run(["cat", str(path)], stdout=subprocess.DEVNULL, check=True)  # page cache
    return path


@dataclass(slots=True)
class Command:
    name: str
    cmd: list[str]
    seconds: list[float] = field(default_factory=list)
    rss_mb: float = 0.0
    failed: int = 0

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")


@dataclass(slots=True)
class Once:
    size: int
    commands: list[Command]
    requests: Counter[str]
    """Requests of one `once` on the big object, by kind."""
    body_bytes: int
    same_result: bool
    """The remote and the local `once --format json` agree (but for source and age)."""


def _summary(stdout: bytes) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(stdout)
    return {k: v for k, v in frame.items() if k not in ("source", "age_s", "name")}


def once_big(server: S3Server, log: Path, small: bytes, runs: int) -> Once:
    env = client_env(server)
    client = server.client()
    recorder(server, "stop")  # the log would hold the object's bytes
    try:
        client.upload_file(str(log), BUCKET, "big.jsonl")
        client.put_object(Bucket=BUCKET, Key="small.jsonl", Body=small)
    finally:
        recorder(server, "start")
    remote = [*value_diag(), "once", f"s3://{BUCKET}/big.jsonl", "--format", "json"]
    local = [*value_diag(), "once", str(log), "--format", "json"]
    # The checked runs: the same frame from both; the requests of one remote read.
    recorder(server, "reset")
    remote_run = subprocess.run(remote, capture_output=True, check=False, env=env)
    window = count(server, 1.0)
    local_run = subprocess.run(local, capture_output=True, check=False, env=env)
    for run in (remote_run, local_run):
        if run.returncode != 0:
            raise RuntimeError(f"once failed: {run.stderr.decode(errors='replace')[-2000:]}")
    same = _summary(remote_run.stdout) == _summary(local_run.stdout)
    commands = [
        Command("once s3://…/big.jsonl", remote),
        Command("once, the file on local disk", local),
        Command(
            "curl, the whole object",
            ["curl", "-sSf", "-o", os.devnull, f"{server.endpoint}/{BUCKET}/big.jsonl"],
        ),
        Command("once s3://…/small.jsonl", [*value_diag(), "once", f"s3://{BUCKET}/small.jsonl"]),
    ]
    for _ in range(runs):
        for c in commands:
            seconds, rss, code = timed(c.cmd, env)
            if code == 0:
                c.seconds.append(seconds)
                c.rss_mb = max(c.rss_mb, rss)
            else:
                c.failed += 1
    recorder(server, "reset")
    return Once(
        log.stat().st_size, commands, window.requests, sum(window.body_bytes.values()), same
    )


# -- the report


def kb(n: float) -> str:
    return f"{n / 1000:,.1f}"


def table(
    f: Following, local: tuple[float, float, float], o: Once, files: int, poll: float
) -> list[str]:
    rows: list[tuple[str, str, str, str]] = []

    def row(name: str, value: str, baseline: str = "", what: str = "") -> None:
        rows.append((name, value, baseline, what))

    heads = files * 60 / poll
    lists = 60 / (poll * LIST_EVERY)
    for title, w in (
        (f"watch, {files} idle runs", f.idle),
        (f"watch, {files} runs appended", f.appending),
    ):
        m = w.per_minute
        row(f"{title}, per minute", "")
        row(
            "  HEAD requests",
            f"{m(w.requests['HEAD']):,.0f}",
            f"{heads:,.0f}",
            f"one per run per {poll:g} s poll",
        )
        row(
            "  listings (GET ?list-type=2)",
            f"{m(w.requests['listing']):,.1f}",
            f"{lists:,.1f}",
            f"one per {LIST_EVERY} polls",
        )
        uploads = w.requests["PUT"]
        row(
            "  ranged GETs",
            f"{m(w.requests['ranged GET']):,.0f}",
            f"{m(uploads):,.0f}",
            "one per upload (the bench's PUTs)",
        )
        others = sum(w.requests[k] for k in ("whole GET", "other"))
        row("  other requests", f"{m(others):,.0f}", "0")
        bodies = sum(w.body_bytes.values())
        row("  answers' bodies, KB", kb(m(bodies)))
        if uploads:
            expected = f.appends.appended_bytes + OVERLAP * w.requests["ranged GET"]
            row(
                "    of ranged GETs, KB",
                kb(m(w.body_bytes["ranged GET"])),
                kb(m(expected)),
                f"appended + {OVERLAP} B per ranged GET",
            )
            row("    bytes appended, KB", kb(m(f.appends.appended_bytes)))
            row(
                "    objects re-read whole, KB",
                "",
                kb(m(f.appends.whole_bytes)),
                "a reader without ranges",
            )
        row("    of listings, KB", kb(m(w.body_bytes["listing"])))
        headers = w.request_header_bytes + w.response_header_bytes
        row(
            "  headers sent + received, KB",
            kb(m(w.request_header_bytes)) + " + " + kb(m(w.response_header_bytes)),
        )
        row("  all bytes both ways, KB", kb(m(bodies + headers)), "", "bodies and headers")
    row(
        "watch CPU, % of a core, idle",
        f"{f.cpu_idle_pct:.1f}",
        f"{local[0]:.1f}",
        "the same runs as local files",
    )
    row(
        "watch CPU, % of a core, appended",
        f"{f.cpu_appending_pct:.1f}",
        f"{local[1]:.1f}",
        "the same runs as local files",
    )
    row("watch max RSS, MB", f"{f.rss_mb:.0f}", f"{local[2]:.0f}", "the same runs as local files")
    remote, disk, curl, small = o.commands
    gib = o.size / (1 << 30)
    row(
        f"once on {gib:.2f} GiB, s",
        f"{remote.median_s:.2f}",
        f"{disk.median_s:.2f}",
        "the file on local disk",
    )
    row("  max RSS, MB", f"{remote.rss_mb:.0f}", f"{disk.rss_mb:.0f}", "the file on local disk")
    row(
        "  curl of the whole object, s",
        f"{curl.median_s:.2f}",
        "",
        "what the server takes to send it",
    )
    row(
        "  once on a small object, s / MB",
        f"{small.median_s:.2f} / {small.rss_mb:.0f}",
        "",
        "start-up and the remote libraries",
    )
    width = max(len(r[0]) for r in rows)
    lines = [f"{'figure':{width}} {'measured':>12} {'baseline':>10}  baseline is"]
    for name, value, baseline, what in rows:
        lines.append(f"{name:{width}} {value:>12} {baseline:>10}  {what}".rstrip())
    return lines


def details(f: Following, o: Once, seconds: float, interval: float) -> list[str]:
    a = f.appending
    expected = f.appends.appended_bytes + OVERLAP * a.requests["ranged GET"]
    fetched = a.body_bytes["ranged GET"]
    out = [
        f"following: {f.appends.uploads} uploads in {seconds:g} s (each run every {interval:g} s,"
        f" at most {f.appends.late_s:.2f} s late), counted over {a.seconds:.1f} s with catch-up;"
        f" ranged GETs fetched {fetched:,} B, appended {f.appends.appended_bytes:,} B"
        f" + {OVERLAP} x {a.requests['ranged GET']} overlap = {expected:,} B"
        f" ({fetched - expected:+,} B); watch's last frames counted every line:"
        f" {'yes' if f.caught_up else 'NO'}",
        f"idle: counted over {f.idle.seconds:.1f} s; requests by kind {dict(f.idle.requests)}",
        f"appending: requests by kind {dict(a.requests)}; PUT bodies in the log"
        f" {a.uploaded_bytes:,} B, uploaded {f.appends.whole_bytes:,} B",
    ]
    runs = ", ".join(
        f"{c.name} {c.median_s:.2f} s ({len(c.seconds)} runs, {c.failed} failed)"
        for c in o.commands
    )
    out.append(
        f"once: {o.size:,} B; one remote read: {dict(o.requests)} requests, {o.body_bytes:,} B;"
        f" same result as local: {'yes' if o.same_result else 'NO'}; medians: {runs}"
    )
    return out


def plain(obj: Any) -> Any:
    """Dataclasses and Counters as JSON's dicts (dataclasses.asdict would count a
    Counter's items)."""
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: plain(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [plain(v) for v in obj]
    return obj


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=64, help="runs in the bucket")
    ap.add_argument("--lines", type=int, default=64, help="lines of each run at the start")
    ap.add_argument("--poll", type=float, default=2.0, help="watch's --poll (s)")
    ap.add_argument("--interval", type=float, default=2.0, help="seconds between a run's uploads")
    ap.add_argument("--seconds", type=float, default=45.0, help="idle, then appending (s each)")
    ap.add_argument("--local-seconds", type=float, default=15.0, help="the local baseline's")
    ap.add_argument("--size", default="1G", help="of the big object: 1G, 256M, ...")
    ap.add_argument("--runs", type=int, default=3, help="timed runs of each once command")
    ap.add_argument("--cache", type=Path, default=CACHE, help="where the big log is kept")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, unwind)
    size = parse_size(args.size)
    log = ensure_log(args.cache, size, args.size)
    metrics = [m for m, _ in metric_series(Scenario.HEALTHY, 64, seed=1)]
    with s3_server() as server:
        server.client().create_bucket(Bucket=BUCKET)
        following = follow_remote(
            server, Runs(args.files, args.lines, metrics), args.poll, args.interval, args.seconds
        )
        small = Runs(1, args.lines, metrics).data[0]
        once = once_big(server, log, small, args.runs)
    local = follow_local(Runs(args.files, args.lines, metrics), args.interval, args.local_seconds)
    if args.json:
        figures = {"following": following, "local": local, "once": once}
        print(json.dumps(plain(figures), indent=1))
        return
    print("\n".join(table(following, local, once, args.files, args.poll)))
    print()
    print("\n".join(details(following, once, args.seconds, args.interval)))


if __name__ == "__main__":
    main()
