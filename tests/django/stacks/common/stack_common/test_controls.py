"""The /_test/ controls for every stack project (TESSERA_TEST_CONTROLS=1 only).

The same interface and counter keys as tests/django/tessera_site/test_controls.py and the Rust
backend, so crates/testkit/src/controls.rs drives them unchanged. It is written without
importing DRF or simplejwt, because the ninja-jwt stack has neither.

GET  /_test/counters      -> {"counts": {"POST /dj-rest-auth/token/refresh/ 200": 3, ...}}
POST /_test/reset         -> zero counters, clear injected failures and delay, clock back to now
POST /_test/fail-refresh  {"count": N, "status": 503, "retry_after": SECS?}: the next N POSTs
                          to settings.TESSERA_REFRESH_PATH answer STATUS without running
POST /_test/delay         {"ms": N}: every later non-/_test/ response is delayed by N ms
POST /_test/clock         {"shift_secs": N}: moves the clock tokens are issued and checked
                          with (cumulative; reset restores it)
"""

import importlib
import json
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import jwt.api_jwt
from django.conf import settings
from django.http import HttpResponseNotAllowed, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

_lock = threading.Lock()
_counts: Counter = Counter()
_fail_refresh = {"count": 0, "status": 503, "retry_after": None}
_state = {"delay_ms": 0, "shift_secs": 0}


class _ShiftedDatetime(datetime):
    """PyJWT's view of "now" (exp/iat/nbf checks), moved by the test clock shift."""

    @classmethod
    def now(cls, tz=None):
        return datetime.now(tz) + timedelta(seconds=_state["shift_secs"])


def _shift_token_clock() -> None:
    """Both simplejwt and ninja_jwt stamp iat/exp with `tokens.aware_utcnow`."""
    if jwt.api_jwt.datetime is _ShiftedDatetime:
        return
    jwt.api_jwt.datetime = _ShiftedDatetime
    for name in ("rest_framework_simplejwt.tokens", "ninja_jwt.tokens"):
        try:
            tokens = importlib.import_module(name)
        except ImportError:
            continue
        original = tokens.aware_utcnow
        tokens.aware_utcnow = lambda original=original: original() + timedelta(
            seconds=_state["shift_secs"]
        )


class TestControlsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        _shift_token_clock()  # only when the controls are on, not on import

    def __call__(self, request):
        if request.path.startswith("/_test/"):
            return self.get_response(request)
        with _lock:
            delay = _state["delay_ms"]
        if delay:
            time.sleep(delay / 1000.0)
        response = self._injected_failure(request)
        if response is None:
            response = self.get_response(request)
        with _lock:
            _counts[f"{request.method} {request.path} {response.status_code}"] += 1
        return response

    @staticmethod
    def _injected_failure(request):
        if request.method != "POST" or request.path != settings.TESSERA_REFRESH_PATH:
            return None
        with _lock:
            if _fail_refresh["count"] <= 0:
                return None
            _fail_refresh["count"] -= 1
            status, retry_after = _fail_refresh["status"], _fail_refresh["retry_after"]
        response = JsonResponse({"detail": "Injected failure (test control)."}, status=status)
        if retry_after is not None:
            response["Retry-After"] = str(retry_after)
        return response


def _control(method):
    def decorate(func):
        @csrf_exempt
        def view(request):
            if request.method != method:
                return HttpResponseNotAllowed([method])
            try:
                body = json.loads(request.body) if method == "POST" and request.body else {}
                if not isinstance(body, dict):
                    raise ValueError("expected a JSON object")
                return func(body)
            except (ValueError, TypeError, KeyError) as exc:
                return JsonResponse({"detail": f"bad test-control request: {exc}"}, status=400)

        return view

    return decorate


@_control("GET")
def counters(_body):
    with _lock:
        return JsonResponse({"counts": dict(sorted(_counts.items()))})


@_control("POST")
def reset(_body):
    with _lock:
        _counts.clear()
        _fail_refresh.update(count=0, status=503, retry_after=None)
        _state.update(delay_ms=0, shift_secs=0)
    return JsonResponse({})


@_control("POST")
def fail_refresh(body):
    count, status = int(body.get("count", 1)), int(body.get("status", 503))
    retry_after = body.get("retry_after")
    if count < 0 or not 100 <= status <= 599:
        raise ValueError("count must be >= 0 and status an HTTP status code")
    with _lock:
        _fail_refresh.update(
            count=count, status=status, retry_after=None if retry_after is None else int(retry_after)
        )
    return JsonResponse({"count": count, "status": status})


@_control("POST")
def delay(body):
    ms = int(body["ms"])
    if ms < 0:
        raise ValueError("ms must be >= 0")
    with _lock:
        _state["delay_ms"] = ms
    return JsonResponse({"ms": ms})


@_control("POST")
def clock(body):
    with _lock:
        _state["shift_secs"] += int(body["shift_secs"])
        total = _state["shift_secs"]
    now = datetime.now(timezone.utc) + timedelta(seconds=total)
    return JsonResponse({"offset_secs": total, "now": int(now.timestamp())})


urlpatterns = [
    path("_test/counters", counters),
    path("_test/reset", reset),
    path("_test/fail-refresh", fail_refresh),
    path("_test/delay", delay),
    path("_test/clock", clock),
]


def mounted() -> list:
    """The control routes when TESSERA_TEST_CONTROLS=1, else none."""
    return urlpatterns if settings.TEST_CONTROLS else []
