//! Quantities as numbers: parse, compare, add, subtract and the server's
//! canonical form, with apimachinery's `resource.Quantity` rules.
//!
//! [`Quantity`] keeps the text as written (what a read-modify-write must
//! send back); [`Quantity::parse`] gives a [`ParsedQuantity`]: the exact
//! value in billionths (the finest a quantity holds: finer values round up
//! in magnitude, `0.1n` is `1n`) and the format its suffix asked for, which
//! the canonical form keeps. Values past ±1.7 × 10²⁰ (the range of an
//! `i128` of billionths) are refused rather than approximated; binary-SI
//! values are capped at 2⁶³ − 1, as Go caps them.

use std::cmp::Ordering;
use std::fmt;

use crate::meta::Quantity;

/// The suffix family of a quantity, kept by its canonical form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// `Ki`, `Mi`, ... `Ei`: powers of 1024.
    BinarySI,
    /// `n`, `u`, `m`, none, `k`, `M`, ... `E`: powers of 1000.
    DecimalSI,
    /// `e3`, `E-6`: a power of ten.
    DecimalExponent,
}

/// Why a quantity does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("quantity {text:?}: {reason}")]
pub struct QuantityError {
    text: String,
    reason: &'static str,
}

/// A quantity's exact value and format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ParsedQuantity {
    nanos: i128,
    format: Format,
    /// Go keeps the text as written when it is already in a canonical
    /// shape (its parser's fast path); then this is the text's decimal scale.
    verbatim: Option<i32>,
}

const NANO: i128 = 1_000_000_000;
const DECIMAL_SUFFIXES: [(&str, i32); 10] = [
    ("n", -9),
    ("u", -6),
    ("m", -3),
    ("", 0),
    ("k", 3),
    ("M", 6),
    ("G", 9),
    ("T", 12),
    ("P", 15),
    ("E", 18),
];
const BINARY_SUFFIXES: [&str; 7] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];

impl Quantity {
    /// The value and format of this quantity.
    pub fn parse(&self) -> Result<ParsedQuantity, QuantityError> {
        ParsedQuantity::parse(&self.0)
    }

    /// The form the API server stores and answers with (`1.5` → `1500m`,
    /// `1.5Gi` → `1536Mi`, `1000m` → `1`). As Go, text already in a
    /// canonical shape is kept as written (`1E3`, `+1`).
    pub fn canonical(&self) -> Result<Quantity, QuantityError> {
        let parsed = self.parse()?;
        Ok(match parsed.verbatim {
            Some(_) => self.clone(),
            None => parsed.to_quantity(),
        })
    }

    /// [`canonical`](Self::canonical) after [`ParsedQuantity::round_up`]:
    /// what the server stores of a core/v1 resource list value (`-3`).
    pub fn round_up(&self, scale: i32) -> Result<Quantity, QuantityError> {
        let parsed = self.parse()?;
        if parsed.verbatim.is_some_and(|s| s >= scale) {
            return Ok(self.clone());
        }
        parsed
            .round_up(scale)
            .map(|p| p.to_quantity())
            .ok_or(QuantityError {
                text: self.0.to_string(),
                reason: "out of range",
            })
    }
}

