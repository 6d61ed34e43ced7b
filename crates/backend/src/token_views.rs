//! simplejwt's four token views: obtain pair, refresh, verify, blacklist.
//!
//! Refresh with BLACKLIST_AFTER_ROTATION blacklists the presented token with one exclusive
//! insert before answering: if two requests race with the same refresh token, one gets new
//! tokens and the other 401 "Token is blacklisted" (simplejwt lets both through).

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::db::Blacklisting;
use crate::error::{ApiError, FieldErrors};
use crate::fields::CharField;
use crate::input::RequestData;
use crate::password;
use crate::state::{blocking, AppRef};
use crate::tokens::{TokenError, TokenType, Verified};

const USERNAME: CharField = CharField::new("username");
/// simplejwt's PasswordField is a CharField: surrounding whitespace is trimmed.
const PASSWORD: CharField = CharField::new("password");
const REFRESH: CharField = CharField::new("refresh");
const TOKEN: CharField = CharField::new("token");

/// Reads one required string field or answers DRF's 400.
fn one_field(data: &RequestData, field: CharField) -> Result<String, ApiError> {
    let mut errors = FieldErrors::default();
    let value = field.read(data.object()?, &mut errors, &[]);
    errors.into_result()?;
    value.ok_or_else(|| ApiError::Internal("field read without value or error".into()))
}

/// `POST /api/token/` `{username, password}` → `{"refresh", "access"}`.
pub async fn obtain(State(app): State<AppRef>, data: RequestData) -> Result<Json<Value>, ApiError> {
    let object = data.object()?;
    let mut errors = FieldErrors::default();
    let username = USERNAME.read(object, &mut errors, &[]);
    let password = PASSWORD.read(object, &mut errors, &[]);
    errors.into_result()?;
    let (Some(username), Some(password)) = (username, password) else {
        return Err(ApiError::Internal(
            "field read without value or error".into(),
        ));
    };
    let shared = app.clone();
    let user = blocking(move || {
        let db = &shared.db;
        let Some(user) = db.user_by_username(&username)? else {
            // Same cost as a wrong password, so timing does not reveal usernames.
            password::verify(&password, &shared.dummy_hash);
            return Ok(None);
        };
        if !password::verify(&password, &user.password_hash) || !user.is_active {
            return Ok(None);
        }
        if password::iterations(&user.password_hash) != Some(shared.password_iterations) {
            // Django re-hashes on login when the work factor changed; so do we.
            let fresh = password::hash(&password, shared.password_iterations);
            db.upsert_user(&user.username, &fresh, shared.clock.now_secs())?;
        }
        Ok(Some(user))
    })
    .await?
    .ok_or(ApiError::BadCredentials)?;
    let pair = app.tokens.issue_pair(user.id)?;
    Ok(Json(
        json!({"refresh": pair.refresh, "access": pair.access}),
    ))
}

/// `POST /api/token/refresh/` `{refresh}` → `{"access"}` (+ `"refresh"` when rotating).
pub async fn refresh(
    State(app): State<AppRef>,
    data: RequestData,
) -> Result<Json<Value>, ApiError> {
    let raw = one_field(&data, REFRESH)?;
    let token = app
        .tokens
        .verify(&raw, Some(TokenType::Refresh))
        .map_err(ApiError::Token)?;
    let shared = app.clone();
    blocking(move || {
        let db = &shared.db;
        if db.is_blacklisted(token.jti())? {
            return Err(ApiError::Token(TokenError::Blacklisted));
        }
        if let Some(user_id) = token.user_id().filter(|id| !id.is_empty()) {
            let user = match user_id.parse::<i64>() {
                Ok(id) => db.user_by_id(id)?,
                Err(_) => None,
            };
            if !user.is_some_and(|user| user.is_active) {
                return Err(ApiError::NoActiveAccountForToken);
            }
        }
        let access = shared.tokens.access_for(&token)?;
        let mut body = json!({ "access": access });
        if shared.rotate_refresh_tokens {
            if shared.blacklist_after_rotation {
                blacklist_exclusively(&shared, &token)?;
            }
            body["refresh"] = Value::String(shared.tokens.rotate(&token)?);
        }
        Ok(Json(body))
    })
    .await
}

fn blacklist_exclusively(app: &AppRef, token: &Verified) -> Result<(), ApiError> {
    let outcome = app.db.blacklist(
        token.jti(),
        token.user_id().as_deref(),
        token.exp(),
        app.clock.now_secs(),
    )?;
    match outcome {
        Blacklisting::Added => Ok(()),
        Blacklisting::AlreadyBlacklisted => Err(ApiError::Token(TokenError::Blacklisted)),
    }
}

/// `POST /api/token/verify/` `{token}` → `{}`. Any token type. Like simplejwt, a blacklisted
/// token is refused here (400 `non_field_errors`) only when BLACKLIST_AFTER_ROTATION is on.
pub async fn verify(State(app): State<AppRef>, data: RequestData) -> Result<Json<Value>, ApiError> {
    let raw = one_field(&data, TOKEN)?;
    let token = app.tokens.verify(&raw, None).map_err(ApiError::Token)?;
    if app.blacklist_after_rotation {
        let db = app.db.clone();
        let jti = token.jti().to_owned();
        if blocking(move || Ok(db.is_blacklisted(&jti)?)).await? {
            return Err(ApiError::Validation(FieldErrors::non_field(
                "Token is blacklisted",
            )));
        }
    }
    Ok(Json(json!({})))
}

/// `POST /api/token/blacklist/` `{refresh}` → `{}` (logout).
pub async fn blacklist(
    State(app): State<AppRef>,
    data: RequestData,
) -> Result<Json<Value>, ApiError> {
    let raw = one_field(&data, REFRESH)?;
    let token = app
        .tokens
        .verify(&raw, Some(TokenType::Refresh))
        .map_err(ApiError::Token)?;
    let shared = app.clone();
    blocking(move || {
        if shared.db.is_blacklisted(token.jti())? {
            return Err(ApiError::Token(TokenError::Blacklisted));
        }
        // A concurrent logout with the same token also gets 200, as in simplejwt.
        shared.db.blacklist(
            token.jti(),
            token.user_id().as_deref(),
            token.exp(),
            shared.clock.now_secs(),
        )?;
        Ok(Json(json!({})))
    })
    .await
}
