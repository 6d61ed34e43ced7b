//! The scripted server's token views (obtain, refresh, blacklist, sliding, JWKS, register)
//! and the router that mounts them next to the API views.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use axum::{Json, Router};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};

use super::api_views::{echo, forbidden, inactive, redirect_login, steal};
use super::keys::ED_PUBLIC_X;
use super::state::{ServerState, SECRET};

pub(super) fn router(state: Arc<ServerState>) -> Router {
    Router::new()
        .route("/api/token/", post(obtain))
        .route("/api/token/refresh/", post(refresh))
        .route("/api/token/blacklist/", post(blacklist))
        .route("/api/logout-no-body/", post(logout_without_a_body))
        .route("/api/token/sliding/", post(obtain_sliding))
        .route("/api/token/sliding/refresh/", post(refresh_sliding))
        .route("/jwks.json", axum::routing::get(jwks))
        .route("/api/register/", post(register))
        .route("/api/echo/", any(echo))
        .route("/api/inactive/", any(inactive))
        .route("/api/forbidden/", any(forbidden))
        .route("/api/token-redirect/", post(redirect_login))
        .route("/api/steal/", any(steal))
        .with_state(state)
}

pub(super) fn reply(
    state: &ServerState,
    method: &str,
    path: &str,
    status: StatusCode,
    body: Value,
) -> Response {
    state.count(method, path, status.as_u16());
    let mut response = (status, Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            "www-authenticate",
            HeaderValue::from_static("Bearer realm=\"api\""),
        );
    }
    response
}

fn parse_body(body: &Bytes) -> Value {
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

async fn obtain(State(s): State<Arc<ServerState>>, body: Bytes) -> Response {
    let path = "/api/token/";
    let body = parse_body(&body);
    let login = body[&s.cfg.login_field].as_str();
    let password = body["password"].as_str();
    let (Some(login), Some(password)) = (login, password) else {
        let mut errors = serde_json::Map::new();
        if login.is_none() {
            errors.insert(
                s.cfg.login_field.clone(),
                json!(["This field is required."]),
            );
        }
        if password.is_none() {
            errors.insert("password".into(), json!(["This field is required."]));
        }
        return reply(
            &s,
            "POST",
            path,
            StatusCode::BAD_REQUEST,
            Value::Object(errors),
        );
    };
    let ok = s
        .users
        .lock()
        .unwrap()
        .get(login)
        .is_some_and(|p| p == password);
    if !ok {
        return reply(
            &s,
            "POST",
            path,
            StatusCode::UNAUTHORIZED,
            json!({"detail": "No active account found with the given credentials"}),
        );
    }
    let access = s.issue("access", s.cfg.access_lifetime);
    let refresh = s.issue("refresh", s.cfg.refresh_lifetime);
    reply(
        &s,
        "POST",
        path,
        StatusCode::OK,
        json!({ s.cfg.refresh_field.clone(): refresh, s.cfg.access_field.clone(): access }),
    )
}

async fn jwks(State(s): State<Arc<ServerState>>) -> Response {
    if s.fail_jwks
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return reply(
            &s,
            "GET",
            "/jwks.json",
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"detail": "down"}),
        );
    }
    reply(
        &s,
        "GET",
        "/jwks.json",
        StatusCode::OK,
        json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "k1", "alg": "EdDSA", "x": ED_PUBLIC_X}]}),
    )
}

async fn obtain_sliding(State(s): State<Arc<ServerState>>, body: Bytes) -> Response {
    let path = "/api/token/sliding/";
    let body = parse_body(&body);
    let ok = match (body[&s.cfg.login_field].as_str(), body["password"].as_str()) {
        (Some(login), Some(password)) => s
            .users
            .lock()
            .unwrap()
            .get(login)
            .is_some_and(|p| p == password),
        _ => false,
    };
    if !ok {
        return reply(
            &s,
            "POST",
            path,
            StatusCode::UNAUTHORIZED,
            json!({"detail": "No active account found with the given credentials"}),
        );
    }
    reply(
        &s,
        "POST",
        path,
        StatusCode::OK,
        json!({"token": s.issue("sliding", s.cfg.access_lifetime)}),
    )
}

/// simplejwt's TokenRefreshSlidingView: the token may be expired, but not past `refresh_exp`.
async fn refresh_sliding(State(s): State<Arc<ServerState>>, body: Bytes) -> Response {
    let path = "/api/token/sliding/refresh/";
    let body = parse_body(&body);
    let Some(token) = body["token"].as_str() else {
        return reply(
            &s,
            "POST",
            path,
            StatusCode::BAD_REQUEST,
            json!({"token": ["This field is required."]}),
        );
    };
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_exp = false;
    validation.required_spec_claims = HashSet::new();
    let Ok(data) =
        jsonwebtoken::decode::<Value>(token, &DecodingKey::from_secret(SECRET), &validation)
    else {
        return reply(
            &s,
            "POST",
            path,
            StatusCode::UNAUTHORIZED,
            json!({"detail": "Token is invalid", "code": "token_not_valid"}),
        );
    };
    let mut claims = data.claims;
    let now = s.now();
    if claims["refresh_exp"].as_i64().unwrap_or(0) <= now {
        return reply(
            &s,
            "POST",
            path,
            StatusCode::UNAUTHORIZED,
            json!({"detail": "Token 'refresh_exp' claim has expired", "code": "token_not_valid"}),
        );
    }
    claims["exp"] = json!(now + s.cfg.access_lifetime);
    claims["iat"] = json!(now);
    reply(
        &s,
        "POST",
        path,
        StatusCode::OK,
        json!({"token": s.sign(claims)}),
    )
}

