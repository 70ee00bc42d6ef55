//! Strict JSON bodies: `application/json` only, size-limited, unknown fields named in the error.

use crate::http::extract::error::ApiError;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 256 * 1024;

/// A JSON body parsed with `deny_unknown_fields` types; every failure is a precise 4xx.
pub struct StrictJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for StrictJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if mime != "application/json" {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as Content-Type: application/json",
            ));
        }
        let bytes = axum::body::to_bytes(req.into_body(), BODY_LIMIT).await.map_err(|_| too_large())?;
        parse(&bytes).map(StrictJson)
    }
}

pub fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!("request body is larger than {BODY_LIMIT} bytes"),
    )
}

/// Parses bytes into `T`, naming the failing field.
/// Every body we accept is a JSON object (serde would otherwise fill a struct from an array).
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::bad_request("invalid_json", "the body must be a JSON object"));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = e.path().to_string();
        let at_root = matches!(path.as_str(), "" | "." | "?");
        let inner = e.into_inner();
        let msg = inner.to_string();
        if let Some(rest) = msg.strip_prefix("unknown field `") {
            let name = rest.split('`').next().unwrap_or("");
            // serde_path_to_error's path already ends with the unknown key.
            let full = if at_root { name.to_string() } else { path.clone() };
            return ApiError::bad_request("unknown_field", format!("unknown field '{full}'")).field(full);
        }
        let clean = msg.split(" at line ").next().unwrap_or(&msg).to_string();
        if let Some(rest) = clean.strip_prefix("missing field `") {
            let name = rest.split('`').next().unwrap_or("");
            let full = if at_root { name.to_string() } else { format!("{path}.{name}") };
            return ApiError::bad_request("missing_field", format!("missing field '{full}'")).field(full);
        }
        if at_root {
            ApiError::bad_request("invalid_json", format!("invalid JSON body: {clean}"))
        } else {
            ApiError::bad_request("invalid", format!("{path}: {clean}")).field(path)
        }
    })?;
    // One JSON document and nothing after it: trailing bytes make the body malformed.
    de.end().map_err(|_| {
        ApiError::bad_request("invalid_json", "invalid JSON body: trailing characters after the JSON value")
    })?;
    Ok(value)
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`) in patches.
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    serde::Deserialize::deserialize(d).map(Some)
}

/// A JSON body that may be left out entirely (e.g. rotate with no options).
pub struct OptionalJson<T>(pub Option<T>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let has_type = req.headers().contains_key(header::CONTENT_TYPE);
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, BODY_LIMIT).await.map_err(|_| too_large())?;
        if bytes.is_empty() && !has_type {
            return Ok(OptionalJson(None));
        }
        let req = Request::from_parts(parts, axum::body::Body::from(bytes));
        StrictJson::<T>::from_request(req, state).await.map(|j| OptionalJson(Some(j.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        count: Option<u32>,
    }

    #[test]
    fn unknown_and_mistyped_fields_are_named() {
        let e = parse::<Body>(br#"{"name":"a","org_id":1}"#).unwrap_err();
        assert_eq!((e.code, e.field.as_deref()), ("unknown_field", Some("org_id")));
        let e = parse::<Body>(br#"{"name":"a","count":"x"}"#).unwrap_err();
        assert_eq!((e.code, e.field.as_deref()), ("invalid", Some("count")));
        let e = parse::<Body>(br#"{"count":1}"#).unwrap_err();
        assert_eq!((e.code, e.field.as_deref()), ("missing_field", Some("name")));
        let e = parse::<Body>(br#"["a", 1]"#).unwrap_err();
        assert_eq!(e.code, "invalid_json", "arrays never fill a struct");
        let e = parse::<Body>(br#"{"name":"a"} trailing"#).unwrap_err();
        assert_eq!(e.code, "invalid_json");
        let e = parse::<Body>(b"{").unwrap_err();
        assert_eq!(e.code, "invalid_json");
        assert!(parse::<Body>(br#"{"name":"a"}"#).is_ok());
    }
}
