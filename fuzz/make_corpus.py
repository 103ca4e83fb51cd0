"""Writes the fuzzing seed corpus (fuzz/corpus/) and dictionary (fuzz/lines.dict).

The seeds are lines of sample_logs/*.jsonl, alone and in small groups, and a few damaged
copies of them (cut short, a string where a number belongs, bare NaN, a BOM, CRLF), each
behind the harness's four control bytes. Deterministic: the same files every time.

    python fuzz/make_corpus.py [--out fuzz/corpus]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from pathlib import Path

from value_diag.ingest.parse import KNOWN_NAMES

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_logs"
NAMES = (*KNOWN_NAMES, "event_type", "data")
TOKENS = ("NaN", "Infinity", "-Infinity", "1e999", "-0.0", "null", "true", "false", "\\ud800")


def seeds() -> list[bytes]:
    """Streams of sample lines: each file's first, a foreign, a value and its last line."""
    out: list[bytes] = []
    for path in sorted(SAMPLES.glob("*.jsonl")):
        lines = path.read_bytes().splitlines(keepends=True)
        values = [x for x in lines if b'"bellman_error"' in x]
        foreign = [x for x in lines if b'"EPOCH_COMPLETED"' in x] or lines[1:2]
        out += [lines[0], values[0], lines[-1], lines[0] + foreign[0] + values[-1]]
        out.append(b"".join(lines[:3]).rstrip(b"\n"))  # a last line without its newline
        line = values[-1].rstrip(b"\n")
        out.append(line[: len(line) // 2] + b"\n" + lines[0])  # a line cut short
    flat = (SAMPLES / "flat.jsonl").read_bytes().splitlines()[1]
    record = json.loads(flat)
    out.append(flat.replace(b"0.", b'NaN, "x": 0.', 1) + b"\n")
    out.append(json.dumps({**record, "bellman_error": "high"}).encode() + b"\n")
    out.append(b"\xef\xbb\xbf" + flat + b"\r\n" + flat + b"\r\n")
    out.append(b'{"tamiyo": [1, 2]}\n["compile_enabled", true]\n')
    out.append(b'{"event_type": "PPO_UPDATE_COMPLETED", "data": {"td_error_mean": -Infinity}}\n')
    out.append(b'{"event_type": "TRAINING_STARTED"}\n{"return_p90": 1' + b"0" * 400 + b"}\n")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "fuzz" / "corpus")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(5)
    for stream in seeds():
        head = bytes(rng.randrange(256) for _ in range(4))
        data = head + stream
        (args.out / hashlib.sha1(data).hexdigest()).write_bytes(data)
    entries = [f'"\\"{name}\\""' for name in NAMES] + [json.dumps(t) for t in TOKENS]
    (ROOT / "fuzz" / "lines.dict").write_text("\n".join(entries) + "\n")
    print(f"{len(list(args.out.iterdir()))} seeds in {args.out}")


if __name__ == "__main__":
    main()
