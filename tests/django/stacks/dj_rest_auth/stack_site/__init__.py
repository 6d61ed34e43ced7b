"""The test project package; see settings.py. Puts the shared stack_common package on sys.path."""

import sys
from pathlib import Path

_COMMON = str(Path(__file__).resolve().parents[2] / "common")
if _COMMON not in sys.path:
    sys.path.insert(0, _COMMON)
