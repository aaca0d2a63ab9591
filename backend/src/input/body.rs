//! Request bodies as DRF parses them: JSON, form-encoded and multipart bodies give the same
//! [`Fields`]. An empty body is no fields, whatever its declared type.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use serde_json::{Map, Value};

use super::{FieldErrors, Fields, NON_FIELD_ERRORS};

/// Why a body could not be read. Each transport words it its own way (the API as DRF
/// does: `api::ApiError`; the web forms as a sentence).
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// Unreadable JSON, form data or multipart; the detail is DRF's message.
    #[error("{0}")]
    Malformed(String),
    /// Valid JSON that is not an object (DRF: a `non_field_errors` message).
    #[error("not a JSON object")]
    NotAnObject(FieldErrors),
    /// A `Content-Type` none of the parsers takes (DRF: 415).
    #[error("unsupported media type {0:?}")]
    UnsupportedMediaType(String),
    /// Over the router's body limit (Django's `DATA_UPLOAD_MAX_MEMORY_SIZE`: 413).
    #[error("request body too large")]
    TooLarge,
}

impl Fields {
    async fn parse(content_type: Option<&str>, body: Bytes) -> Result<Fields, BodyError> {
        // No body at all reads as no fields, whatever the declared type (as in DRF).
        if body.is_empty() {
            return Ok(Fields::default());
        }
        let content_type = content_type.unwrap_or_default();
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "application/json" => Self::parse_json(&body),
            "application/x-www-form-urlencoded" => {
                let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
                    .map_err(|_| BodyError::Malformed("Malformed form data.".into()))?;
                // The last value of a repeated key wins, as with Django's QueryDict.
                Ok(Fields(
                    pairs
                        .into_iter()
                        .map(|(k, v)| (k, Value::String(v)))
                        .collect(),
                ))
            }
            "multipart/form-data" => Self::parse_multipart(content_type, body).await,
            _ => Err(BodyError::UnsupportedMediaType(content_type.to_owned())),
        }
    }

    fn parse_json(body: &[u8]) -> Result<Fields, BodyError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| BodyError::Malformed(format!("JSON parse error - {e}")))?;
        let got = match value {
            Value::Object(map) => return Ok(Fields(map)),
            Value::Null => {
                return Err(BodyError::NotAnObject(FieldErrors::single(
                    NON_FIELD_ERRORS,
                    "No data provided",
                )))
            }
            Value::Array(_) => "list",
            Value::String(_) => "str",
            Value::Bool(_) => "bool",
            Value::Number(n) if n.is_f64() => "float",
            Value::Number(_) => "int",
        };
        Err(BodyError::NotAnObject(FieldErrors::single(
            NON_FIELD_ERRORS,
            format!("Invalid data. Expected a dictionary, but got {got}."),
        )))
    }

    async fn parse_multipart(content_type: &str, body: Bytes) -> Result<Fields, BodyError> {
        let malformed = || {
            BodyError::Malformed(
                "Multipart form parse error - Invalid boundary in multipart: None".into(),
            )
        };
        let boundary = multer::parse_boundary(content_type).map_err(|_| malformed())?;
        let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
        let mut multipart = multer::Multipart::new(stream, boundary);
        let mut fields = Map::new();
        while let Some(field) = multipart.next_field().await.map_err(|_| malformed())? {
            let Some(name) = field.name().map(str::to_owned) else {
                continue;
            };
            let text = field.text().await.map_err(|_| malformed())?;
            fields.insert(name, Value::String(text));
        }
        Ok(Fields(fields))
    }
}
impl<S: Send + Sync> FromRequest<S> for Fields {
    type Rejection = BodyError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let body = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                BodyError::TooLarge
            } else {
                BodyError::Malformed("The request body could not be read.".into())
            }
        })?;
        Fields::parse(content_type.as_deref(), body).await
    }
}

#[cfg(test)]
mod tests {
    use super::super::Text;
    use super::*;

    async fn parse(ct: &str, body: &str) -> Result<Fields, BodyError> {
        Fields::parse(Some(ct), Bytes::from(body.to_owned())).await
    }

    #[tokio::test]
    async fn same_fields_from_every_encoding() {
        let json = parse("application/json", r#"{"username":" bob ","n":5}"#)
            .await
            .unwrap();
        let form = parse("application/x-www-form-urlencoded", "username=+bob+&n=5")
            .await
            .unwrap();
        let multipart = parse(
            "multipart/form-data; boundary=XX",
            "--XX\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\n bob \r\n--XX\r\nContent-Disposition: form-data; name=\"n\"\r\n\r\n5\r\n--XX--\r\n",
        )
        .await
        .unwrap();
        for fields in [json, form, multipart] {
            let mut errors = FieldErrors::new();
            assert_eq!(
                fields
                    .text("username", Text::REQUIRED, &mut errors)
                    .as_deref(),
                Some("bob")
            );
            assert_eq!(
                fields.text("n", Text::REQUIRED, &mut errors).as_deref(),
                Some("5")
            );
            assert!(errors.is_empty());
        }
    }

    #[tokio::test]
    async fn drf_messages() {
        let fields = parse(
            "application/json",
            r#"{"blank":"  ","null":null,"list":[1],"obj":{},"bool":true,"long":"abcdef"}"#,
        )
        .await
        .unwrap();
        let mut errors = FieldErrors::new();
        for name in ["missing", "blank", "null", "list", "obj", "bool"] {
            assert_eq!(fields.text(name, Text::REQUIRED, &mut errors), None);
        }
        assert_eq!(
            fields.text("long", Text::REQUIRED.max(3), &mut errors),
            None
        );
        let body = serde_json::to_string(&errors).unwrap();
        assert_eq!(
            body,
            r#"{"missing":["This field is required."],"blank":["This field may not be blank."],"null":["This field may not be null."],"list":["Not a valid string."],"obj":["Not a valid string."],"bool":["Not a valid string."],"long":["Ensure this field has no more than 3 characters."]}"#
        );
    }

    #[tokio::test]
    async fn passwords_keep_their_whitespace() {
        let fields = parse("application/json", r#"{"password":"  spaced  "}"#)
            .await
            .unwrap();
        let mut errors = FieldErrors::new();
        assert_eq!(
            fields
                .text("password", Text::PASSWORD, &mut errors)
                .as_deref(),
            Some("  spaced  ")
        );
    }

    #[tokio::test]
    async fn bad_bodies() {
        assert!(matches!(
            parse("text/plain", "hi").await,
            Err(BodyError::UnsupportedMediaType(t)) if t == "text/plain"
        ));
        assert!(matches!(
            parse("application/json", "{nope").await,
            Err(BodyError::Malformed(d)) if d.starts_with("JSON parse error - ")
        ));
        let Err(BodyError::NotAnObject(errors)) = parse("application/json", "[1,2]").await else {
            panic!("expected a validation error");
        };
        assert_eq!(
            serde_json::to_string(&errors).unwrap(),
            r#"{"non_field_errors":["Invalid data. Expected a dictionary, but got list."]}"#
        );
        assert!(parse("application/json", "").await.unwrap().0.is_empty());
    }
}
