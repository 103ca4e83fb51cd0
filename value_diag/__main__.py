"""`python -m value_diag`."""

from __future__ import annotations

import sys

from value_diag.launch import run

sys.exit(run())
