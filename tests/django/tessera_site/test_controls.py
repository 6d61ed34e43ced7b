"""Opt-in fault injection and request counting (TESSERA_TEST_CONTROLS=1 only).

The same interface as the Rust backend's --test-controls, so one client test can run against
both servers:

GET  /_test/counters      -> {"counts": {"POST /api/token/refresh/ 200": 3, ...}}
POST /_test/reset         -> zero counters, clear injected failures and delay, clock back to now
POST /_test/fail-refresh  {"count": N, "status": 503, "retry_after": SECS?}
                          -> the next N POST /api/token/refresh/ answer STATUS without running
POST /_test/delay         {"ms": N}  -> every later non-/_test/ response is delayed by N ms
POST /_test/clock         {"shift_secs": N} -> the clock simplejwt issues and checks tokens
                          with moves N seconds further (cumulative; reset restores it)

Counters key requests as "METHOD path status". /_test/ requests are neither counted nor delayed.
The server runs as one process (waitress, threads), so these module globals are the state.
"""

import json
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import jwt.api_jwt
import rest_framework_simplejwt.tokens
from django.http import HttpResponseNotAllowed, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from rest_framework_simplejwt import utils as simplejwt_utils

REFRESH_PATH = "/api/token/refresh/"

_lock = threading.Lock()
_counts: Counter = Counter()
_fail_refresh = {"count": 0, "status": 503, "retry_after": None}
_delay_ms = 0
_clock_shift_secs = 0


class _ShiftedDatetime(datetime):
    """PyJWT's view of "now" (exp/iat/nbf checks), moved by the test clock shift."""

    @classmethod
    def now(cls, tz=None):
        return datetime.now(tz) + timedelta(seconds=_clock_shift_secs)


def _shifted_utcnow():
    return simplejwt_utils.aware_utcnow() + timedelta(seconds=_clock_shift_secs)


# simplejwt stamps iat/exp from tokens.aware_utcnow; PyJWT validates with api_jwt.datetime.now.
rest_framework_simplejwt.tokens.aware_utcnow = _shifted_utcnow
jwt.api_jwt.datetime = _ShiftedDatetime


class TestControlsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/_test/"):
            return self.get_response(request)
        with _lock:
            delay = _delay_ms
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
        if request.method != "POST" or request.path != REFRESH_PATH:
            return None
        with _lock:
            if _fail_refresh["count"] <= 0:
                return None
            _fail_refresh["count"] -= 1
            status = _fail_refresh["status"]
            retry_after = _fail_refresh["retry_after"]
        response = JsonResponse({"detail": "Injected failure (test control)."}, status=status)
        if retry_after is not None:
            response["Retry-After"] = str(retry_after)
        return response


def _json_body(request):
    if not request.body:
        return {}
    data = json.loads(request.body)
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    return data


def _control(method):
    def decorate(func):
        @csrf_exempt
        def view(request):
            if request.method != method:
                return HttpResponseNotAllowed([method])
            try:
                body = _json_body(request) if method == "POST" else {}
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
    global _delay_ms, _clock_shift_secs
    with _lock:
        _counts.clear()
        _fail_refresh.update(count=0, status=503, retry_after=None)
        _delay_ms = 0
        _clock_shift_secs = 0
    return JsonResponse({})


@_control("POST")
def fail_refresh(body):
    count = int(body.get("count", 1))
    status = int(body.get("status", 503))
    retry_after = body.get("retry_after")
    if count < 0 or not 100 <= status <= 599:
        raise ValueError("count must be >= 0 and status an HTTP status code")
    with _lock:
        _fail_refresh.update(
            count=count,
            status=status,
            retry_after=None if retry_after is None else int(retry_after),
        )
    return JsonResponse({"count": count, "status": status})


@_control("POST")
def delay(body):
    global _delay_ms
    ms = int(body["ms"])
    if ms < 0:
        raise ValueError("ms must be >= 0")
    with _lock:
        _delay_ms = ms
    return JsonResponse({"ms": ms})


@_control("POST")
def clock(body):
    global _clock_shift_secs
    with _lock:
        _clock_shift_secs += int(body["shift_secs"])
        total = _clock_shift_secs
    now = datetime.now(timezone.utc) + timedelta(seconds=total)
    return JsonResponse({"offset_secs": total, "now": int(now.timestamp())})


urlpatterns = [
    path("_test/counters", counters),
    path("_test/reset", reset),
    path("_test/fail-refresh", fail_refresh),
    path("_test/delay", delay),
    path("_test/clock", clock),
]
