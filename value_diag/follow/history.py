"""A followed run's long history, for the charts of its detail in the live view.

watch keeps a few updates of each run (what the gate and the trend need), so that its
memory does not grow with the sweep. The charts need more: when a run's detail is open,
its file is read again as `once --chart` reads it (options.CHART_UPDATES updates kept),
and read again when the run has new updates, at most once every REFRESH_S. Only the runs
on screen are read: the opened one, and with every run on its charts, MAX_OVERLAY of them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from value_diag.commands.framing import runs_of
from value_diag.errors import ReadError
from value_diag.follow.follower import Followed
from value_diag.frame import Frame
from value_diag.ingest.files import STDIN
from value_diag.ingest.fold import FileState
from value_diag.ingest.urls import is_url
from value_diag.options import CHART_UPDATES

if TYPE_CHECKING:
    from value_diag.render.series import Series

REFRESH_S: Final = 2.0
"""Least time between two reads of one run's history while it gets new updates (s)."""


@dataclass(frozen=True, slots=True)
class _Read:
    updates: int
    """The run's updates when it was read (its live frame's)."""
    at: float
    series: Series


class Histories:
    """Each run's series, by its source, read again from the file it is followed in.

    A run read from stdin cannot be read again: its charts hold what watch kept. A file
    that cannot be read again keeps the series read last (or what watch kept).
    """

    def __init__(
        self,
        sources: Callable[[], list[Followed]],
        ticks: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sources = sources
        self._ticks = ticks
        self._read: dict[str, _Read] = {}

    def __call__(self, frame: Frame) -> Series:
        """The series of ``frame``'s run, up to date within REFRESH_S."""
        last = self._read.get(frame.source)
        now = self._ticks()
        updates = frame.state.updates
        if last is not None and (last.updates == updates or now - last.at < REFRESH_S):
            return last.series
        from value_diag.render.series import series_of  # the chart code: once a run opens

        whole = self._whole(frame)
        series = series_of(whole if whole is not None else frame)
        self._read[frame.source] = _Read(updates, now, series)
        return series

    def _whole(self, frame: Frame) -> Frame | None:
        """The run as its file holds it now, read with CHART_UPDATES updates kept."""
        for s in self._sources():
            if s.path == STDIN or not s.ready:
                continue
            if not any(source == frame.source for source, _, _ in runs_of(s.file, s.path, s.name)):
                continue
            try:
                file = _read(s.path)
            except ReadError:
                return None
            for source, short, state in runs_of(file, s.path, s.name):
                if source == frame.source:
                    return Frame(
                        source, state, frame.note, frame.thresholds, frame.at, short, frame.limits
                    )
        return None


def _read(path: str) -> FileState:
    if is_url(path):
        from value_diag.ingest.remote import read_remote

        return read_remote(path, recent=CHART_UPDATES)
    from value_diag.ingest.foreign.reading import read_local

    return read_local(path, recent=CHART_UPDATES)
