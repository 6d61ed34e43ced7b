//! Request bodies, parsed the way DRF's `request.data` parses them: JSON or form-encoded by
//! Content-Type, an empty body is `{}`, an unknown type is 415, bad JSON is 400 with
//! "JSON parse error - ...". (DRF's multipart parser is not offered: 415.)

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde_json::{Map, Value};

use crate::error::{ApiError, FieldErrors};

/// The parsed request body.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestData(pub Value);

impl RequestData {
    /// What a DRF serializer accepts as input: an object, else `non_field_errors`.
    pub fn object(&self) -> Result<&Map<String, Value>, ApiError> {
        let kind = match &self.0 {
            Value::Object(map) => return Ok(map),
            Value::Null => {
                return Err(ApiError::Validation(FieldErrors::non_field(
                    "No data provided",
                )))
            }
            Value::Array(_) => "list",
            Value::String(_) => "str",
            Value::Bool(_) => "bool",
            Value::Number(n) if n.is_f64() => "float",
            Value::Number(_) => "int",
        };
        Err(ApiError::Validation(FieldErrors::non_field(format!(
            "Invalid data. Expected a dictionary, but got {kind}."
        ))))
    }

    /// Parses `body` given the request's Content-Type header value.
    pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<Self, ApiError> {
        if body.is_empty() {
            return Ok(Self(Value::Object(Map::new())));
        }
        let full = content_type.unwrap_or("").trim();
        let media_type = full
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match media_type.as_str() {
            "application/json" => serde_json::from_slice::<Value>(body)
                .map(Self)
                .map_err(|err| ApiError::JsonParse(err.to_string())),
            "application/x-www-form-urlencoded" => {
                // Like QueryDict lookups: a repeated key yields its last value.
                let pairs: Vec<(String, String)> =
                    serde_urlencoded::from_bytes(body).map_err(|_| {
                        ApiError::Validation(FieldErrors::non_field("Malformed form data."))
                    })?;
                let map = pairs
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect();
                Ok(Self(Value::Object(map)))
            }
            _ => Err(ApiError::UnsupportedMediaType(full.to_owned())),
        }
    }
}

impl<S: Send + Sync> FromRequest<S> for RequestData {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|_| ApiError::PayloadTooLarge)?;
        Self::parse(content_type.as_deref(), &body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errors_of(result: Result<&Map<String, Value>, ApiError>) -> Value {
        match result {
            Err(err) => err.body().unwrap(),
            Ok(_) => panic!("expected an error"),
        }
    }

    #[test]
    fn json_and_forms_parse_empty_is_an_empty_object() {
        let data =
            RequestData::parse(Some("application/json; charset=utf-8"), br#"{"a":1}"#).unwrap();
        assert_eq!(data.0, json!({"a": 1}));
        let form = RequestData::parse(
            Some("application/x-www-form-urlencoded"),
            b"username=demo&password=a%20b&password=c",
        )
        .unwrap();
        assert_eq!(form.0, json!({"username": "demo", "password": "c"}));
        assert_eq!(RequestData::parse(None, b"").unwrap().0, json!({}));
    }

    #[test]
    fn bad_json_and_unknown_types_are_drf_errors() {
        let err = RequestData::parse(Some("application/json"), b"{bad").unwrap_err();
        assert_eq!(err.status(), axum::http::StatusCode::BAD_REQUEST);
        assert!(err.body().unwrap()["detail"]
            .as_str()
            .unwrap()
            .starts_with("JSON parse error - "));
        let err = RequestData::parse(Some("text/plain"), b"x").unwrap_err();
        assert_eq!(
            err.body().unwrap(),
            json!({"detail": "Unsupported media type \"text/plain\" in request."})
        );
        let err = RequestData::parse(None, b"x").unwrap_err();
        assert_eq!(err.status(), axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }

    #[test]
    fn non_objects_get_drfs_messages() {
        let list = RequestData(json!([1]));
        assert_eq!(
            errors_of(list.object()),
            json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})
        );
        let text = RequestData(json!("x"));
        assert_eq!(
            errors_of(text.object()),
            json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]})
        );
        let null = RequestData(Value::Null);
        assert_eq!(
            errors_of(null.object()),
            json!({"non_field_errors": ["No data provided"]})
        );
    }
}
