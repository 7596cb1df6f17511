//! Comparing resourceVersions, as apimachinery's `util/resourceversion`.
//!
//! A resourceVersion is opaque to clients except for this: the server's
//! versions are decimal integers without leading zeros, and a larger one is
//! a later write. Comparing by length, then by digits, orders them without
//! parsing, so versions past `u64` still compare.

use std::cmp::Ordering;

/// A resourceVersion that is not a decimal integer without leading zeros
/// (`""`, `"0"` and `"0100"` included).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("resource version is not well formed: {0:?}")]
pub struct InvalidResourceVersion(pub String);

/// Orders two resourceVersions the server wrote: `Less` when `a` is the
/// earlier write.
///
/// ```
/// use std::cmp::Ordering;
/// use kubegen_core::resource_version::compare;
///
/// assert_eq!(compare("99", "100"), Ok(Ordering::Less));
/// assert!(compare("0", "1").is_err());
/// ```
pub fn compare(a: &str, b: &str) -> Result<Ordering, InvalidResourceVersion> {
    for rv in [a, b] {
        if !is_well_formed(rv) {
            return Err(InvalidResourceVersion(rv.to_owned()));
        }
    }
    Ok(a.len().cmp(&b.len()).then_with(|| a.cmp(b)))
}

fn is_well_formed(rv: &str) -> bool {
    !rv.starts_with('0') && !rv.is_empty() && rv.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// apimachinery's `TestCompareResourceVersion` cases.
    #[test]
    fn orders_as_apimachinery_does() {
        let ok = [
            ("100", "200", Ordering::Less),
            ("200", "100", Ordering::Greater),
            ("1", "1", Ordering::Equal),
            ("100", "100", Ordering::Equal),
            ("99", "100", Ordering::Less),
            ("100", "99", Ordering::Greater),
            (
                "18446744073709551616000",
                "18446744073709551615999",
                Ordering::Greater,
            ),
        ];
        for (a, b, want) in ok {
            assert_eq!(compare(a, b), Ok(want), "{a} vs {b}");
        }
        let bad = [
            ("0", "1", "0"),
            ("0", "0", "0"),
            ("1", "0", "0"),
            ("0100", "100", "0100"),
            ("100", "0100", "0100"),
            ("", "100", ""),
            ("100", "", ""),
            ("1a", "1", "1a"),
            ("1", "-1", "-1"),
            ("+1", "1", "+1"),
            ("1 ", "1", "1 "),
        ];
        for (a, b, culprit) in bad {
            assert_eq!(
                compare(a, b),
                Err(InvalidResourceVersion(culprit.to_owned())),
                "{a:?} vs {b:?}"
            );
        }
    }
}
