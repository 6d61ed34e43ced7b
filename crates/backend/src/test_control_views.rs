//! The HTTP side of the opt-in test controls (`--test-controls`; never on by default): client
//! test suites use them to provoke faults deterministically and to count what the client
//! really sent. What they remember is [`crate::test_controls::TestControls`]. The Django
//! test project (tests/django) offers the same endpoints with the same bodies.
//!
//! | endpoint | body | effect |
//! |---|---|---|
//! | `GET /_test/counters` | | `{"counts": {"POST /api/token/refresh/ 200": 3, ...}}` |
//! | `POST /_test/reset` | | zero counters, clear injected failures and delay, clock back to real time |
//! | `POST /_test/fail-refresh` | `{"count": N, "status": 503, "retry_after": SECS?}` | the next N `POST /api/token/refresh/` answer STATUS (with `Retry-After` if given) without being processed |
//! | `POST /_test/delay` | `{"ms": N}` | every later response (except `/_test/`) is delayed N ms |
//! | `POST /_test/clock` | `{"shift_secs": N}` | the server clock moves N seconds (cumulative; negative goes back); answers `{"offset_secs", "now"}` |
//!
//! Counters key requests as `"METHOD path status"` (path without query). `/_test/` requests
//! are neither counted nor delayed.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::input::RequestData;
use crate::state::AppRef;
use crate::test_controls::{FailurePlan, TestControls};

const PREFIX: &str = "/_test/";

/// Delay, injected failures and counting around every non-`/_test/` request.
pub async fn middleware(State(app): State<AppRef>, request: Request, next: Next) -> Response {
    let Some(controls) = app.controls.as_ref() else {
        return next.run(request).await;
    };
    let path = request.uri().path().to_owned();
    if path.starts_with(PREFIX) {
        return next.run(request).await;
    }
    let method = request.method().clone();
    let delay = controls.delay_ms();
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let response = match controls.take_failure(&method, &path) {
        Some(plan) => injected(plan),
        None => next.run(request).await,
    };
    controls.count(&method, &path, response.status());
    response
}

fn injected(plan: FailurePlan) -> Response {
    let mut response = (
        plan.status,
        Json(json!({"detail": "Injected failure (test control)."})),
    )
        .into_response();
    if let Some(secs) = plan.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// The `/_test/` routes (mounted only when controls are enabled).
pub fn routes() -> Router<AppRef> {
    Router::new()
        .route("/_test/counters", get(counters))
        .route("/_test/reset", post(reset))
        .route("/_test/fail-refresh", post(fail_refresh))
        .route("/_test/delay", post(delay))
        .route("/_test/clock", post(clock))
}

type ControlResult = Result<Json<Value>, (StatusCode, Json<Value>)>;

fn bad_request(message: impl std::fmt::Display) -> (StatusCode, Json<Value>) {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"detail": format!("bad test-control request: {message}")})),
    )
}

fn controls(app: &AppRef) -> Result<&TestControls, (StatusCode, Json<Value>)> {
    app.controls
        .as_ref()
        .ok_or_else(|| bad_request("test controls are disabled"))
}

fn body(data: Result<RequestData, ApiError>) -> Result<Value, (StatusCode, Json<Value>)> {
    match data {
        Ok(RequestData(value @ Value::Object(_))) => Ok(value),
        Ok(_) => Err(bad_request("expected a JSON object")),
        Err(err) => Err(bad_request(err)),
    }
}

fn integer(
    body: &Value,
    name: &str,
    default: Option<i64>,
) -> Result<i64, (StatusCode, Json<Value>)> {
    match body.get(name) {
        None | Some(Value::Null) => {
            default.ok_or_else(|| bad_request(format!("{name} is required")))
        }
        Some(value) => value
            .as_i64()
            .ok_or_else(|| bad_request(format!("{name} must be an integer"))),
    }
}

async fn counters(State(app): State<AppRef>) -> ControlResult {
    Ok(Json(json!({ "counts": controls(&app)?.counts() })))
}

async fn reset(State(app): State<AppRef>) -> ControlResult {
    controls(&app)?.reset();
    app.clock.reset();
    Ok(Json(json!({})))
}

async fn fail_refresh(
    State(app): State<AppRef>,
    data: Result<RequestData, ApiError>,
) -> ControlResult {
    let body = body(data)?;
    let count = integer(&body, "count", Some(1))?;
    let status = integer(&body, "status", Some(503))?;
    let retry_after = match body.get("retry_after") {
        None | Some(Value::Null) => None,
        Some(value) => Some(
            value
                .as_u64()
                .ok_or_else(|| bad_request("retry_after must be a non-negative integer"))?,
        ),
    };
    let remaining = u64::try_from(count).map_err(|_| bad_request("count must be >= 0"))?;
    let status = u16::try_from(status)
        .ok()
        .and_then(|code| StatusCode::from_u16(code).ok())
        .filter(|code| (100..=599).contains(&code.as_u16()))
        .ok_or_else(|| bad_request("status must be an HTTP status code"))?;
    controls(&app)?.plan_failures(FailurePlan {
        remaining,
        status,
        retry_after,
    });
    Ok(Json(json!({"count": remaining, "status": status.as_u16()})))
}

async fn delay(State(app): State<AppRef>, data: Result<RequestData, ApiError>) -> ControlResult {
    let body = body(data)?;
    let ms = integer(&body, "ms", None)?;
    let ms = u64::try_from(ms).map_err(|_| bad_request("ms must be >= 0"))?;
    controls(&app)?.set_delay_ms(ms);
    Ok(Json(json!({ "ms": ms })))
}

async fn clock(State(app): State<AppRef>, data: Result<RequestData, ApiError>) -> ControlResult {
    controls(&app)?;
    let body = body(data)?;
    let shift = integer(&body, "shift_secs", None)?;
    let total = app.clock.shift(shift);
    Ok(Json(
        json!({"offset_secs": total, "now": app.clock.now_secs()}),
    ))
}
