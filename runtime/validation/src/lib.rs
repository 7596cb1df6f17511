//! Validation without a server: a custom resource checked against its CRD's
//! `openAPIV3Schema` as the API server checks it on create and update, so a
//! controller's unit test (or the [fake clientset]) rejects what the server
//! would, with the same field paths and reasons.
//!
//! What is checked, in the server's order: the schema's defaults are applied
//! first; then types (`integer`, `number`, `string`, `boolean`, `object`,
//! `array`, `x-kubernetes-int-or-string`), `nullable`, `enum`, `pattern`,
//! `format`, `minimum`/`maximum` (exclusive too), `multipleOf`, lengths, item
//! and property counts, `uniqueItems`, `required`, `allOf`/`anyOf`/`oneOf`/`not`,
//! `apiVersion` and `kind` of embedded resources, and the uniqueness of
//! `x-kubernetes-list-type: set` items and `map` keys; then, when none of
//! those found a wrong type or an unsupported value (the server stops there
//! too), the `x-kubernetes-validations` CEL rules, transition rules (those
//! naming `oldSelf`) on update only. An update is ratcheted as the server
//! ratchets it: a value the old object holds unchanged is not checked again,
//! so an object stored before its CRD's schema tightened can still be updated
//! elsewhere.
//!
//! Nothing is passed silently: a rule the CEL interpreter cannot evaluate
//! (a Kubernetes CEL library it lacks, such as quantities or IP addresses),
//! a pattern the `regex` crate cannot compile, or a format the server checks
//! and this crate does not, is listed in [`Report::unevaluated`].
//!
//! [fake clientset]: https://docs.rs/kubegen-tools/latest/kubegen_tools/fake/
//!
//! ```
//! use kubegen_validation::{Reason, Schema};
//! let schema = Schema::from_value(&serde_json::json!({
//!     "type": "object",
//!     "properties": {"spec": {
//!         "type": "object",
//!         "properties": {"replicas": {"type": "integer", "minimum": 0}},
//!         "x-kubernetes-validations": [{"rule": "self.replicas < 10", "message": "at most 9"}],
//!     }},
//! }));
//! let report = schema.validate(&serde_json::json!({"spec": {"replicas": 12}}));
//! assert_eq!(report.errors[0].field, "spec");
//! assert_eq!(report.errors[0].reason, Reason::Invalid);
//! assert_eq!(report.errors[0].to_string(), "spec: Invalid value: at most 9");
//! ```

mod cel;
mod check;
mod format;
mod schema;

use std::fmt;

pub use schema::Schema;

/// A type generated from a CRD version's schema.
pub trait Validate: serde::Serialize {
    /// The `openAPIV3Schema` the type was generated from.
    fn schema() -> &'static Schema;

    /// Checks `self` as the server checks a create.
    fn validate(&self) -> Report {
        match serde_json::to_value(self) {
            Ok(v) => Self::schema().validate(&v),
            Err(e) => Report::unencodable(&e),
        }
    }

    /// Checks `self` as the server checks an update from `old`: values `old`
    /// holds unchanged are not checked again (ratcheting); transition rules
    /// (`oldSelf`) are evaluated where the old object has the value.
    fn validate_update(&self, old: &Self) -> Report {
        match (serde_json::to_value(self), serde_json::to_value(old)) {
            (Ok(new), Ok(old)) => Self::schema().validate_update(&new, &old),
            (Err(e), _) | (_, Err(e)) => Report::unencodable(&e),
        }
    }
}

/// What a validation found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// The errors, as the server's `Status.details.causes` would name them.
    pub errors: Vec<FieldError>,
    /// Checks that could not be made (each listed once).
    pub unevaluated: Vec<Unevaluated>,
}

impl Report {
    /// No errors (some checks may still be [unevaluated](Self::unevaluated)).
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }

    fn unencodable(e: &serde_json::Error) -> Self {
        Self {
            errors: vec![FieldError {
                field: String::new(),
                reason: Reason::Invalid,
                message: format!("the object could not be encoded as JSON: {e}"),
            }],
            unevaluated: Vec::new(),
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// One error, as the server reports it (a `StatusCause`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FieldError {
    /// The field's path, e.g. `spec.ports[0].name`; empty for the object as a
    /// whole (the server's `<nil>`).
    pub field: String,
    /// Why.
    pub reason: Reason,
    /// The message, e.g. `Invalid value: "object": at most 9`.
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.field, self.message)
        }
    }
}

/// The server's cause types (`StatusCause.reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    /// `FieldValueRequired`.
    Required,
    /// `FieldValueInvalid`.
    Invalid,
    /// `FieldValueNotSupported`: not one of the `enum` values.
    NotSupported,
    /// `FieldValueTooLong`.
    TooLong,
    /// `FieldValueTooMany`.
    TooMany,
    /// `FieldValueDuplicate`.
    Duplicate,
    /// `FieldValueTypeInvalid`: a wrong type or format.
    TypeInvalid,
    /// `FieldValueForbidden`.
    Forbidden,
}

impl Reason {
    /// The name the server gives it, e.g. `FieldValueRequired`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Required => "FieldValueRequired",
            Self::Invalid => "FieldValueInvalid",
            Self::NotSupported => "FieldValueNotSupported",
            Self::TooLong => "FieldValueTooLong",
            Self::TooMany => "FieldValueTooMany",
            Self::Duplicate => "FieldValueDuplicate",
            Self::TypeInvalid => "FieldValueTypeInvalid",
            Self::Forbidden => "FieldValueForbidden",
        }
    }

    /// The reason named `s` (as in a rule's `reason`), if it is one.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Required,
            Self::Invalid,
            Self::NotSupported,
            Self::TooLong,
            Self::TooMany,
            Self::Duplicate,
            Self::TypeInvalid,
            Self::Forbidden,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }

    /// How the server's message starts for it.
    fn label(self) -> &'static str {
        match self {
            Self::Required => "Required value",
            Self::Invalid => "Invalid value",
            Self::NotSupported => "Unsupported value",
            Self::TooLong => "Too long",
            Self::TooMany => "Too many",
            Self::Duplicate => "Duplicate value",
            Self::TypeInvalid => "Invalid value",
            Self::Forbidden => "Forbidden",
        }
    }
}

/// A check that was not made, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unevaluated {
    /// The first field it applied to.
    pub field: String,
    /// The check, e.g. ``rule `quantity(self.size) > quantity('1Gi')` ``.
    pub check: String,
    /// Why it could not be made.
    pub why: String,
}
