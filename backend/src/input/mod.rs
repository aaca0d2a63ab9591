//! Form input as Django REST framework reads it, shared by the REST API, the web forms and
//! the use cases beneath them: [`Fields`] (a parsed body, whatever its encoding: see
//! [`body`]), [`Text`] (DRF's `CharField` rules) and [`FieldErrors`] (the messages, keyed by
//! field, in DRF's order and words).

pub mod body;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

pub use body::BodyError;

/// Field-keyed validation messages, in the order the fields are checked.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(Vec<(String, Vec<String>)>);

/// DRF's message for a text field holding U+0000 (its `ProhibitNullCharactersValidator`).
pub const NULL_CHARACTERS: &str = "Null characters are not allowed.";

/// DRF's key for messages about the input as a whole.
pub const NON_FIELD_ERRORS: &str = "non_field_errors";

impl FieldErrors {
    /// No messages yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// One message about `field`.
    pub fn single(field: &str, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }

    /// Adds `message` under `field`, after its earlier messages. A field not yet reported goes
    /// to the end, so keys keep the order in which they were first reported.
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        let message = message.into();
        match self.0.iter_mut().find(|(f, _)| f == field) {
            Some((_, messages)) => messages.push(message),
            None => self.0.push((field.to_owned(), vec![message])),
        }
    }

    /// The first message about `field`, if any.
    pub fn first(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .and_then(|(_, messages)| messages.first())
            .map(String::as_str)
    }

    /// Whether nothing has been reported.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Field → messages, for the web forms.
    pub fn into_map(self) -> std::collections::BTreeMap<String, Vec<String>> {
        self.0.into_iter().collect()
    }

    /// `Ok(())` when there is nothing to report, else the messages as the error.
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

impl Serialize for FieldErrors {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (field, messages) in &self.0 {
            map.serialize_entry(field, messages)?;
        }
        map.end()
    }
}

/// The parsed body: field name → value (form and multipart values are strings).
#[derive(Debug, Default)]
pub struct Fields(pub(crate) Map<String, Value>);

/// How to read one text field.
#[derive(Clone, Copy, Debug)]
pub struct Text {
    /// An absent field is an error (`This field is required.`), not `None`.
    pub required: bool,
    /// An empty value (after trimming) is `Some("")` rather than `This field may not be
    /// blank.`
    pub allow_blank: bool,
    /// DRF strips surrounding whitespace by default; passwords must never be altered.
    pub trim: bool,
    /// Longest value accepted, in characters after trimming (DRF's `max_length`); `None`: no
    /// limit.
    pub max_chars: Option<usize>,
}

impl Text {
    /// DRF's `CharField()`: required, not blank, trimmed.
    pub const REQUIRED: Text = Text {
        required: true,
        allow_blank: false,
        trim: true,
        max_chars: None,
    };
    /// DRF's `CharField(required=False, allow_blank=True)`: absent is `None`, blank is `""`;
    /// trimmed.
    pub const OPTIONAL: Text = Text {
        required: false,
        allow_blank: true,
        trim: true,
        max_chars: None,
    };
    /// DRF's `CharField(required=False)`: may be absent, but not blank.
    pub const OPTIONAL_NOT_BLANK: Text = Text {
        required: false,
        allow_blank: false,
        trim: true,
        max_chars: None,
    };
    /// DRF's `CharField(trim_whitespace=False)`: required, not blank, never trimmed.
    /// dj-rest-auth's password fields do trim; we deliberately do not (`docs/api.md`).
    /// No length limit here: callers check `MAX_PASSWORD_BYTES`, in bytes.
    pub const PASSWORD: Text = Text {
        required: true,
        allow_blank: false,
        trim: false,
        max_chars: None,
    };

    /// The same rules with a limit of `chars` characters (DRF's `max_length`).
    pub const fn max(self, chars: usize) -> Text {
        Text {
            max_chars: Some(chars),
            ..self
        }
    }
}

impl Fields {
    /// The fields with `name` set to `value` (a form whose path carries part of its input,
    /// such as a mailed link's token).
    pub fn with(mut self, name: &str, value: &str) -> Fields {
        self.0
            .insert(name.to_owned(), Value::String(value.to_owned()));
        self
    }

    /// Removes field `name` when it is a string that is blank once trimmed: what an empty
    /// optional input of an HTML form means ("none"), unlike an API client's `""`.
    pub fn drop_blank(&mut self, name: &str) {
        if self
            .0
            .get(name)
            .and_then(Value::as_str)
            .is_some_and(|v| v.trim().is_empty())
        {
            self.0.remove(name);
        }
    }

    /// Field `name` as a JSON value (an object an API client sent), or parsed from the text
    /// a form sent; `None` when it is absent or not JSON.
    pub fn json(&self, name: &str) -> Option<Value> {
        match self.0.get(name)? {
            Value::String(text) => serde_json::from_str(text).ok(),
            other => Some(other.clone()),
        }
    }

    /// Reads optional field `name` as DRF's `BooleanField(required=False)`: absent is
    /// `false`; `true`/`false`, `1`/`0` and the words DRF accepts (`yes`, `on`, `t`, ... in
    /// any case; what an HTML checkbox sends) as themselves; `null` and `""` as `false`;
    /// anything else is recorded in
    /// `errors` ("Must be a valid boolean.") and gives `false`.
    pub fn boolean(&self, name: &str, errors: &mut FieldErrors) -> bool {
        let word = match self.0.get(name) {
            None => return false,
            Some(Value::Bool(b)) => return *b,
            Some(Value::Null) => return false,
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::String(s)) => s.trim().to_ascii_lowercase(),
            Some(_) => String::new(),
        };
        match word.as_str() {
            "true" | "t" | "yes" | "y" | "on" | "1" => true,
            // An empty form value, or JSON's null as a form sends it: not said, so no.
            "false" | "f" | "no" | "n" | "off" | "0" | "" | "null" => false,
            _ => {
                errors.add(name, "Must be a valid boolean.");
                false
            }
        }
    }

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
        // DRF runs every validator and reports each failure; neither problem stops the other.
        let mut valid = true;
        if let Some(max) = rules.max_chars {
            if value.chars().count() > max {
                errors.add(
                    name,
                    format!("Ensure this field has no more than {max} characters."),
                );
                valid = false;
            }
        }
        // DRF's `ProhibitNullCharactersValidator`, on every text field: PostgreSQL cannot
        // store U+0000 in text, and no reader of a name or a password expects one.
        if value.contains('\0') {
            errors.add(name, NULL_CHARACTERS);
            valid = false;
        }
        valid.then_some(value)
    }
}
