"""Several runs in one table, worst first."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from rich.table import Table
from rich.text import Text

from value_diag.health import Status
from value_diag.render import styles
from value_diag.render.frames import TITLE
from value_diag.render.panel import CRITIC_METRICS, METRICS, cell_names, metric_cells, not_reported
from value_diag.render.sanitize import clean

if TYPE_CHECKING:
    from rich.console import RenderableType

    from value_diag.frame import Frame
    from value_diag.render.frames import Renderer
_STATUS_ORDER: Final = {Status.CRITICAL: 0, Status.WARNING: 1, Status.NO_DATA: 2, Status.OK: 3}
"""Worst first: a dying run, then a worrying one, then one that reports nothing."""


def sort_worst_first(frames: list[Frame]) -> list[Frame]:
    """Frames ordered by status, worst first, then by source."""
    return sorted(frames, key=lambda f: (_STATUS_ORDER[f.health.status], f.source))


def compare(frames: list[Frame], renderer: Renderer) -> Table:
    """One row per run, one column per metric, styled by level, worst run first."""
    table = Table(title=f"{TITLE}: {len(frames)} runs", title_justify="left", box=None)
    table.add_column("run", overflow="fold", min_width=12)
    table.add_column("status", no_wrap=True, min_width=8)
    for label, _spec in METRICS.values():
        table.add_column(label, justify="right", no_wrap=True, min_width=max(len(label), 5))
    table.add_column("compile", no_wrap=True, overflow="ellipsis", min_width=8, max_width=24)
    critic = renderer.critic
    if critic:
        for label, _spec in CRITIC_METRICS.values():
            table.add_column(label, justify="right", no_wrap=True, min_width=max(len(label), 5))
    table.add_column("records", justify="right", no_wrap=True, min_width=7)
    table.add_column("bad", justify="right", no_wrap=True, min_width=3)
    for frame in sort_worst_first(frames):
        h = frame.health
        cells = metric_cells(frame, renderer.ascii_only)
        row: list[RenderableType] = [
            Text(clean(frame.source, renderer.ascii_only)),
            Text(h.status.value, styles.status_style(h.status)),
        ]
        if cells:
            cols = zip(cells, cell_names(frame), strict=True)
            row += [Text(v, styles.style_of(h, name)) for (_, v, _), name in cols]
        else:
            dash = not_reported(renderer.ascii_only)
            columns = len(METRICS) + 1 + (len(CRITIC_METRICS) if critic else 0)
            row += [Text(dash, styles.NOT_REPORTED) for _ in range(columns)]
        st = frame.state
        row += [str(st.records), Text(str(st.bad_lines), "yellow" if st.bad_lines else "")]
        table.add_row(*row)
    return table
