//! The string formats the API server checks in custom resources (those of
//! kube-openapi's format registry).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use regex::Regex;

/// Whether `s` is a valid `format`: `Some(true|false)`, or `None` when the
/// server checks the format and this crate does not.
pub(crate) fn check(format: &str, s: &str) -> Option<bool> {
    Some(match format {
        "uuid" => matches(&UUID, UUID_RE, s),
        "uuid3" => matches(&UUID3, UUID3_RE, s),
        "uuid4" => matches(&UUID4, UUID4_RE, s),
        "uuid5" => matches(&UUID5, UUID5_RE, s),
        "ipv4" => s.parse::<Ipv4Addr>().is_ok(),
        "ipv6" => s.contains(':') && s.parse::<Ipv6Addr>().is_ok(),
        "cidr" => cidr(s),
        "mac" => mac(s),
        "hostname" => s.len() <= 255 && matches(&HOSTNAME, HOSTNAME_RE, s),
        "email" => matches(&EMAIL, EMAIL_RE, s),
        "uri" => uri(s),
        "byte" => {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.decode(s).is_ok()
        }
        "date" => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok(),
        "date-time" | "datetime" => chrono::DateTime::parse_from_rfc3339(s).is_ok(),
        "duration" => matches(&DURATION, DURATION_RE, s),
        "bsonobjectid" => s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit()),
        "hexcolor" => matches(&HEXCOLOR, HEXCOLOR_RE, s),
        "rgbcolor" => matches(&RGBCOLOR, RGBCOLOR_RE, s),
        "isbn" | "isbn10" | "isbn13" | "creditcard" | "ssn" => return None,
        // Formats the server does not check (`int32`, `password`, ...).
        _ => true,
    })
}

const UUID_RE: &str = "(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$";
const UUID3_RE: &str = "(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$";
const UUID4_RE: &str =
    "(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$";
const UUID5_RE: &str =
    "(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$";
const HOSTNAME_RE: &str = r"^([a-zA-Z0-9\p{S}\p{L}]((-?[a-zA-Z0-9\p{S}\p{L}]{0,62})?)|([a-zA-Z0-9\p{S}\p{L}](([a-zA-Z0-9-\p{S}\p{L}]{0,61}[a-zA-Z0-9\p{S}\p{L}])?)(\.)){1,}([a-zA-Z\p{L}]){2,63})$";
/// What Go's `net/mail.ParseAddress` takes, for the plain `local@domain` form.
const EMAIL_RE: &str = r"^[^@\s<>()\[\],;:]+@[^@\s<>()\[\],;:]+$";
const DURATION_RE: &str = r"^(?:\d+(?:\.\d+)?\s*(?:ns|us|µs|ms|s|m|h|d|w)\s*)+$";
const HEXCOLOR_RE: &str = "^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$";
const RGBCOLOR_RE: &str = r"^rgb\(\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*,\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*,\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*\)$";

static UUID: OnceLock<Regex> = OnceLock::new();
static UUID3: OnceLock<Regex> = OnceLock::new();
static UUID4: OnceLock<Regex> = OnceLock::new();
static UUID5: OnceLock<Regex> = OnceLock::new();
static HOSTNAME: OnceLock<Regex> = OnceLock::new();
static EMAIL: OnceLock<Regex> = OnceLock::new();
static DURATION: OnceLock<Regex> = OnceLock::new();
static HEXCOLOR: OnceLock<Regex> = OnceLock::new();
static RGBCOLOR: OnceLock<Regex> = OnceLock::new();

fn matches(cell: &OnceLock<Regex>, re: &str, s: &str) -> bool {
    cell.get_or_init(|| Regex::new(re).expect("the format expressions are valid"))
        .is_match(s)
}

/// Go's `net.ParseCIDR`: an address and a prefix length within its width.
fn cidr(s: &str) -> bool {
    let Some((ip, bits)) = s.split_once('/') else {
        return false;
    };
    let Ok(ip) = ip.parse::<IpAddr>() else {
        return false;
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    !bits.is_empty()
        && bits.len() <= 3
        && bits.bytes().all(|b| b.is_ascii_digit())
        && bits.parse::<u32>().is_ok_and(|b| b <= max)
}

/// Go's `net.ParseMAC`: 6, 8 or 20 octets as `aa:bb:..`, `aa-bb-..` or
/// `aabb.ccdd...`.
fn mac(s: &str) -> bool {
    let hex = |g: &str, n: usize| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit());
    let octets = |n: usize| n == 6 || n == 8 || n == 20;
    for sep in [':', '-'] {
        let groups: Vec<&str> = s.split(sep).collect();
        if groups.len() > 1 && groups.iter().all(|g| hex(g, 2)) {
            return octets(groups.len());
        }
    }
    let groups: Vec<&str> = s.split('.').collect();
    groups.len() > 1 && groups.iter().all(|g| hex(g, 4)) && octets(groups.len() * 2)
}

/// Go's `url.ParseRequestURI`: an absolute URI, or an absolute path.
fn uri(s: &str) -> bool {
    if s.is_empty() || s.chars().any(|c| c.is_control() || c == ' ') {
        return false;
    }
    if s.starts_with('/') {
        return true;
    }
    match s.split_once(':') {
        Some((scheme, _)) => {
            let mut c = scheme.chars();
            c.next().is_some_and(|f| f.is_ascii_alphabetic())
                && c.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn formats() {
        for (format, good, bad) in [
            ("ipv4", "10.0.0.1", "1.2.3"),
            ("ipv6", "::1", "10.0.0.1"),
            ("cidr", "10.0.0.0/8", "10.0.0.0/33"),
            ("mac", "01:23:45:67:89:ab", "01:23:45"),
            ("uuid", "123e4567-e89b-12d3-a456-426614174000", "123e4567"),
            ("uri", "https://example.com/x", "not a uri"),
            ("hostname", "example.com", "-bad-"),
            ("email", "a@example.com", "not an address"),
            ("date", "2024-02-29", "2023-02-29"),
            ("date-time", "2024-01-02T03:04:05Z", "2024-01-02"),
            ("duration", "1h30m", "soon"),
            ("byte", "aGVsbG8=", "***"),
        ] {
            assert_eq!(check(format, good), Some(true), "{format} {good}");
            assert_eq!(check(format, bad), Some(false), "{format} {bad}");
        }
        assert_eq!(check("int32", "anything"), Some(true));
        assert_eq!(check("isbn", "x"), None);
    }
}
