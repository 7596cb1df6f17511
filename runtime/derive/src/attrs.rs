//! Parsing helpers shared by both macros: CEL rules, single-use keys, and
//! "did you mean" hints for misspelt keys.

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::{Error, LitStr, Result};

/// One `validation = "rule"` or `validation(rule = "...", message = "...", ...)`.
pub struct Rule {
    pub rule: LitStr,
    pub message: Option<LitStr>,
    pub message_expression: Option<LitStr>,
    pub reason: Option<LitStr>,
    pub field_path: Option<LitStr>,
}

/// The `reason`s the API server knows for a failed rule.
const REASONS: &[&str] = &[
    "FieldValueInvalid",
    "FieldValueForbidden",
    "FieldValueRequired",
    "FieldValueDuplicate",
];

impl Rule {
    /// Parse the value of a `validation` key (either form).
    pub fn parse(meta: &ParseNestedMeta) -> Result<Rule> {
        if meta.input.peek(syn::Token![=]) {
            let rule: LitStr = meta.value()?.parse()?;
            non_empty(&rule, "validation")?;
            return Ok(Rule {
                rule,
                message: None,
                message_expression: None,
                reason: None,
                field_path: None,
            });
        }
        let mut rule = None;
        let mut message = None;
        let mut message_expression = None;
        let mut reason = None;
        let mut field_path = None;
        meta.parse_nested_meta(|m| {
            let key = ident_of(&m)?;
            let slot = match key.as_str() {
                "rule" => &mut rule,
                "message" => &mut message,
                "message_expression" => &mut message_expression,
                "reason" => &mut reason,
                "field_path" => &mut field_path,
                other => {
                    return Err(unknown(
                        &m,
                        other,
                        "validation",
                        &[
                            "rule",
                            "message",
                            "message_expression",
                            "reason",
                            "field_path",
                        ],
                    ));
                }
            };
            set_once(slot, m.value()?.parse()?, &m, &key)
        })?;
        let Some(rule) = rule else {
            return Err(meta.error("validation(...) needs `rule = \"<CEL expression>\"`"));
        };
        non_empty(&rule, "rule")?;
        if let Some(r) = &reason
            && !REASONS.contains(&r.value().as_str())
        {
            return Err(Error::new(
                r.span(),
                format!("reason must be one of {}", REASONS.join(", ")),
            ));
        }
        if message.is_some() && message_expression.is_some() {
            // The server allows both, but then ignores `message`: say so now.
            return Err(meta.error("give `message` or `message_expression`, not both"));
        }
        Ok(Rule {
            rule,
            message,
            message_expression,
            reason,
            field_path,
        })
    }
}

/// The key of a nested meta item as a string (keywords such as `type` included).
pub fn ident_of(meta: &ParseNestedMeta) -> Result<String> {
    meta.path
        .get_ident()
        .map(ToString::to_string)
        .ok_or_else(|| Error::new_spanned(&meta.path, "expected a single key such as `group`"))
}

/// Store a key's value, refusing a second occurrence.
pub fn set_once<T>(
    slot: &mut Option<T>,
    value: T,
    meta: &ParseNestedMeta,
    key: &str,
) -> Result<()> {
    if slot.is_some() {
        return Err(meta.error(format!("`{key}` is given twice")));
    }
    *slot = Some(value);
    Ok(())
}

/// A flag key (no value), refusing a second occurrence.
pub fn set_flag(slot: &mut Option<Span>, meta: &ParseNestedMeta, key: &str) -> Result<()> {
    if !meta.input.is_empty() && !meta.input.peek(syn::Token![,]) {
        return Err(meta.error(format!("`{key}` is a flag and takes no value")));
    }
    set_once(slot, meta.path.span_of_first(), meta, key)
}

/// The error for a key nobody knows, with the closest known one if it is a
/// likely typo.
pub fn unknown(meta: &ParseNestedMeta, key: &str, within: &str, known: &[&str]) -> Error {
    let hint = known
        .iter()
        .map(|k| (distance(key, k), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min()
        .map(|(_, k)| format!("; did you mean `{k}`?"))
        .unwrap_or_default();
    meta.error(format!(
        "unknown key `{key}` in #[kubegen({within}...)]{hint} (known: {})",
        known.join(", ")
    ))
}

pub fn non_empty(lit: &LitStr, what: &str) -> Result<()> {
    if lit.value().trim().is_empty() {
        return Err(Error::new(
            lit.span(),
            format!("`{what}` must not be empty"),
        ));
    }
    Ok(())
}

/// Levenshtein distance, for typo hints.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

trait SpanOfFirst {
    fn span_of_first(&self) -> Span;
}

impl SpanOfFirst for syn::Path {
    fn span_of_first(&self) -> Span {
        self.segments
            .first()
            .map(|s| s.ident.span())
            .unwrap_or_else(Span::call_site)
    }
}
