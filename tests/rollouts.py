"""Producer-side updates the writer tests log: one every rule calls ok, one gone NaN."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from value_diag.producer.metrics import RolloutMetrics, compute_value_metrics


def healthy() -> RolloutMetrics:
    """An update every rule calls ok."""
    rng = np.random.default_rng(0)
    returns = np.linspace(0.0, 10.0, 256)
    values = returns + rng.normal(0.0, 0.5, 256)
    return compute_value_metrics(values, returns, rng.normal(0.0, 0.3, 256))


def nan_update() -> RolloutMetrics:
    """The update of a run that has gone NaN: critical at once."""
    return dataclasses.replace(healthy(), v_return_correlation=math.nan, bellman_error=math.nan)