impl ParsedQuantity {
    /// Parses `<sign><digits>[.<digits>]<suffix>`.
    pub fn parse(text: &str) -> Result<Self, QuantityError> {
        let fail = |reason| QuantityError {
            text: text.to_owned(),
            reason,
        };
        let (negative, rest) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            Some(_) => (false, text),
            None => return Err(fail("empty")),
        };
        let int_end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (int, after) = rest.split_at(int_end);
        let (frac, suffix) = match after.strip_prefix('.') {
            Some(f) => {
                let end = f.find(|c: char| !c.is_ascii_digit()).unwrap_or(f.len());
                f.split_at(end)
            }
            None => ("", after),
        };
        if int.is_empty() && frac.is_empty() {
            return Err(fail("no digits"));
        }
        let (format, base2, exponent) = interpret(suffix).ok_or_else(|| fail("unknown suffix"))?;
        let digits: String = [int, frac].concat();
        let digits = digits.trim_start_matches('0');
        let mantissa: i128 = if digits.is_empty() {
            0
        } else {
            digits.parse().map_err(|_| fail("too many digits"))?
        };
        let frac_len = i32::try_from(frac.len()).map_err(|_| fail("too many digits"))?;
        // |value| = mantissa × 10^-frac_len × base^exponent; in billionths, rounded up.
        let mut nanos = if base2 {
            let factor = 1i128
                .checked_shl(u32::try_from(exponent).map_err(|_| fail("out of range"))?)
                .ok_or_else(|| fail("out of range"))?;
            let scaled = mantissa
                .checked_mul(factor)
                .and_then(|m| m.checked_mul(NANO))
                .ok_or_else(|| fail("out of range"))?;
            div_ceil_pow10(scaled, frac_len)
        } else {
            let power = exponent - frac_len + 9;
            if power >= 0 {
                pow10(power)
                    .and_then(|p| mantissa.checked_mul(p))
                    .ok_or_else(|| fail("out of range"))?
            } else {
                div_ceil_pow10(mantissa, -power)
            }
        };
        let mut format = format;
        if format == Format::BinarySI {
            nanos = nanos.min(i128::from(i64::MAX) * NANO);
            if nanos < NANO {
                // Below one, binary suffixes cannot show it.
                format = Format::DecimalSI;
            }
        }
        Ok(Self {
            nanos: if negative { -nanos } else { nanos },
            format,
            verbatim: verbatim_scale(text, int, frac, format, exponent),
        })
    }

    /// The value in billionths.
    pub fn nanos(&self) -> i128 {
        self.nanos
    }

    /// The format its canonical form uses.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The value rounded up to a whole number (Go's `Value`), `None` past `i64`.
    pub fn value(&self) -> Option<i64> {
        i64::try_from(ceil_div(self.nanos, NANO)).ok()
    }

    /// The value in thousandths, rounded up (Go's `MilliValue`), `None` past `i64`.
    pub fn milli_value(&self) -> Option<i64> {
        i64::try_from(ceil_div(self.nanos, 1_000_000)).ok()
    }

    /// Rounded up in magnitude to a multiple of 10^`scale` (Go's `RoundUp`;
    /// `-3` is what the server does to every core/v1 resource list).
    /// Scales below -9 change nothing; `None` on overflow.
    pub fn round_up(&self, scale: i32) -> Option<Self> {
        let Some(step) = scale.checked_add(9).filter(|p| *p > 0).map(pow10) else {
            return Some(*self);
        };
        let step = step?;
        let rounded = ceil_div(self.nanos.abs(), step).checked_mul(step)?;
        Some(Self {
            nanos: if self.nanos < 0 { -rounded } else { rounded },
            format: self.format,
            verbatim: None,
        })
    }

    /// The value as a float (approximate).
    pub fn as_f64(&self) -> f64 {
        self.nanos as f64 / NANO as f64
    }

    /// `self + other`, in `self`'s format (`other`'s when `self` is zero);
    /// `None` on overflow.
    pub fn checked_add(&self, other: &Self) -> Option<Self> {
        Some(Self {
            nanos: self.nanos.checked_add(other.nanos)?,
            format: if self.nanos == 0 {
                other.format
            } else {
                self.format
            },
            verbatim: None,
        })
    }

    /// `self - other`, in `self`'s format; `None` on overflow.
    pub fn checked_sub(&self, other: &Self) -> Option<Self> {
        Some(Self {
            nanos: self.nanos.checked_sub(other.nanos)?,
            format: if self.nanos == 0 {
                other.format
            } else {
                self.format
            },
            verbatim: None,
        })
    }

    /// The canonical text as a [`Quantity`].
    pub fn to_quantity(&self) -> Quantity {
        Quantity(compact_str::format_compact!("{self}"))
    }
}

impl PartialOrd for ParsedQuantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ParsedQuantity {
    /// By value; equal values of different formats order by format, so
    /// `Ord` agrees with `Eq`.
    fn cmp(&self, other: &Self) -> Ordering {
        self.nanos
            .cmp(&other.nanos)
            .then_with(|| (self.format as u8).cmp(&(other.format as u8)))
    }
}

