"""The terminal chart libraries tried, on the same chart: how each looks, its start-up cost.

    pip install plotext==6.1.0 uniplot==0.23.2   # beside value-diag, in a scratch venv
    python bench/chart_libraries.py

Prints each library's rendering of one V-Corr history (falling through the warning line
at 0.5, with a gap and a NaN) at 60x14 cells, then per library the median of five fresh
processes of "import and draw" (milliseconds) beside a bare `python -c pass` measured in
the same run, and what it installs. docs/charts.md holds the figures and the choice.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

SERIES = """
import math
xs = list(range(0, 50000, 1000))
ys = [0.9 - 0.6 * max(0, x - 20000) / 30000 + 0.03 * math.sin(x / 3000) for x in xs]
ys[10] = None
ys[40] = float("nan")
"""

DRAW = {
    "value-diag (braille through Rich)": """
from rich.console import Console
from value_diag.render.chart import Change, Threshold, Trace, draw
lines = draw("V-Corr", [Trace("run", xs, ys)],
             [Threshold(0.8, "ok", "above"), Threshold(0.5, "warning", "below"),
              Threshold(0.3, "critical", "below")], [Change(32000, "warning")], 60, 14)
console = Console(no_color=True, width=60)
for line in lines:
    console.print(line)
""",
    "plotext 6.1.0": """
import plotext as p
f = p.figure
f.clear(); f.plot_size(60, 14)
f.draw(f.signal(xs, [y if y is not None else float("nan") for y in ys], marker="braille"))
f.line(0.5, orientation="h"); f.line(0.3, orientation="h")
f.title("V-Corr"); f.label("step")
print(p.uncolorize(str(f.build())) if hasattr(p, "uncolorize") else f.build())
""",
    "uniplot 0.23.2": """
from uniplot import plot_to_string
pts = [(x, y) for x, y in zip(xs, ys) if y is not None and y == y]
out = plot_to_string([y for _, y in pts], [x for x, _ in pts], lines=True, height=10,
                     width=50, title="V-Corr", color=False, y_gridlines=[0.5, 0.3],
                     character_set="braille")
print("\\n".join(out) if isinstance(out, list) else out)
""",
}


def run(code: str) -> tuple[float, str]:
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    took = (time.perf_counter() - t) * 1000
    return took, done.stdout if done.returncode == 0 else done.stderr.strip().splitlines()[-1]


def main() -> None:
    bare = statistics.median(run("pass")[0] for _ in range(5))
    print(f"python -c pass: {bare:.0f} ms (median of 5)\n")
    for name, code in DRAW.items():
        took = []
        out = ""
        for _ in range(5):
            ms, out = run(SERIES + code)
            took.append(ms)
        print(f"== {name}: {statistics.median(took):.0f} ms (median of 5; bare python {bare:.0f})")
        print(out)


if __name__ == "__main__":
    main()
