//! The request block every engine test repeats: send, expect an answer (or an error), and the
//! password wrapper for sign-ins.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use tessera_session::{ApiRequest, ApiResponse, Error, Password, Session};

/// `GET path`; the request must get an answer (of any status).
pub async fn get(session: &Session, path: &str) -> ApiResponse {
    session
        .request(ApiRequest::get(path))
        .await
        .unwrap_or_else(|err| panic!("GET {path}: {err}"))
}

/// The status of `GET path`, which must get an answer.
pub async fn get_status(session: &Session, path: &str) -> u16 {
    get(session, path).await.status
}

/// `GET path`, which must fail; the error.
pub async fn get_err(session: &Session, path: &str) -> Error {
    match session.request(ApiRequest::get(path)).await {
        Ok(response) => panic!("GET {path} answered {} instead of failing", response.status),
        Err(err) => err,
    }
}

pub fn pw(password: &str) -> Password {
    Password::new(password.to_owned())
}

/// The scripted server's authenticated echo (any method).
pub const ECHO: &str = "/api/echo/";

/// The reference backend's authenticated `GET` endpoint.
pub const HELLO: &str = "/api/hello/";
