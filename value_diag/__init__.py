"""value-diag: a terminal monitor of value-function health for reinforcement-learning runs."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
