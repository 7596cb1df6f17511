//! Field selectors (`metadata.name=web,status.phase!=Running`), as
//! apimachinery's `fields` package: parsed, matched against an object's
//! fields, and written back in the server's syntax.
//!
//! A term is `field=value`, `field==value` or `field!=value`; terms are joined
//! by `,`. In values, `\`, `,` and `=` are escaped with a backslash; field
//! names are taken as written. Which fields a resource can be selected by
//! is the server's business (most support `metadata.name` and
//! `metadata.namespace`); this module only reads and writes the syntax.
//!
//! ```
//! use kubegen_core::fields::FieldSelector;
//!
//! let selector: FieldSelector = "status.phase!=Running,spec.nodeName=n1".parse().unwrap();
//! let pod = |field: &str| match field {
//!     "spec.nodeName" => Some("n1"),
//!     "status.phase" => Some("Pending"),
//!     _ => None,
//! };
//! assert!(selector.matches(pod));
//! assert_eq!(selector.requires_exact_match("spec.nodeName"), Some("n1"));
//! // Terms sorted, as the server's parser sorts them.
//! assert_eq!(selector.to_string(), "spec.nodeName=n1,status.phase!=Running");
//!
//! let built = FieldSelector::everything().eq("metadata.name", "a,b").not_eq("status.phase", "Running");
//! assert_eq!(built.to_string(), r"metadata.name=a\,b,status.phase!=Running");
//! ```

use std::fmt;
use std::str::FromStr;

/// How a term compares a field with its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldOperator {
    /// `=` or `==`: the field equals the value.
    Equals,
    /// `!=`: the field differs from the value.
    NotEquals,
}

/// One term of a field selector.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FieldRequirement {
    /// The field's path, e.g. `metadata.name`.
    pub field: String,
    /// How the field is compared.
    pub operator: FieldOperator,
    /// The value, unescaped.
    pub value: String,
}

impl FieldRequirement {
    /// Whether `value` (the object's field; `None` counts as `""`, as the
    /// server's field sets do) satisfies this term.
    pub fn matches(&self, value: Option<&str>) -> bool {
        let equal = value.unwrap_or("") == self.value;
        match self.operator {
            FieldOperator::Equals => equal,
            FieldOperator::NotEquals => !equal,
        }
    }
}

impl fmt::Display for FieldRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.operator {
            FieldOperator::Equals => "=",
            FieldOperator::NotEquals => "!=",
        };
        write!(f, "{}{op}{}", self.field, escape_value(&self.value))
    }
}

/// A conjunction of field terms; the empty selector selects everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FieldSelector {
    requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// The selector that selects everything (no terms).
    pub fn everything() -> Self {
        Self::default()
    }

    /// Parses the server's syntax, as apimachinery's `ParseSelector`: terms
    /// are sorted, empty terms skipped.
    pub fn parse(input: &str) -> Result<Self, FieldSelectorError> {
        let mut terms = split_terms(input);
        terms.sort_unstable();
        let mut requirements = Vec::with_capacity(terms.len());
        for term in terms.into_iter().filter(|t| !t.is_empty()) {
            let invalid = |message: String| FieldSelectorError {
                term: term.to_owned(),
                message,
            };
            let (field, operator, raw) =
                split_term(term).ok_or_else(|| invalid("no operator: =, == or !=".into()))?;
            requirements.push(FieldRequirement {
                field: field.to_owned(),
                operator,
                value: unescape_value(raw).map_err(invalid)?,
            });
        }
        Ok(Self { requirements })
    }

    /// `field=value` for each pair, sorted by field (apimachinery's
    /// `SelectorFromSet`).
    pub fn from_fields(
        fields: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
    ) -> Self {
        let mut requirements: Vec<FieldRequirement> = fields
            .into_iter()
            .map(|(field, value)| FieldRequirement {
                field: field.into(),
                operator: FieldOperator::Equals,
                value: value.into(),
            })
            .collect();
        requirements.sort_by(|a, b| a.field.cmp(&b.field));
        Self { requirements }
    }

    /// This selector and `field=value`.
    pub fn eq(self, field: impl Into<String>, value: impl Into<String>) -> Self {
        self.and(field.into(), FieldOperator::Equals, value.into())
    }

    /// This selector and `field!=value`.
    pub fn not_eq(self, field: impl Into<String>, value: impl Into<String>) -> Self {
        self.and(field.into(), FieldOperator::NotEquals, value.into())
    }

    fn and(mut self, field: String, operator: FieldOperator, value: String) -> Self {
        self.requirements.push(FieldRequirement {
            field,
            operator,
            value,
        });
        self
    }

    /// The terms, in order.
    pub fn requirements(&self) -> &[FieldRequirement] {
        &self.requirements
    }

    /// Whether there are no terms (everything matches).
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Whether an object whose fields `field` looks up satisfies every term.
    pub fn matches<'a>(&self, field: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.requirements.iter().all(|r| r.matches(field(&r.field)))
    }

    /// The value `field` must equal, when a term requires one (the first
    /// such term), as apimachinery's `RequiresExactMatch`.
    pub fn requires_exact_match(&self, field: &str) -> Option<&str> {
        self.requirements
            .iter()
            .find(|r| r.operator == FieldOperator::Equals && r.field == field)
            .map(|r| r.value.as_str())
    }
}

impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, requirement) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{requirement}")?;
        }
        Ok(())
    }
}

impl From<FieldSelector> for String {
    fn from(s: FieldSelector) -> Self {
        s.to_string()
    }
}

impl FromStr for FieldSelector {
    type Err = FieldSelectorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A field selector that could not be parsed, with the term at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid field selector term {term:?}: {message}")]
pub struct FieldSelectorError {
    /// The term as written.
    pub term: String,
    /// What was wrong.
    pub message: String,
}

impl From<FieldSelectorError> for crate::error::Error {
    fn from(e: FieldSelectorError) -> Self {
        crate::error::Error::InvalidRequest(e.to_string())
    }
}

/// Escapes `\`, `,` and `=` in a value.
pub fn escape_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Splits at commas that are not escaped.
fn split_terms(input: &str) -> Vec<&str> {
    if input.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let (mut start, mut escaped) = (0, false);
    for (i, b) in input.bytes().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            b',' => {
                terms.push(&input[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    terms.push(&input[start..]);
    terms
}

/// The field, operator and raw value of a term, at its first operator;
/// `!=` and `==` win over `=` at the same place.
fn split_term(term: &str) -> Option<(&str, FieldOperator, &str)> {
    const OPERATORS: [(&str, FieldOperator); 3] = [
        ("!=", FieldOperator::NotEquals),
        ("==", FieldOperator::Equals),
        ("=", FieldOperator::Equals),
    ];
    (0..term.len()).find_map(|i| {
        let rest = term.get(i..)?;
        OPERATORS.iter().find_map(|&(op, operator)| {
            rest.strip_prefix(op)
                .map(|value| (&term[..i], operator, value))
        })
    })
}

fn unescape_value(raw: &str) -> Result<String, String> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('\\' | ',' | '=')) => out.push(e),
                Some(e) => return Err(format!("invalid escape sequence \\{e}")),
                None => return Err("a value cannot end in a single \\".into()),
            },
            ',' | '=' => return Err(format!("{c} in a value must be escaped as \\{c}")),
            c => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn requirement(field: &str, operator: FieldOperator, value: &str) -> FieldRequirement {
        FieldRequirement {
            field: field.into(),
            operator,
            value: value.into(),
        }
    }

    /// apimachinery's `TestSelectorParse` and `TestSplitTerms` inputs.
    #[test]
    fn parses_and_prints_as_apimachinery_does() {
        let round_trips = [
            ("", ""),
            ("a=b", "a=b"),
            ("a==b", "a=b"),
            ("b!=c,a=d", "a=d,b!=c"),
            ("x=a,y=b,z=c", "x=a,y=b,z=c"),
            ("x=a||y\\=b", "x=a||y\\=b"),
            ("x=,z= ", "x=,z= "),
            ("x=a\\,b,y=c", "x=a\\,b,y=c"),
            ("a=b,", "a=b"),
            (",a=b", "a=b"),
            ("a=\\\\", "a=\\\\"),
        ];
        for (input, canonical) in round_trips {
            let selector = FieldSelector::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(selector.to_string(), canonical, "{input}");
            assert_eq!(FieldSelector::parse(canonical).unwrap(), selector);
        }
        assert_eq!(
            FieldSelector::parse("x=a\\,b,y!=c\\=d")
                .unwrap()
                .requirements(),
            [
                requirement("x", FieldOperator::Equals, "a,b"),
                requirement("y", FieldOperator::NotEquals, "c=d"),
            ]
        );
        for bad in ["a", "a=b=c", "a=b\\x", "a=b\\", "x,y=z", "a!b"] {
            let e = FieldSelector::parse(bad).unwrap_err();
            assert!(bad.contains(&e.term), "{bad}: {e}");
        }
    }

    #[test]
    fn matches_absent_fields_as_empty() {
        let pod = |field: &str| (field == "spec.nodeName").then_some("n1");
        for (selector, want) in [
            ("", true),
            ("spec.nodeName=n1", true),
            ("spec.nodeName!=n1", false),
            ("status.phase=", true),
            ("status.phase!=Running", true),
            ("spec.nodeName=n1,status.phase=Running", false),
        ] {
            assert_eq!(
                FieldSelector::parse(selector).unwrap().matches(pod),
                want,
                "{selector}"
            );
        }
    }

    #[test]
    fn built_selectors_escape_values() {
        let selector = FieldSelector::from_fields([("b", "x,y"), ("a", "1")])
            .not_eq("c", "\\")
            .eq("d", "=");
        assert_eq!(selector.to_string(), "a=1,b=x\\,y,c!=\\\\,d=\\=");
        assert_eq!(selector.requires_exact_match("b"), Some("x,y"));
        assert_eq!(selector.requires_exact_match("c"), None);
        assert!(FieldSelector::everything().is_empty());
    }
}
