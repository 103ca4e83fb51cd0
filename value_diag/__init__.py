"""value-diag: a terminal monitor of value-function health for reinforcement-learning runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from value_diag.producer.metrics import CriticChange, ValueBound, compute_value_metrics
    from value_diag.producer.writer import TelemetryWriter

__version__ = "0.1.0"

__all__ = [
    "CriticChange",
    "TelemetryWriter",
    "ValueBound",
    "__version__",
    "compute_value_metrics",
]

# The producer API is imported on first use: `value-diag once` imports this package and
# must not pay for modules only a training loop needs.
_LAZY = {
    "compute_value_metrics": "value_diag.producer.metrics",
    "ValueBound": "value_diag.producer.metrics",
    "CriticChange": "value_diag.producer.metrics",
    "TelemetryWriter": "value_diag.producer.writer",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'value_diag' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
