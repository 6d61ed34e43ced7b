//! Every error answer of the API, rendered the way DRF + simplejwt 5.5 render it (status,
//! body, `WWW-Authenticate: Bearer realm="api"` on every 401), why a token was refused
//! ([`TokenError`], the message of a 401), and the start-up errors. Depends on no other module
//! of the crate, so that every module can report through it.

use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

/// The `WWW-Authenticate` value simplejwt sends with 401s.
pub const WWW_AUTHENTICATE: &str = r#"Bearer realm="api""#;

/// DRF's `{field: [messages]}` validation errors, in field order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(Vec<(String, Vec<String>)>);

impl FieldErrors {
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        let message = message.into();
        match self.0.iter_mut().find(|(name, _)| name == field) {
            Some((_, messages)) => messages.push(message),
            None => self.0.push((field.to_owned(), vec![message])),
        }
    }

    /// One error not tied to a field (DRF's `non_field_errors`).
    pub fn non_field(message: impl Into<String>) -> Self {
        let mut errors = Self::default();
        errors.add("non_field_errors", message);
        errors
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Ok when there is nothing to report.
    pub fn into_result(self) -> Result<(), ApiError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self))
        }
    }

    pub fn to_json(&self) -> Value {
        let map: Map<String, Value> = self
            .0
            .iter()
            .map(|(field, messages)| (field.clone(), json!(messages)))
            .collect();
        Value::Object(map)
    }
}

/// Why a token was refused; `Display` is simplejwt's English message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("Token is expired")]
    Expired,
    #[error("Token is invalid")]
    Invalid,
    #[error("Token has wrong type")]
    WrongType,
    #[error("Token has no type")]
    NoType,
    #[error("Token has no id")]
    NoId,
    #[error("Token has no 'exp' claim")]
    NoExp,
    #[error("Token is blacklisted")]
    Blacklisted,
}

/// An error answer. The variant decides status and body; see [`ApiError::status`].
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400, DRF field errors.
    #[error("invalid request fields")]
    Validation(FieldErrors),
    /// 401 from the obtain endpoint (bad password, unknown or inactive user).
    #[error("no active account found with the given credentials")]
    BadCredentials,
    /// 401 from the refresh endpoint when the token's user is inactive or gone.
    #[error("no active account found for the given token")]
    NoActiveAccountForToken,
    /// 401 from the token endpoints: `{"detail": <message>, "code": "token_not_valid"}`.
    #[error("token refused: {0}")]
    Token(TokenError),
    /// 401 from protected endpoints: simplejwt's "Given token not valid for any token type".
    #[error("access token refused: {0}")]
    AccessToken(TokenError),
    /// 401: a valid token without a `user_id` claim.
    #[error("token contains no user identification")]
    NoUserIdentification,
    /// 401: no (usable) Authorization header.
    #[error("authentication credentials were not provided")]
    NotAuthenticated,
    /// 401: `Bearer` with no token, or more than two parts.
    #[error("malformed Authorization header")]
    BadAuthorizationHeader,
    #[error("user not found")]
    UserNotFound,
    #[error("user inactive")]
    UserInactive,
    /// 400: the body is not valid JSON.
    #[error("JSON parse error - {0}")]
    JsonParse(String),
    /// 415: a Content-Type no parser accepts.
    #[error("unsupported media type {0:?}")]
    UnsupportedMediaType(String),
    /// 413: the body is too large to read.
    #[error("request body too large")]
    PayloadTooLarge,
    /// 405 with the methods the endpoint allows.
    #[error("method {method} not allowed")]
    MethodNotAllowed { method: Method, allow: &'static str },
    /// 404, Django's plain HTML page.
    #[error("not found")]
    NotFound,
    /// 500. The text is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Validation(_) | Self::JsonParse(_) => StatusCode::BAD_REQUEST,
            Self::BadCredentials
            | Self::NoActiveAccountForToken
            | Self::Token(_)
            | Self::AccessToken(_)
            | Self::NoUserIdentification
            | Self::NotAuthenticated
            | Self::BadAuthorizationHeader
            | Self::UserNotFound
            | Self::UserInactive => StatusCode::UNAUTHORIZED,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The JSON body (None for the HTML 404).
    pub fn body(&self) -> Option<Value> {
        let detail_code = |detail: &str, code: &str| json!({"detail": detail, "code": code});
        Some(match self {
            Self::Validation(errors) => errors.to_json(),
            Self::BadCredentials => {
                json!({"detail": "No active account found with the given credentials"})
            }
            Self::NoActiveAccountForToken => {
                json!({"detail": "No active account found for the given token."})
            }
            Self::Token(err) => detail_code(&err.to_string(), "token_not_valid"),
            Self::AccessToken(err) => json!({
                "detail": "Given token not valid for any token type",
                "code": "token_not_valid",
                "messages": [{
                    "token_class": "AccessToken",
                    "token_type": "access",
                    "message": err.to_string(),
                }],
            }),
            Self::NoUserIdentification => detail_code(
                "Token contained no recognizable user identification",
                "token_not_valid",
            ),
            Self::NotAuthenticated => {
                json!({"detail": "Authentication credentials were not provided."})
            }
            Self::BadAuthorizationHeader => detail_code(
                "Authorization header must contain two space-delimited values",
                "bad_authorization_header",
            ),
            Self::UserNotFound => detail_code("User not found", "user_not_found"),
            Self::UserInactive => detail_code("User is inactive", "user_inactive"),
            Self::JsonParse(message) => json!({"detail": format!("JSON parse error - {message}")}),
            Self::UnsupportedMediaType(media_type) => {
                json!({"detail": format!("Unsupported media type \"{media_type}\" in request.")})
            }
            Self::PayloadTooLarge => json!({"detail": "Request body too large."}),
            Self::MethodNotAllowed { method, .. } => {
                json!({"detail": format!("Method \"{method}\" not allowed.")})
            }
            Self::NotFound => return None,
            Self::Internal(_) => json!({"detail": "A server error occurred."}),
        })
    }
}