impl fmt::Display for ParsedQuantity {
    /// The canonical form: no fractional digits, the largest suffix that
    /// loses nothing, the suffix family kept (binary only for whole values
    /// of at least 1024 in magnitude).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nanos == 0 {
            return f.write_str("0");
        }
        let binary = self.format == Format::BinarySI
            && self.nanos.abs() >= 1024 * NANO
            && self.nanos % NANO == 0;
        if binary {
            let (mut m, mut k) = (self.nanos / NANO, 0);
            while k < BINARY_SUFFIXES.len() - 1 && m % 1024 == 0 {
                m /= 1024;
                k += 1;
            }
            return write!(f, "{m}{}", BINARY_SUFFIXES[k]);
        }
        let (mut m, mut e) = (self.nanos, -9i32);
        while m % 10 == 0 {
            m /= 10;
            e += 1;
        }
        match e.rem_euclid(3) {
            1 => {
                m *= 10;
                e -= 1;
            }
            2 => {
                m *= 100;
                e -= 2;
            }
            _ => {}
        }
        let decimal = DECIMAL_SUFFIXES.iter().find(|(_, x)| *x == e);
        match (self.format, decimal) {
            (Format::DecimalExponent, _) if e == 0 => write!(f, "{m}"),
            (Format::DecimalExponent, _) | (_, None) => write!(f, "{m}e{e}"),
            (_, Some((suffix, _))) => write!(f, "{m}{suffix}"),
        }
    }
}

/// The decimal scale of `text` when Go's parser keeps it as written (its
/// fast path: the value fits an int64 at a scale of at least -9, and the
/// digits show no reducible factor).
fn verbatim_scale(text: &str, int: &str, frac: &str, format: Format, exponent: i32) -> Option<i32> {
    if text == "0" {
        return Some(0);
    }
    let num = match int.trim_start_matches('0') {
        "" => "0",
        n => n,
    };
    let digits = i32::try_from(num.len() + frac.len()).ok()?;
    let frac_len = i32::try_from(frac.len()).ok()?;
    let (precision, scale, multiplier) = match format {
        Format::DecimalSI | Format::DecimalExponent => (18 - digits, exponent - frac_len, 1i64),
        Format::BinarySI if frac.is_empty() => {
            let precision = 15 - digits - exponent * 3 / 10 - 1;
            (
                precision,
                0,
                1i64.checked_shl(u32::try_from(exponent).ok()?)?,
            )
        }
        Format::BinarySI => return None,
    };
    if precision < 0 || scale < -9 {
        return None;
    }
    let shifted = [num, frac].concat();
    let value: i64 = shifted.parse().ok()?;
    value.checked_mul(multiplier)?;
    let kept = match format {
        Format::BinarySI => exponent % 10 == 0 && value & 0x07 != 0,
        _ => scale % 3 == 0 && !shifted.ends_with("000") && !shifted.starts_with('0'),
    };
    kept.then_some(scale)
}

/// (format, base 2?, exponent) of a suffix.
fn interpret(suffix: &str) -> Option<(Format, bool, i32)> {
    if let Some((_, e)) = DECIMAL_SUFFIXES.iter().find(|(s, _)| *s == suffix) {
        return Some((Format::DecimalSI, false, *e));
    }
    if let Some(k) = BINARY_SUFFIXES[1..].iter().position(|s| *s == suffix) {
        return Some((Format::BinarySI, true, 10 * (k as i32 + 1)));
    }
    let exponent = suffix.strip_prefix(['e', 'E'])?;
    let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((Format::DecimalExponent, false, exponent.parse().ok()?))
}

fn pow10(p: i32) -> Option<i128> {
    10i128.checked_pow(u32::try_from(p).ok()?)
}

/// `n / d` rounded towards positive infinity (`d` > 0).
fn ceil_div(n: i128, d: i128) -> i128 {
    n.div_euclid(d) + i128::from(n.rem_euclid(d) != 0)
}

