//! The scripted server's API views: an authenticated echo (any method), endpoints that always
//! answer `user_inactive` or 403, and a login endpoint that redirects elsewhere.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::routes::reply;
use super::state::ServerState;

fn authenticate(s: &ServerState, headers: &HeaderMap) -> Result<Value, (StatusCode, Value)> {
    let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return Err((
            StatusCode::UNAUTHORIZED,
            json!({"detail": "Authentication credentials were not provided."}),
        ));
    };
    let parts: Vec<&str> = value.split(' ').collect();
    if parts.len() != 2 || parts[0] != s.cfg.header_type {
        return Err((
            StatusCode::UNAUTHORIZED,
            json!({"detail": "Authorization header must contain two space-delimited values", "code": "bad_authorization_header"}),
        ));
    }
    let not_valid = |message: &str| {
        (
            StatusCode::UNAUTHORIZED,
            json!({"detail": "Given token not valid for any token type", "code": "token_not_valid",
                   "messages": [{"token_class": "AccessToken", "token_type": "access", "message": message}]}),
        )
    };
    if s.reject_next_access
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return Err(not_valid("Token is expired"));
    }
    s.check(parts[1], "access").map_err(not_valid)
}

pub(super) async fn echo(State(s): State<Arc<ServerState>>, request: Request) -> Response {
    let path = "/api/echo/";
    let method = request.method().to_string();
    let headers = request.headers().clone();
    let body = axum::body::to_bytes(request.into_body(), 1 << 24)
        .await
        .unwrap_or_default();
    match authenticate(&s, &headers) {
        Ok(claims) => {
            s.echo_bodies.lock().unwrap().push(body.to_vec());
            reply(
                &s,
                &method,
                path,
                StatusCode::OK,
                json!({"method": method, "body": String::from_utf8_lossy(&body), "user_id": claims["user_id"]}),
            )
        }
        Err((status, value)) => reply(&s, &method, path, status, value),
    }
}

pub(super) async fn inactive(State(s): State<Arc<ServerState>>, request: Request) -> Response {
    let method = request.method().to_string();
    reply(
        &s,
        &method,
        "/api/inactive/",
        StatusCode::UNAUTHORIZED,
        json!({"detail": "User is inactive", "code": "user_inactive"}),
    )
}

pub(super) async fn forbidden(State(s): State<Arc<ServerState>>, request: Request) -> Response {
    let method = request.method().to_string();
    reply(
        &s,
        &method,
        "/api/forbidden/",
        StatusCode::FORBIDDEN,
        json!({"detail": "You do not have permission to perform this action."}),
    )
}

pub(super) async fn redirect_login(State(s): State<Arc<ServerState>>) -> Response {
    s.count("POST", "/api/token-redirect/", 307);
    (
        StatusCode::TEMPORARY_REDIRECT,
        [("location", "/api/steal/")],
    )
        .into_response()
}

pub(super) async fn steal(State(s): State<Arc<ServerState>>, request: Request) -> Response {
    let method = request.method().to_string();
    reply(
        &s,
        &method,
        "/api/steal/",
        StatusCode::OK,
        json!({"stolen": true}),
    )
}