const NOT_FOUND_HTML: &str = "<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Not Found</title>\n</head>\n<body>\n  <h1>Not Found</h1><p>The requested resource was not found on this server.</p>\n</body>\n</html>\n";

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(message) = &self {
            tracing::error!(error = %message, "internal error");
        }
        let status = self.status();
        let mut response = match self.body() {
            Some(body) => (status, axum::Json(body)).into_response(),
            None => (
                status,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                NOT_FOUND_HTML,
            )
                .into_response(),
        };
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(WWW_AUTHENTICATE),
            );
        }
        if let Self::MethodNotAllowed { allow, .. } = &self {
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        response
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(err: rusqlite::Error) -> Self {
        Self::Internal(format!("database: {err}"))
    }
}

impl From<jsonwebtoken::errors::Error> for ApiError {
    fn from(err: jsonwebtoken::errors::Error) -> Self {
        Self::Internal(format!("signing: {err}"))
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("key error: {0}")]
    Key(String),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("background task failed: {0}")]
    Task(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_401_carries_the_bearer_challenge() {
        for err in [
            ApiError::BadCredentials,
            ApiError::NotAuthenticated,
            ApiError::Token(TokenError::Blacklisted),
            ApiError::AccessToken(TokenError::Expired),
        ] {
            let response = err.into_response();
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
            assert_eq!(
                response.headers()[header::WWW_AUTHENTICATE],
                r#"Bearer realm="api""#
            );
        }
        let response = ApiError::Validation(FieldErrors::non_field("x")).into_response();
        assert!(response.headers().get(header::WWW_AUTHENTICATE).is_none());
    }

    #[test]
    fn bodies_match_simplejwt() {
        assert_eq!(
            ApiError::Token(TokenError::Blacklisted).body().unwrap(),
            json!({"detail": "Token is blacklisted", "code": "token_not_valid"})
        );
        assert_eq!(
            ApiError::AccessToken(TokenError::WrongType).body().unwrap(),
            json!({
                "detail": "Given token not valid for any token type",
                "code": "token_not_valid",
                "messages": [{"token_class": "AccessToken", "token_type": "access",
                              "message": "Token has wrong type"}]
            })
        );
        let mut errors = FieldErrors::default();
        errors.add("password", "This field is required.");
        assert_eq!(
            ApiError::Validation(errors).body().unwrap(),
            json!({"password": ["This field is required."]})
        );
        assert_eq!(
            ApiError::MethodNotAllowed {
                method: Method::GET,
                allow: "POST, OPTIONS"
            }
            .body()
            .unwrap(),
            json!({"detail": "Method \"GET\" not allowed."})
        );
    }

    #[test]
    fn internal_details_are_not_sent() {
        let body = ApiError::Internal("secret path /x".into()).body().unwrap();
        assert!(!body.to_string().contains("secret"));
    }
}