async fn refresh(State(s): State<Arc<ServerState>>, body: Bytes) -> Response {
    let path = "/api/token/refresh/";
    s.refresh_started.fetch_add(1, Ordering::SeqCst);
    let delay = s.refresh_delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let failure = s.fail_refresh.lock().unwrap().pop_front();
    if let Some((status, retry_after)) = failure {
        let status = StatusCode::from_u16(status).unwrap();
        let mut response = reply(
            &s,
            "POST",
            path,
            status,
            json!({"detail": "Service unavailable"}),
        );
        if let Some(ra) = retry_after {
            response
                .headers_mut()
                .insert("retry-after", HeaderValue::from_str(&ra).unwrap());
        }
        return response;
    }
    let body = parse_body(&body);
    let Some(token) = body[&s.cfg.refresh_request_field].as_str() else {
        return reply(
            &s,
            "POST",
            path,
            StatusCode::BAD_REQUEST,
            json!({ s.cfg.refresh_request_field.clone(): ["This field is required."] }),
        );
    };
    s.refresh_tokens_received
        .lock()
        .unwrap()
        .push(token.to_owned());
    let claims = match s.check(token, "refresh") {
        Ok(c) => c,
        Err(message) => {
            return reply(
                &s,
                "POST",
                path,
                StatusCode::UNAUTHORIZED,
                json!({"detail": message, "code": "token_not_valid"}),
            );
        }
    };
    let jti = claims["jti"].as_str().unwrap_or_default().to_owned();
    if s.blacklisted.lock().unwrap().contains(&jti) {
        return reply(
            &s,
            "POST",
            path,
            StatusCode::UNAUTHORIZED,
            json!({"detail": "Token is blacklisted", "code": "token_not_valid"}),
        );
    }
    let mut out = serde_json::Map::new();
    out.insert(
        s.cfg.access_field.clone(),
        json!(s.issue("access", s.cfg.access_lifetime)),
    );
    if s.cfg.rotate {
        if s.cfg.blacklist_after_rotation {
            s.blacklisted.lock().unwrap().insert(jti);
        }
        out.insert(
            s.cfg.refresh_field.clone(),
            json!(s.issue("refresh", s.cfg.refresh_lifetime)),
        );
    }
    reply(&s, "POST", path, StatusCode::OK, Value::Object(out))
}

async fn blacklist(State(s): State<Arc<ServerState>>, body: Bytes) -> Response {
    let path = "/api/token/blacklist/";
    let body = parse_body(&body);
    let Some(token) = body[&s.cfg.refresh_request_field].as_str() else {
        return reply(
            &s,
            "POST",
            path,
            StatusCode::BAD_REQUEST,
            json!({"refresh": ["This field is required."]}),
        );
    };
    match s.check(token, "refresh") {
        Ok(claims) => {
            s.blacklisted
                .lock()
                .unwrap()
                .insert(claims["jti"].as_str().unwrap_or_default().to_owned());
            reply(&s, "POST", path, StatusCode::OK, json!({}))
        }
        Err(message) => reply(
            &s,
            "POST",
            path,
            StatusCode::UNAUTHORIZED,
            json!({"detail": message, "code": "token_not_valid"}),
        ),
    }
}

/// A custom logout view as tutorials write it: 205 and no body, whatever it did.
async fn logout_without_a_body(State(s): State<Arc<ServerState>>) -> Response {
    s.count("POST", "/api/logout-no-body/", 205);
    StatusCode::RESET_CONTENT.into_response()
}

async fn register(State(s): State<Arc<ServerState>>, body: Bytes) -> Response {
    let path = "/api/register/";
    let body = parse_body(&body);
    let mut errors = serde_json::Map::new();
    let email = body["email"].as_str().unwrap_or_default().to_owned();
    let password = body["password"].as_str().unwrap_or_default().to_owned();
    if !email.contains('@') {
        errors.insert("email".into(), json!(["Enter a valid email address."]));
    }
    if password.len() < 8 {
        errors.insert(
            "password".into(),
            json!(["This password is too short. It must contain at least 8 characters."]),
        );
    }
    if body["name"].as_str().unwrap_or_default().is_empty() {
        errors.insert("name".into(), json!(["This field may not be blank."]));
    }
    if !errors.is_empty() {
        return reply(
            &s,
            "POST",
            path,
            StatusCode::BAD_REQUEST,
            Value::Object(errors),
        );
    }
    s.users.lock().unwrap().insert(email.clone(), password);
    reply(
        &s,
        "POST",
        path,
        StatusCode::CREATED,
        json!({"id": 2, "email": email}),
    )
}
