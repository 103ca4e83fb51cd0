"""Write an esper-style telemetry log of any size (see tests/esperlog.py).

python bench/esper_log.py OUT.jsonl --size 1G [--seed 1] [--bad-every 0] [--long-line 0]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# The generator is the tests' (one copy); appended: nothing there shadows.
sys.path.append(str(Path(__file__).resolve().parent.parent / "tests"))

from esperlog import Mix, generate, write

__all__ = ["Mix", "generate", "main", "parse_size", "write"]


def parse_size(text: str) -> int:
    """'1G', '300M', '64K' or a byte count."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = text.strip().upper()
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def main() -> None:
    ap = argparse.ArgumentParser(description="Write an esper-style telemetry log.")
    ap.add_argument("out", type=Path)
    ap.add_argument("--size", default="64M", help="approximate size: 1G, 300M, 64K")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--bad-every", type=int, default=0)
    ap.add_argument("--names-in-strings", action="store_true")
    ap.add_argument("--restart-at-end", action="store_true")
    ap.add_argument("--long-line", default="0", help="size of one huge foreign line")
    args = ap.parse_args()
    mix = Mix(
        args.bad_every, args.names_in_strings, args.restart_at_end, parse_size(args.long_line)
    )
    write(args.out, parse_size(args.size), args.seed, mix)


if __name__ == "__main__":
    main()
