"""Opt-in fault injection and request counting (TESSERA_TEST_CONTROLS=1 only).

The implementation is the one every real-package stack uses
(tests/django/stacks/common/stack_common/test_controls.py: counters, reset, injected refresh
failures on settings.TESSERA_REFRESH_PATH, delay, clock shift), with the Rust backend's
interface, so one client test drives all of them.
"""

import sys
from pathlib import Path

_COMMON = str(Path(__file__).resolve().parents[1] / "stacks" / "common")
if _COMMON not in sys.path:
    sys.path.insert(0, _COMMON)

from stack_common.test_controls import TestControlsMiddleware, urlpatterns  # noqa: E402

__all__ = ["TestControlsMiddleware", "urlpatterns"]
