//! The protected demo endpoints (the same as the Django test project's) and registration.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::auth::AuthUser;
use crate::db::NewUser;
use crate::error::{ApiError, FieldErrors};
use crate::fields::{self, CharField};
use crate::input::RequestData;
use crate::password;
use crate::state::{blocking, AppRef};

const USERNAME_TAKEN: &str = "A user with that username already exists.";

/// `GET /api/hello/` → `{"message": "Hello, World!"}`.
pub async fn hello(_user: AuthUser) -> Json<Value> {
    Json(json!({"message": "Hello, World!"}))
}

/// `GET /api/me/` → `{id, username, email}`.
pub async fn me(auth: AuthUser) -> Json<Value> {
    Json(json!({
        "id": auth.user.id,
        "username": auth.user.username,
        "email": auth.user.email,
    }))
}

/// `POST /api/echo/` → `{"echo": <the body>, "user": <username>}`.
pub async fn echo(auth: AuthUser, data: RequestData) -> Json<Value> {
    Json(json!({"echo": data.0, "user": auth.user.username}))
}

/// `POST /api/register/` `{username, email, password}` → 201 `{id, username, email}`.
///
/// Validation is that of the Django project's serializer: username as Django's user model
/// (letters, digits, `@.+-_`, at most 150, unique), a valid email, a password of 8 to 128
/// characters (not trimmed). All field errors come back at once, DRF-style.
pub async fn register(
    State(app): State<AppRef>,
    data: RequestData,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let object = data.object()?.clone();
    let user = blocking(move || {
        let db = &app.db;
        let mut errors = FieldErrors::default();
        let taken = |name: &str| {
            matches!(db.user_by_username(name), Ok(Some(_))).then(|| USERNAME_TAKEN.to_owned())
        };
        let username = CharField::new("username").lengths(None, Some(150)).read(
            &object,
            &mut errors,
            &[&fields::username_chars, &taken],
        );
        let email = CharField::new("email").read(&object, &mut errors, &[&fields::email]);
        let password = CharField::new("password")
            .untrimmed()
            .lengths(Some(8), Some(128))
            .read(&object, &mut errors, &[]);
        errors.into_result()?;
        let (Some(username), Some(email), Some(password)) = (username, email, password) else {
            return Err(ApiError::Internal(
                "field read without value or error".into(),
            ));
        };
        let hash = password::hash(&password, app.password_iterations);
        let email = fields::normalize_email(&email);
        match db.create_user(&username, &email, &hash, app.clock.now_secs())? {
            NewUser::Created(user) => Ok(user),
            NewUser::UsernameTaken => {
                let mut errors = FieldErrors::default();
                errors.add("username", USERNAME_TAKEN);
                Err(ApiError::Validation(errors))
            }
        }
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": user.id, "username": user.username, "email": user.email})),
    ))
}

/// `GET /api/jwks/` → the JWK Set with the RS256 public key (`{"keys": []}` under HS256).
pub async fn jwks(State(app): State<AppRef>) -> Json<Value> {
    Json(app.tokens.keys().jwks())
}
