//! Label selectors, parsed and matched the way apimachinery's `labels` package
//! does it, so a selector string means the same here as in `kubectl -l`.
//!
//! Grammar (comma-separated requirements, all of which must hold):
//!
//! | form | matches when |
//! |---|---|
//! | `key=value`, `key==value` | the label exists and equals `value` |
//! | `key!=value` | the label is absent or differs |
//! | `key in (v1,v2)` | the label exists and is one of the values |
//! | `key notin (v1,v2)` | the label is absent or none of the values |
//! | `key` | the label exists |
//! | `!key` | the label is absent |
//! | `key>5`, `key<5` | the label exists and is an integer greater / less |
//!
//! The empty string selects everything. Keys must be qualified names
//! (`[prefix/]name`) and values valid label values, as the API server checks;
//! a bad selector is an error naming the offending position, never a panic.
//! Requirements are kept sorted by key, so [`Selector`]'s `Display` is the
//! canonical form the server would echo and two equal selectors print alike.
//!
//! The same type is what [`ListOptions`](crate::options::ListOptions) can carry
//! (via its `Display`) and what `kubegen_cache::Lister` filters with.
//!
//! ```
//! use kubegen_core::{CompactString, SortedMap, selector::Selector};
//!
//! let sel: Selector = "app=web,tier in (frontend, edge),!canary".parse().unwrap();
//! let labels: SortedMap<CompactString, CompactString> =
//!     SortedMap::from([("app".into(), "web".into()), ("tier".into(), "edge".into())]);
//! assert!(sel.matches(&labels));
//! assert_eq!(sel.to_string(), "app=web,!canary,tier in (edge,frontend)");
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use crate::{CompactString, SortedMap};

/// The comparison one requirement makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operator {
    /// `key=value` / `key==value`.
    Equals,
    /// `key!=value`.
    NotEquals,
    /// `key in (...)`.
    In,
    /// `key notin (...)`.
    NotIn,
    /// `key`.
    Exists,
    /// `!key`.
    DoesNotExist,
    /// `key>N`.
    GreaterThan,
    /// `key<N`.
    LessThan,
}

/// One `key op values` clause of a selector.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Requirement {
    key: String,
    operator: Operator,
    values: BTreeSet<String>,
}

impl Requirement {
    /// Build a requirement, validating the key and values as the server does.
    pub fn new(
        key: impl Into<String>,
        operator: Operator,
        values: impl IntoIterator<Item = impl Into<String>>,
    ) -> Result<Self, SelectorError> {
        let key = key.into();
        validate_key(&key)?;
        let values: BTreeSet<String> = values.into_iter().map(Into::into).collect();
        match operator {
            Operator::Equals | Operator::NotEquals if values.len() != 1 => {
                return Err(SelectorError::new(
                    0,
                    format!("`{key}`: exactly one value is required for `=` and `!=`"),
                ));
            }
            Operator::In | Operator::NotIn if values.is_empty() => {
                return Err(SelectorError::new(
                    0,
                    format!("`{key}`: `in` and `notin` need at least one value"),
                ));
            }
            Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
                return Err(SelectorError::new(
                    0,
                    format!("`{key}`: existence requirements take no values"),
                ));
            }
            Operator::GreaterThan | Operator::LessThan => {
                let mut it = values.iter();
                match (it.next(), it.next()) {
                    (Some(v), None) if v.parse::<i64>().is_ok() => {}
                    _ => {
                        return Err(SelectorError::new(
                            0,
                            format!("`{key}`: `>` and `<` need exactly one integer value"),
                        ));
                    }
                }
            }
            _ => {}
        }
        // `>`/`<` operands were checked as integers above (they may be negative).
        if !matches!(operator, Operator::GreaterThan | Operator::LessThan) {
            for v in &values {
                validate_value(v)?;
            }
        }
        Ok(Self {
            key,
            operator,
            values,
        })
    }

    /// The label key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The operator.
    pub fn operator(&self) -> Operator {
        self.operator
    }

    /// The values, sorted.
    pub fn values(&self) -> impl Iterator<Item = &str> {
        self.values.iter().map(String::as_str)
    }

    /// Whether `labels` satisfy this requirement.
    pub fn matches(&self, labels: &SortedMap<CompactString, CompactString>) -> bool {
        let value = labels.get(self.key.as_str()).map(CompactString::as_str);
        match self.operator {
            Operator::Equals | Operator::In => value.is_some_and(|v| self.values.contains(v)),
            Operator::NotEquals | Operator::NotIn => value.is_none_or(|v| !self.values.contains(v)),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let (Some(have), Some(want)) = (
                    value.and_then(|v| v.parse::<i64>().ok()),
                    self.values
                        .iter()
                        .next()
                        .and_then(|v| v.parse::<i64>().ok()),
                ) else {
                    return false;
                };
                if self.operator == Operator::GreaterThan {
                    have > want
                } else {
                    have < want
                }
            }
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first = self.values.iter().next().map(String::as_str).unwrap_or("");
        let joined = || {
            self.values
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(",")
        };
        match self.operator {
            Operator::Equals => write!(f, "{}={first}", self.key),
            Operator::NotEquals => write!(f, "{}!={first}", self.key),
            Operator::In => write!(f, "{} in ({})", self.key, joined()),
            Operator::NotIn => write!(f, "{} notin ({})", self.key, joined()),
            Operator::Exists => write!(f, "{}", self.key),
            Operator::DoesNotExist => write!(f, "!{}", self.key),
            Operator::GreaterThan => write!(f, "{}>{first}", self.key),
            Operator::LessThan => write!(f, "{}<{first}", self.key),
        }
    }
}

