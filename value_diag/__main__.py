"""`python -m value_diag`."""

from __future__ import annotations

import sys

from value_diag.cli import main

sys.exit(main())
