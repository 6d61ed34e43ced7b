//! The URL map, plus Django's behaviour around it: 405 with DRF's body and `Allow` header for
//! other methods, OPTIONS answered with view metadata, a 301 to the slash-terminated path
//! (Django's APPEND_SLASH), Django's HTML 404 for anything else, and one log line per request
//! (method, path, status; never headers, bodies or tokens).

use std::time::Instant;

use axum::extract::Request;
use axum::http::{header, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::{Json, Router};
use serde_json::json;

use crate::auth::AuthUser;
use crate::demo_views;
use crate::error::ApiError;
use crate::state::AppRef;
use crate::test_control_views;
use crate::token_views;

/// Every API path (all end in a slash, as in the simplejwt docs).
pub const API_PATHS: &[&str] = &[
    "/api/token/",
    "/api/token/refresh/",
    "/api/token/verify/",
    "/api/token/blacklist/",
    "/api/hello/",
    "/api/me/",
    "/api/echo/",
    "/api/register/",
    "/api/jwks/",
];

const POST_ONLY: &str = "POST, OPTIONS";
const GET_ONLY: &str = "GET, HEAD, OPTIONS";

/// The whole application.
pub fn router(app: AppRef) -> Router {
    let mut router = Router::new()
        .route(
            "/api/token/",
            open(post(token_views::obtain), POST_ONLY, "Token Obtain Pair"),
        )
        .route(
            "/api/token/refresh/",
            open(post(token_views::refresh), POST_ONLY, "Token Refresh"),
        )
        .route(
            "/api/token/verify/",
            open(post(token_views::verify), POST_ONLY, "Token Verify"),
        )
        .route(
            "/api/token/blacklist/",
            open(post(token_views::blacklist), POST_ONLY, "Token Blacklist"),
        )
        .route(
            "/api/hello/",
            protected(get(demo_views::hello), GET_ONLY, "Hello"),
        )
        .route("/api/me/", protected(get(demo_views::me), GET_ONLY, "Me"))
        .route(
            "/api/echo/",
            protected(post(demo_views::echo), POST_ONLY, "Echo"),
        )
        .route(
            "/api/register/",
            open(post(demo_views::register), POST_ONLY, "Register"),
        )
        .route("/api/jwks/", open(get(demo_views::jwks), GET_ONLY, "JWKS"));
    if app.controls.is_some() {
        router = router.merge(test_control_views::routes());
    }
    let mut router = router.fallback(not_found);
    if app.controls.is_some() {
        router = router.layer(middleware::from_fn_with_state(
            app.clone(),
            test_control_views::middleware,
        ));
    }
    router
        .layer(middleware::from_fn(log_request))
        .with_state(app)
}

/// An endpoint without authentication: other methods get 405, OPTIONS metadata.
fn open(
    route: MethodRouter<AppRef>,
    allow: &'static str,
    name: &'static str,
) -> MethodRouter<AppRef> {
    route.fallback(move |method: Method| async move { other_method(method, allow, name) })
}

/// An endpoint behind authentication: as DRF, credentials are checked before the method.
fn protected(
    route: MethodRouter<AppRef>,
    allow: &'static str,
    name: &'static str,
) -> MethodRouter<AppRef> {
    route.fallback(move |_auth: AuthUser, method: Method| async move {
        other_method(method, allow, name)
    })
}

fn other_method(method: Method, allow: &'static str, name: &'static str) -> Response {
    if method == Method::OPTIONS {
        let metadata = json!({
            "name": name,
            "description": "",
            "renders": ["application/json"],
            "parses": ["application/json", "application/x-www-form-urlencoded"],
        });
        return ([(header::ALLOW, allow)], Json(metadata)).into_response();
    }
    ApiError::MethodNotAllowed { method, allow }.into_response()
}

/// Django's CommonMiddleware: `/api/hello` → 301 `/api/hello/`; otherwise its HTML 404.
async fn not_found(uri: Uri) -> Response {
    let path = uri.path();
    if !path.ends_with('/') {
        let with_slash = format!("{path}/");
        if API_PATHS.contains(&with_slash.as_str()) {
            let location = match uri.query() {
                Some(query) => format!("{with_slash}?{query}"),
                None => with_slash,
            };
            return (
                StatusCode::MOVED_PERMANENTLY,
                [
                    (header::LOCATION, location),
                    (header::CONTENT_TYPE, "text/html; charset=utf-8".to_owned()),
                ],
            )
                .into_response();
        }
    }
    ApiError::NotFound.into_response()
}

async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    tracing::info!(
        %method,
        path = %path,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}