/// A label selector: requirements that must all hold. The default selects everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Selector {
    requirements: Vec<Requirement>,
}

impl Selector {
    /// The selector that matches every object (`labels.Everything()`).
    pub fn everything() -> Self {
        Self::default()
    }

    /// Parse a selector string; see the module docs for the grammar.
    pub fn parse(input: &str) -> Result<Self, SelectorError> {
        Parser::new(input).parse()
    }

    /// `key1=value1,key2=value2` from a map (`labels.SelectorFromSet`).
    pub fn from_labels(
        labels: impl IntoIterator<Item = (impl AsRef<str>, impl AsRef<str>)>,
    ) -> Result<Self, SelectorError> {
        let mut sel = Self::default();
        for (k, v) in labels {
            sel = sel.and(Requirement::new(
                k.as_ref(),
                Operator::Equals,
                [v.as_ref()],
            )?);
        }
        Ok(sel)
    }

    /// The selector a `LabelSelector`'s `matchLabels` and `matchExpressions`
    /// stand for (apimachinery's `LabelSelectorAsSelector`); no terms select
    /// everything. Generated `LabelSelector`s call it from
    /// `TryFrom<&LabelSelector> for Selector`.
    pub fn from_label_selector<'a, V>(
        match_labels: impl IntoIterator<Item = (&'a str, &'a str)>,
        match_expressions: impl IntoIterator<Item = (&'a str, &'a str, V)>,
    ) -> Result<Self, SelectorError>
    where
        V: IntoIterator<Item = &'a str>,
    {
        let mut sel = Self::from_labels(match_labels)?;
        for (key, operator, values) in match_expressions {
            let operator = match operator {
                "In" => Operator::In,
                "NotIn" => Operator::NotIn,
                "Exists" => Operator::Exists,
                "DoesNotExist" => Operator::DoesNotExist,
                other => {
                    return Err(SelectorError::new(
                        0,
                        format!("`{key}`: {other:?} is not a valid label selector operator"),
                    ));
                }
            };
            sel = sel.and(Requirement::new(key, operator, values)?);
        }
        Ok(sel)
    }

    /// This selector as a `LabelSelector`'s parts (apimachinery's
    /// `ParseToLabelSelector`): `key=value` terms become `matchLabels`, the
    /// others `matchExpressions` (key, operator name, values). `!=`, `>` and
    /// `<` have no `LabelSelector` form and are an error.
    #[allow(clippy::type_complexity)]
    pub fn to_label_selector(
        &self,
    ) -> Result<(Vec<(&str, &str)>, Vec<(&str, &'static str, Vec<&str>)>), SelectorError> {
        let (mut labels, mut expressions) = (Vec::new(), Vec::new());
        for r in &self.requirements {
            let operator = match r.operator {
                Operator::Equals => {
                    let value = r.values.first().map_or("", String::as_str);
                    labels.push((r.key.as_str(), value));
                    continue;
                }
                Operator::In => "In",
                Operator::NotIn => "NotIn",
                Operator::Exists => "Exists",
                Operator::DoesNotExist => "DoesNotExist",
                Operator::NotEquals | Operator::GreaterThan | Operator::LessThan => {
                    return Err(SelectorError::new(
                        0,
                        format!("`{r}`: a LabelSelector has no form for this operator"),
                    ));
                }
            };
            expressions.push((
                r.key.as_str(),
                operator,
                r.values.iter().map(String::as_str).collect(),
            ));
        }
        Ok((labels, expressions))
    }

    /// This selector with one more requirement.
    pub fn and(mut self, requirement: Requirement) -> Self {
        self.requirements.push(requirement);
        self.requirements.sort_by(|a, b| a.key.cmp(&b.key));
        self
    }

    /// Whether this selector has no requirements and so matches everything.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The requirements, sorted by key.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// Whether a label map satisfies every requirement.
    pub fn matches(&self, labels: &SortedMap<CompactString, CompactString>) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    /// Whether an object's labels (absent labels = empty map) satisfy the selector.
    pub fn matches_meta(&self, meta: &crate::meta::ObjectMeta) -> bool {
        static EMPTY: SortedMap<CompactString, CompactString> = SortedMap::new();
        self.matches(meta.labels.as_ref().unwrap_or(&EMPTY))
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

impl FromStr for Selector {
    type Err = SelectorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A selector that could not be parsed or built, with the byte offset of the problem.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid label selector at byte {position}: {message}")]
pub struct SelectorError {
    /// Byte offset in the input where the problem was found (0 for built requirements).
    pub position: usize,
    /// What was wrong.
    pub message: String,
}

impl SelectorError {
    fn new(position: usize, message: impl Into<String>) -> Self {
        Self {
            position,
            message: message.into(),
        }
    }
}

impl From<SelectorError> for crate::error::Error {
    fn from(e: SelectorError) -> Self {
        crate::error::Error::InvalidRequest(e.to_string())
    }
}

// Validation of keys and values, as apimachinery's validation package does it.

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'
}

/// A label value: empty, or at most 63 chars of `[A-Za-z0-9_.-]`, alphanumeric at both ends.
fn valid_label_value(v: &str) -> bool {
    v.is_empty()
        || (v.len() <= 63
            && v.chars().all(is_name_char)
            && v.starts_with(|c: char| c.is_ascii_alphanumeric())
            && v.ends_with(|c: char| c.is_ascii_alphanumeric()))
}

fn valid_dns_subdomain(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 253
        && p.split('.').all(|label| {
            !label.is_empty()
                && label
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

fn validate_key(key: &str) -> Result<(), SelectorError> {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix
        && !valid_dns_subdomain(p)
    {
        return Err(SelectorError::new(
            0,
            format!("key `{key}`: prefix `{p}` must be a lowercase DNS subdomain"),
        ));
    }
    if name.is_empty() || !valid_label_value(name) {
        return Err(SelectorError::new(
            0,
            format!(
                "key `{key}`: name must be 1-63 characters of [A-Za-z0-9_.-], starting and ending alphanumeric"
            ),
        ));
    }
    Ok(())
}

fn validate_value(value: &str) -> Result<(), SelectorError> {
    if valid_label_value(value) {
        Ok(())
    } else {
        Err(SelectorError::new(
            0,
            format!(
                "value `{value}` must be at most 63 characters of [A-Za-z0-9_.-], starting and ending alphanumeric"
            ),
        ))
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Token<'a> {
    Ident(&'a str),
    Eq,
    DoubleEq,
    NotEq,
    Bang,
    Gt,
    Lt,
    Comma,
    Open,
    Close,
    End,
}

struct Parser<'a> {
    input: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn new(input: &'a str) -> Self {
        Self { input, pos: 0 }
    }

    fn skip_ws(&mut self) {
        let rest = &self.input[self.pos..];
        self.pos += rest.len() - rest.trim_start().len();
    }

    /// Next token and the byte offset where it starts, without consuming it.
    fn peek(&mut self) -> (Token<'a>, usize, usize) {
        self.skip_ws();
        let start = self.pos;
        let rest = &self.input[start..];
        let two = rest.get(..2);
        let (tok, len) = match rest.chars().next() {
            None => (Token::End, 0),
            Some(_) if two == Some("==") => (Token::DoubleEq, 2),
            Some(_) if two == Some("!=") => (Token::NotEq, 2),
            Some('=') => (Token::Eq, 1),
            Some('!') => (Token::Bang, 1),
            Some('>') => (Token::Gt, 1),
            Some('<') => (Token::Lt, 1),
            Some(',') => (Token::Comma, 1),
            Some('(') => (Token::Open, 1),
            Some(')') => (Token::Close, 1),
            Some(_) => {
                let len = rest
                    .find(|c: char| c.is_whitespace() || "=!<>,()".contains(c))
                    .unwrap_or(rest.len());
                (Token::Ident(&rest[..len]), len)
            }
        };
        (tok, start, len)
    }

    fn next(&mut self) -> (Token<'a>, usize) {
        let (tok, start, len) = self.peek();
        self.pos = start + len;
        (tok, start)
    }

    fn err<T>(&self, at: usize, message: impl Into<String>) -> Result<T, SelectorError> {
        Err(SelectorError::new(at, message))
    }

    fn parse(mut self) -> Result<Selector, SelectorError> {
        let mut sel = Selector::default();
        if self.peek().0 == Token::End {
            return Ok(sel);
        }
        loop {
            let req = self.requirement()?;
            sel.requirements.push(req);
            match self.next() {
                (Token::End, _) => break,
                (Token::Comma, _) => continue,
                (tok, at) => return self.err(at, format!("expected `,` or end, found {tok:?}")),
            }
        }
        sel.requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(sel)
    }

    fn with_pos<T>(r: Result<T, SelectorError>, at: usize) -> Result<T, SelectorError> {
        r.map_err(|mut e| {
            e.position = at;
            e
        })
    }

    fn requirement(&mut self) -> Result<Requirement, SelectorError> {
        let (tok, at) = self.next();
        let (negated, key, key_at) = match tok {
            Token::Bang => match self.next() {
                (Token::Ident(k), kat) => (true, k, kat),
                (t, kat) => return self.err(kat, format!("expected a key after `!`, found {t:?}")),
            },
            Token::Ident(k) => (false, k, at),
            t => return self.err(at, format!("expected a key, found {t:?}")),
        };
        if negated {
            return Self::with_pos(
                Requirement::new(key, Operator::DoesNotExist, Vec::<String>::new()),
                key_at,
            );
        }
        let (op_tok, op_at, _) = self.peek();
        let (operator, values) = match op_tok {
            Token::End | Token::Comma => (Operator::Exists, Vec::new()),
            Token::Eq | Token::DoubleEq | Token::NotEq | Token::Gt | Token::Lt => {
                self.next();
                let op = match op_tok {
                    Token::Eq | Token::DoubleEq => Operator::Equals,
                    Token::NotEq => Operator::NotEquals,
                    Token::Gt => Operator::GreaterThan,
                    _ => Operator::LessThan,
                };
                let value = match self.peek().0 {
                    Token::Ident(v) => {
                        self.next();
                        v
                    }
                    // `key=` selects the empty value, as in apimachinery.
                    Token::End | Token::Comma => "",
                    t => return self.err(self.pos, format!("expected a value, found {t:?}")),
                };
                (op, vec![value.to_owned()])
            }
            Token::Ident(word @ ("in" | "notin")) => {
                self.next();
                let op = if word == "in" {
                    Operator::In
                } else {
                    Operator::NotIn
                };
                (op, self.value_set()?)
            }
            t => {
                return self.err(
                    op_at,
                    format!("expected an operator (=, ==, !=, in, notin, >, <) after `{key}`, found {t:?}"),
                );
            }
        };
        Self::with_pos(Requirement::new(key, operator, values), key_at)
    }

    /// `( v1, v2, ... )`; empty entries stand for the empty value.
    fn value_set(&mut self) -> Result<Vec<String>, SelectorError> {
        match self.next() {
            (Token::Open, _) => {}
            (t, at) => return self.err(at, format!("expected `(`, found {t:?}")),
        }
        let mut values = Vec::new();
        let mut expect_value = true;
        loop {
            match self.next() {
                (Token::Ident(v), at) if expect_value => {
                    Self::with_pos(validate_value(v), at)?;
                    values.push(v.to_owned());
                    expect_value = false;
                }
                (Token::Comma, _) => {
                    if expect_value {
                        values.push(String::new());
                    }
                    expect_value = true;
                }
                (Token::Close, _) => {
                    // `()` is the empty value, as in apimachinery (and as
                    // `Display` writes a set holding only it).
                    if expect_value {
                        values.push(String::new());
                    }
                    break;
                }
                (t, at) => {
                    return self.err(at, format!("expected a value, `,` or `)`, found {t:?}"));
                }
            }
        }
        Ok(values)
    }
}

#[cfg(test)]
mod tests {
    //! Behaviours from apimachinery's labels/selector_test.go: parsing valid and
    //! invalid selectors, the canonical string form, and matching semantics of
    //! each operator (including absent labels for `!=`/`notin`).
    use super::*;

    /// apimachinery's `TestLabelSelectorAsSelector` and `TestParseToLabelSelector`.
    #[test]
    fn converts_to_and_from_label_selector_parts() {
        let none: [(&str, &str, Vec<&str>); 0] = [];
        assert!(
            Selector::from_label_selector([], none.clone())
                .unwrap()
                .is_empty()
        );
        let sel = Selector::from_label_selector(
            [("foo", "bar"), ("baz", "blah")],
            [
                ("qux", "In", vec!["b", "a"]),
                ("zot", "DoesNotExist", vec![]),
                ("x", "Exists", vec![]),
            ],
        )
        .unwrap();
        assert_eq!(sel.to_string(), "baz=blah,foo=bar,qux in (a,b),x,!zot");
        let (labels, expressions) = sel.to_label_selector().unwrap();
        assert_eq!(labels, [("baz", "blah"), ("foo", "bar")]);
        assert_eq!(
            expressions,
            [
                ("qux", "In", vec!["a", "b"]),
                ("x", "Exists", vec![]),
                ("zot", "DoesNotExist", vec![]),
            ]
        );
        for (key, operator, values) in [
            ("a", "Equals", vec!["b"]),
            ("a", "In", vec![]),
            ("a", "Exists", vec!["b"]),
            ("a b", "Exists", vec![]),
        ] {
            assert!(
                Selector::from_label_selector([], [(key, operator, values.clone())]).is_err(),
                "{key} {operator} {values:?}"
            );
        }
        for unrepresentable in ["a!=b", "a>1", "a<1"] {
            let e = Selector::parse(unrepresentable)
                .unwrap()
                .to_label_selector()
                .unwrap_err();
            assert!(e.message.contains(unrepresentable), "{e}");
        }
        let parsed = Selector::parse("env in (prod),tier notin (web),app==x").unwrap();
        let (labels, expressions) = parsed.to_label_selector().unwrap();
        assert_eq!(labels, [("app", "x")]);
        assert_eq!(
            expressions,
            [("env", "In", vec!["prod"]), ("tier", "NotIn", vec!["web"])]
        );
    }

    fn labels(pairs: &[(&str, &str)]) -> SortedMap<CompactString, CompactString> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn parses_valid_selectors_to_canonical_form() {
        let cases = [
            ("", ""),
            ("x=a", "x=a"),
            ("x==a", "x=a"),
            ("x=a,y!=b", "x=a,y!=b"),
            ("y!=b,x=a", "x=a,y!=b"),
            ("x in (a,b,c)", "x in (a,b,c)"),
            ("x notin ( c , a )", "x notin (a,c)"),
            ("!x", "!x"),
            ("x", "x"),
            ("x>1", "x>1"),
            ("x<-1", "x<-1"),
            ("x=", "x="),
            ("example.com/app=web", "example.com/app=web"),
            ("x in (a,)", "x in (,a)"),
            ("x in ()", "x in ()"),
            ("x notin (,)", "x notin ()"),
            (" x = a , !y ", "x=a,!y"),
        ];
        for (input, want) in cases {
            let sel = Selector::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(sel.to_string(), want, "input {input:?}");
            // The canonical form parses back to the same selector.
            assert_eq!(Selector::parse(want).unwrap(), sel);
        }
    }

    #[test]
    fn rejects_invalid_selectors_with_a_position() {
        let cases = [
            "x=a||y=b",
            "x==a==b",
            "!x=a",
            "x in",
            "x in (a",
            "x notin a",
            "x>a",
            "x<",
            ",",
            "x=a,",
            "-x=a",
            "Example.com/x=a",
            "x=-a",
            "x=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        ];
        for input in cases {
            let err = Selector::parse(input).expect_err(input);
            assert!(err.position <= input.len(), "{input:?}: {err}");
        }
    }

    #[test]
    fn operators_match_like_apimachinery() {
        let l = labels(&[("app", "web"), ("tier", "front"), ("n", "5")]);
        let yes = [
            "",
            "app=web",
            "app==web",
            "app!=db",
            "missing!=x",
            "app in (db,web)",
            "app notin (db)",
            "missing notin (x)",
            "app",
            "!missing",
            "n>4",
            "n<6",
            "app=web,tier=front",
        ];
        let no = [
            "app=db",
            "missing=x",
            "app!=web",
            "app in (db)",
            "missing in (x)",
            "app notin (web)",
            "missing",
            "!app",
            "n>5",
            "n<5",
            "app>1",
            "missing>1",
            "app=web,tier=back",
        ];
        for s in yes {
            assert!(Selector::parse(s).unwrap().matches(&l), "{s} should match");
        }
        for s in no {
            assert!(
                !Selector::parse(s).unwrap().matches(&l),
                "{s} should not match"
            );
        }
    }

    #[test]
    fn from_labels_selects_exactly_the_set() {
        let set = labels(&[("a", "1"), ("b", "2")]);
        let sel = Selector::from_labels(&set).unwrap();
        assert_eq!(sel.to_string(), "a=1,b=2");
        assert!(sel.matches(&labels(&[("a", "1"), ("b", "2"), ("c", "3")])));
        assert!(!sel.matches(&labels(&[("a", "1")])));
    }
}
