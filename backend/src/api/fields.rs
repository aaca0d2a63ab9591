//! Request bodies as Django REST framework reads them: JSON, form-encoded and multipart
//! bodies give the same fields, and each field is read with DRF's `CharField` rules and
//! messages.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use serde_json::{Map, Value};

use super::error::{ApiError, FieldErrors, NON_FIELD_ERRORS};

/// The parsed body: field name → value (form and multipart values are strings).
#[derive(Debug, Default)]
pub struct Fields(Map<String, Value>);

/// How to read one text field.
#[derive(Clone, Copy, Debug)]
pub struct Text {
    pub required: bool,
    pub allow_blank: bool,
    /// DRF strips surrounding whitespace by default; passwords must never be altered.
    pub trim: bool,
    pub max_chars: Option<usize>,
}

impl Text {
    pub const REQUIRED: Text = Text {
        required: true,
        allow_blank: false,
        trim: true,
        max_chars: None,
    };
    pub const OPTIONAL: Text = Text {
        required: false,
        allow_blank: true,
        trim: true,
        max_chars: None,
    };
    pub const PASSWORD: Text = Text {
        required: true,
        allow_blank: false,
        trim: false,
        max_chars: None,
    };

    pub const fn max(self, chars: usize) -> Text {
        Text {
            max_chars: Some(chars),
            ..self
        }
    }
}

impl Fields {
    /// Reads field `name`; a problem is recorded in `errors` and gives `None`, as does an
    /// absent optional field.
    pub fn text(&self, name: &str, rules: Text, errors: &mut FieldErrors) -> Option<String> {
        let raw = match self.0.get(name) {
            None => {
                if rules.required {
                    errors.add(name, "This field is required.");
                }
                return None;
            }
            Some(Value::Null) => {
                errors.add(name, "This field may not be null.");
                return None;
            }
            Some(Value::String(s)) => s.clone(),
            // DRF's CharField takes numbers as their text, and nothing else.
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Bool(_) | Value::Array(_) | Value::Object(_)) => {
                errors.add(name, "Not a valid string.");
                return None;
            }
        };
        let value = if rules.trim {
            raw.trim().to_owned()
        } else {
            raw
        };
        if value.is_empty() {
            if !rules.allow_blank {
                errors.add(name, "This field may not be blank.");
                return None;
            }
            return Some(value);
        }
        if let Some(max) = rules.max_chars {
            if value.chars().count() > max {
                errors.add(
                    name,
                    format!("Ensure this field has no more than {max} characters."),
                );
                return None;
            }
        }
        Some(value)
    }

    async fn parse(content_type: Option<&str>, body: Bytes) -> Result<Fields, ApiError> {
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
                    .map_err(|_| ApiError::bad_request("Malformed form data."))?;
                // The last value of a repeated key wins, as with Django's QueryDict.
                Ok(Fields(
                    pairs
                        .into_iter()
                        .map(|(k, v)| (k, Value::String(v)))
                        .collect(),
                ))
            }
            "multipart/form-data" => Self::parse_multipart(content_type, body).await,
            _ => Err(ApiError::UnsupportedMediaType(content_type.to_owned())),
        }
    }

    fn parse_json(body: &[u8]) -> Result<Fields, ApiError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("JSON parse error - {e}")))?;
        let got = match value {
            Value::Object(map) => return Ok(Fields(map)),
            Value::Null => {
                return Err(ApiError::Validation(FieldErrors::single(
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
        Err(ApiError::Validation(FieldErrors::single(
            NON_FIELD_ERRORS,
            format!("Invalid data. Expected a dictionary, but got {got}."),
        )))
    }

    async fn parse_multipart(content_type: &str, body: Bytes) -> Result<Fields, ApiError> {
        let malformed = || {
            ApiError::bad_request(
                "Multipart form parse error - Invalid boundary in multipart: None",
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
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let body = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::bad_request("The request body could not be read.")
            }
        })?;
        Fields::parse(content_type.as_deref(), body).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parse(ct: &str, body: &str) -> Result<Fields, ApiError> {
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
            Err(ApiError::UnsupportedMediaType(t)) if t == "text/plain"
        ));
        assert!(matches!(
            parse("application/json", "{nope").await,
            Err(ApiError::Detail(StatusCode::BAD_REQUEST, d)) if d.starts_with("JSON parse error - ")
        ));
        let Err(ApiError::Validation(errors)) = parse("application/json", "[1,2]").await else {
            panic!("expected a validation error");
        };
        assert_eq!(
            serde_json::to_string(&errors).unwrap(),
            r#"{"non_field_errors":["Invalid data. Expected a dictionary, but got list."]}"#
        );
        assert!(parse("application/json", "").await.unwrap().0.is_empty());
    }
}