/// `n / 10^p` rounded up (n ≥ 0).
fn div_ceil_pow10(n: i128, p: i32) -> i128 {
    match pow10(p) {
        Some(d) => ceil_div(n, d),
        // Past 10^38 every non-zero n is below one unit: it rounds up to 1.
        None => i128::from(n != 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(s: &str) -> String {
        ParsedQuantity::parse(s).unwrap().to_string()
    }

    #[test]
    fn canonical_forms_match_apimachinery() {
        // From apimachinery's quantity_test.go (TestQuantityParse and friends).
        for (input, want) in [
            ("0", "0"),
            ("0n", "0"),
            ("0u", "0"),
            ("0m", "0"),
            ("0Ki", "0"),
            ("0k", "0"),
            ("0Mi", "0"),
            ("0e0", "0"),
            ("0.0", "0"),
            ("-0", "0"),
            ("1", "1"),
            ("1.5", "1500m"),
            ("1.5Gi", "1536Mi"),
            ("1000m", "1"),
            ("1001m", "1001m"),
            ("100m", "100m"),
            ("0.1", "100m"),
            ("0.1m", "100u"),
            ("0.1n", "1n"),
            ("1n", "1n"),
            ("1u", "1u"),
            ("1k", "1k"),
            ("1000", "1k"),
            ("1024", "1024"),
            ("1Ki", "1Ki"),
            ("1024Ki", "1Mi"),
            ("1025Ki", "1025Ki"),
            ("1536Ki", "1536Ki"),
            ("0.5Ki", "512"),
            ("0.5Mi", "512Ki"),
            ("1.1Ki", "1126400m"),
            ("1E", "1E"),
            ("1e3", "1e3"),
            ("1E3", "1e3"),
            ("1e-3", "1e-3"),
            ("1.5e3", "1500"),
            ("100e-3", "100e-3"),
            ("12e6", "12e6"),
            ("1000e0", "1e3"),
            ("-1", "-1"),
            ("-1.5", "-1500m"),
            ("-1Ki", "-1Ki"),
            ("-100m", "-100m"),
            ("+1", "1"),
            (".5", "500m"),
            ("5.", "5"),
            ("007", "7"),
        ] {
            assert_eq!(canonical(input), want, "{input}");
        }
    }

    #[test]
    fn text_already_canonical_is_kept_as_go_keeps_it() {
        let canonical = |s: &str| Quantity(s.into()).canonical().unwrap().0.to_string();
        for (input, want) in [
            ("1E3", "1E3"),
            ("+1", "+1"),
            ("007", "007"),
            ("5.", "5."),
            ("1Ki", "1Ki"),
            ("1.5Gi", "1536Mi"),
            ("1000m", "1"),
            (".5", "500m"),
            ("1000e0", "1e3"),
        ] {
            assert_eq!(canonical(input), want, "{input}");
        }
        let rounded = |s: &str| Quantity(s.into()).round_up(-3).unwrap().0.to_string();
        assert_eq!(rounded("1E3"), "1E3");
        assert_eq!(rounded("1n"), "1m");
        assert_eq!(rounded("100u"), "1m");
    }

    #[test]
    fn bad_quantities_are_errors_naming_the_text() {
        for bad in [
            "", "-", ".", "1.2.3", "1Q", "1i", "1e", "1e+", "1Kib", "abc", "1 Ki",
        ] {
            let e = ParsedQuantity::parse(bad).unwrap_err();
            assert!(e.to_string().contains(&format!("{bad:?}")), "{e}");
        }
        assert!(ParsedQuantity::parse("1e100").is_err());
    }

    #[test]
    fn values_compare_and_add_as_numbers() {
        let q = |s: &str| ParsedQuantity::parse(s).unwrap();
        assert!(q("1") > q("999m"));
        assert_eq!(q("1").nanos(), q("1000m").nanos());
        assert!(q("1Ki") > q("1k"));
        assert_eq!(q("1.5").value(), Some(2));
        assert_eq!(q("-1.5").value(), Some(-1));
        assert_eq!(q("1.5").milli_value(), Some(1500));
        assert_eq!(q("1n").milli_value(), Some(1));
        let sum = q("1Gi").checked_add(&q("512Mi")).unwrap();
        assert_eq!(sum.to_string(), "1536Mi");
        assert_eq!(q("1").checked_sub(&q("100m")).unwrap().to_string(), "900m");
        assert_eq!(q("0").checked_add(&q("1Ki")).unwrap().to_string(), "1Ki");
        assert_eq!(q("0.1m").round_up(-3).unwrap().to_string(), "1m");
        assert_eq!(q("-1.0001").round_up(-3).unwrap().to_string(), "-1001m");
        assert_eq!(q("1.5").round_up(0).unwrap().to_string(), "2");
        assert_eq!(q("1n").round_up(-9).unwrap().to_string(), "1n");
        // Binary values are capped at 2^63 - 1.
        assert_eq!(q("16Ei").value(), Some(i64::MAX));
        assert_eq!(
            Quantity("1.5Gi".into()).canonical().unwrap(),
            Quantity("1536Mi".into())
        );
    }
}
