//! Which proxy carries the connections to the API server, chosen as
//! client-go chooses it: the kubeconfig's `proxy-url`
//! ([`Config::proxy_url`]) when set, else the environment, read as Go's
//! `http.ProxyFromEnvironment` reads it.
//!
//! - `proxy-url` takes `http://`, `https://` and `socks5://` (client-go's
//!   three) and applies to the server whatever its name; `NO_PROXY` does not
//!   apply to it.
//! - From the environment: `HTTPS_PROXY` (else `https_proxy`) for an
//!   `https://` server, `HTTP_PROXY` (else `http_proxy`) for an `http://`
//!   one. An empty value counts as unset; a value without a scheme is
//!   `http://`; `socks5h://` is taken as well (Go's transport takes it).
//!   `ALL_PROXY` is not read (Go does not). Under CGI (`REQUEST_METHOD` set)
//!   `HTTP_PROXY` is refused, as Go refuses it (httpoxy).
//! - The environment never proxies `localhost` or a loopback address, nor a
//!   server that `NO_PROXY` (else `no_proxy`) names, by Go's rules:
//!   comma-separated entries; `*` for every host; an IP address or a CIDR
//!   range; `example.com` for itself and its subdomains, `.example.com` and
//!   `*.example.com` for its subdomains only; an entry with `:port` only for
//!   that port. (hyper-util's `Matcher` follows curl instead: no loopback
//!   rule, no ports, `.example.com` matching `example.com` too.)
//! - The environment is read once, when a [`RestClient`](crate::RestClient)
//!   is built.
//! - Credentials in the URL (`user:password@`, percent-decoded) go to the
//!   proxy: `Proxy-Authorization: Basic` on the CONNECT, or SOCKS5
//!   username/password (RFC 1929). They never appear in `Debug` output,
//!   errors or logs.
//! - The proxy resolves the server's name: CONNECT carries it, and SOCKS5
//!   sends it as a name, as Go's SOCKS5 dialer does.

use std::fmt;
use std::net::IpAddr;

use http::Uri;
use percent_encoding::percent_decode_str;
use secrecy::SecretString;

use crate::config::{Config, redact_userinfo};
use kubegen_core::error::{Error, Result};

/// How a proxy is spoken to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// HTTP CONNECT over plain TCP.
    Http,
    /// HTTP CONNECT inside TLS to the proxy.
    Https,
    /// SOCKS5 CONNECT.
    Socks5,
}

/// A proxy to reach the server through.
#[derive(Clone)]
pub(crate) struct Proxy {
    pub(crate) protocol: Protocol,
    /// `scheme://host:port/`, the port filled in, without credentials.
    pub(crate) uri: Uri,
    /// User name and password, percent-decoded.
    pub(crate) credentials: Option<(String, SecretString)>,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("protocol", &self.protocol)
            .field("uri", &self.uri)
            .field("credentials", &self.credentials.as_ref().map(|_| "***"))
            .finish()
    }
}

/// The proxy for `cfg`'s server: [`Config::proxy_url`], else the one the
/// environment (looked up through `env`) names for it, if any.
pub(crate) fn proxy_for(
    cfg: &Config,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<Proxy>> {
    match &cfg.proxy_url {
        Some(url) => parse(&url.to_string(), "proxy-url", &["http", "https", "socks5"]).map(Some),
        None => from_env(&cfg.cluster_url, env),
    }
}

fn from_env(server: &Uri, env: impl Fn(&str) -> Option<String>) -> Result<Option<Proxy>> {
    let first = |names: [&'static str; 2]| {
        names
            .into_iter()
            .find_map(|name| env(name).filter(|v| !v.is_empty()).map(|v| (name, v)))
    };
    let (https, default_port) = match server.scheme_str() {
        Some("https") => (true, 443),
        Some("http") => (false, 80),
        _ => return Ok(None),
    };
    let Some((var, value)) = first(if https {
        ["HTTPS_PROXY", "https_proxy"]
    } else {
        ["HTTP_PROXY", "http_proxy"]
    }) else {
        return Ok(None);
    };
    if !https && env("REQUEST_METHOD").is_some_and(|m| !m.is_empty()) {
        return Err(Error::Config(format!(
            "{var} is refused in a CGI environment (REQUEST_METHOD is set): see golang.org/s/cgihttpproxy"
        )));
    }
    let Some(host) = server.host() else {
        return Ok(None);
    };
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    let port = server.port_u16().unwrap_or(default_port);
    if is_loopback(&host) {
        return Ok(None);
    }
    if let Some((_, no_proxy)) = first(["NO_PROXY", "no_proxy"])
        && no_proxy_matches(&no_proxy, &host, port)
    {
        return Ok(None);
    }
    let value = if value.contains("://") {
        value
    } else {
        format!("http://{value}")
    };
    parse(&value, var, &["http", "https", "socks5", "socks5h"]).map(Some)
}

/// `localhost` and loopback addresses, which the environment never proxies.
fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

/// Whether a `NO_PROXY` list exempts `host` (lower case, IPv6 without
/// brackets) on `port`, by Go's rules (golang.org/x/net/http/httpproxy).
fn no_proxy_matches(list: &str, host: &str, port: u16) -> bool {
    let ip = host.parse::<IpAddr>().ok().map(|ip| ip.to_canonical());
    let port = port.to_string();
    list.split(',').any(|entry| {
        let entry = entry.trim().to_ascii_lowercase();
        if entry == "*" {
            return true;
        }
        if let Some((net, bits)) = parse_cidr(&entry) {
            return ip.is_some_and(|ip| cidr_contains(net, bits, ip));
        }
        let (entry_host, entry_port) = split_host_port(&entry).unwrap_or((&entry, ""));
        if entry_host.is_empty() || !(entry_port.is_empty() || entry_port == port) {
            return false;
        }
        if let Ok(entry_ip) = entry_host.parse::<IpAddr>() {
            return ip == Some(entry_ip.to_canonical());
        }
        if ip.is_some() {
            return false;
        }
        // `*.example.com` and `.example.com`: subdomains; `example.com`: itself too.
        let domain = if entry_host.starts_with("*.") {
            &entry_host[1..]
        } else {
            entry_host
        };
        match domain.strip_prefix('.') {
            Some(_) => host.ends_with(domain),
            None => host == domain || host.ends_with(&format!(".{domain}")),
        }
    })
}

/// `host:port` or `[v6]:port`, as Go's `net.SplitHostPort`.
fn split_host_port(s: &str) -> Option<(&str, &str)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return Some((host, after.strip_prefix(':')?));
    }
    let (host, port) = s.rsplit_once(':')?;
    (!host.contains(':')).then_some((host, port))
}

fn parse_cidr(s: &str) -> Option<(IpAddr, u32)> {
    let (addr, bits) = s.split_once('/')?;
    let net: IpAddr = addr.parse().ok()?;
    let bits: u32 = bits.parse().ok()?;
    let max = if net.is_ipv4() { 32 } else { 128 };
    (bits <= max).then_some((net, bits))
}

fn cidr_contains(net: IpAddr, bits: u32, ip: IpAddr) -> bool {
    match (net.to_canonical(), ip) {
        (IpAddr::V4(net), IpAddr::V4(ip)) => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            (u32::from(net) ^ u32::from(ip)) & mask == 0
        }
        (IpAddr::V6(net), IpAddr::V6(ip)) => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            (u128::from(net) ^ u128::from(ip)) & mask == 0
        }
        _ => false,
    }
}

/// A proxy URL from `source` (`proxy-url` or an environment variable) with
/// one of `schemes`; errors name the source and show the URL redacted.
fn parse(url: &str, source: &str, schemes: &[&str]) -> Result<Proxy> {
    let bad = |why: String| Error::Config(format!("{source} {}: {why}", redact_userinfo(url)));
    let uri: Uri = url.parse().map_err(|e| bad(format!("not a URL: {e}")))?;
    let scheme = uri.scheme_str().unwrap_or_default();
    let (protocol, default_port) = match scheme {
        s if !schemes.contains(&s) => {
            return Err(bad(format!(
                "unsupported scheme {s:?}, must be one of {}",
                schemes.join(", ")
            )));
        }
        "http" => (Protocol::Http, 80),
        "https" => (Protocol::Https, 443),
        _ => (Protocol::Socks5, 1080),
    };
    let host = uri
        .host()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| bad("no host".into()))?;
    let port = uri.port_u16().unwrap_or(default_port);
    let target = format!("{scheme}://{host}:{port}/")
        .parse()
        .map_err(|e| bad(format!("not a URL: {e}")))?;
    let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
    let credentials = uri
        .authority()
        .and_then(|a| a.as_str().rsplit_once('@'))
        .map(|(userinfo, _)| {
            let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
            (decode(user), SecretString::from(decode(password)))
        });
    Ok(Proxy {
        protocol,
        uri: target,
        credentials,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret as _;
    use std::collections::BTreeMap;

    fn server(url: &str) -> Config {
        Config::new(url.parse().unwrap())
    }

    fn env_proxy(url: &str, vars: &[(&str, &str)]) -> Result<Option<Proxy>> {
        let vars: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        proxy_for(&server(url), |name| vars.get(name).cloned())
    }

    fn uri(p: Result<Option<Proxy>>) -> Option<String> {
        p.unwrap().map(|p| p.uri.to_string())
    }

    #[test]
    fn no_proxy_follows_gos_rules() {
        let cases = [
            ("*", "api.example.com", 443, true),
            ("example.com", "example.com", 443, true),
            ("example.com", "api.example.com", 443, true),
            ("example.com", "notexample.com", 443, false),
            (".example.com", "example.com", 443, false),
            (".example.com", "api.example.com", 443, true),
            ("*.example.com", "example.com", 443, false),
            ("*.example.com", "api.example.com", 443, true),
            ("EXAMPLE.com", "api.example.com", 443, true),
            ("example.com:6443", "example.com", 6443, true),
            ("example.com:6443", "example.com", 443, false),
            ("10.0.0.0/8", "10.1.2.3", 443, true),
            ("10.0.0.0/8", "11.1.2.3", 443, false),
            ("10.0.0.0/8", "ten.example", 443, false),
            ("fd00::/8", "fd12::1", 443, true),
            ("10.1.2.3", "10.1.2.3", 443, true),
            ("10.1.2.3:80", "10.1.2.3", 443, false),
            ("[fd12::1]:443", "fd12::1", 443, true),
            ("10.1.2.3", "ten.example", 443, false),
            (" other.org , example.com ", "api.example.com", 443, true),
            (",,", "example.com", 443, false),
            (":443", "example.com", 443, false),
        ];
        for (list, host, port, want) in cases {
            assert_eq!(
                no_proxy_matches(list, host, port),
                want,
                "NO_PROXY={list:?} {host}:{port}"
            );
        }
    }

    #[test]
    fn the_environment_names_a_proxy_by_the_servers_scheme() {
        let vars = [
            ("HTTPS_PROXY", "http://secure-proxy:3128"),
            ("https_proxy", "http://ignored:1"),
            ("HTTP_PROXY", "plain-proxy:8080"),
            ("ALL_PROXY", "http://never:1"),
        ];
        assert_eq!(
            uri(env_proxy("https://api.example.com:6443", &vars)).as_deref(),
            Some("http://secure-proxy:3128/")
        );
        // No scheme: http://, with its default port.
        assert_eq!(
            uri(env_proxy("http://api.example.com", &vars)).as_deref(),
            Some("http://plain-proxy:8080/")
        );
        // An empty value counts as unset; the lower-case name is next.
        assert_eq!(
            uri(env_proxy(
                "https://api.example.com",
                &[("HTTPS_PROXY", ""), ("https_proxy", "socks5h://s")]
            ))
            .as_deref(),
            Some("socks5h://s:1080/")
        );
        // ALL_PROXY alone is not read.
        assert_eq!(
            uri(env_proxy(
                "https://api.example.com",
                &[("ALL_PROXY", "http://p:1")]
            )),
            None
        );
    }

    #[test]
    fn the_environment_never_proxies_loopback_or_no_proxy_servers() {
        let vars = [
            ("HTTPS_PROXY", "http://proxy:3128"),
            ("no_proxy", ".internal"),
        ];
        for server in [
            "https://localhost:6443",
            "https://127.0.0.1:6443",
            "https://127.9.9.9",
            "https://[::1]:6443",
            "https://[::ffff:127.0.0.1]:6443",
            "https://api.internal:6443",
        ] {
            assert_eq!(uri(env_proxy(server, &vars)), None, "{server}");
        }
        assert!(uri(env_proxy("https://10.0.0.1", &vars)).is_some());
    }

    #[test]
    fn proxy_url_wins_and_ignores_no_proxy_and_loopback() {
        let mut cfg = server("https://127.0.0.1:6443");
        cfg.proxy_url = Some("socks5://proxy".parse().unwrap());
        let p = proxy_for(&cfg, |name| {
            Some(
                if name == "NO_PROXY" {
                    "*"
                } else {
                    "http://env:1"
                }
                .to_owned(),
            )
        })
        .unwrap()
        .unwrap();
        assert_eq!(
            (p.protocol, p.uri.to_string()),
            (Protocol::Socks5, "socks5://proxy:1080/".into())
        );
    }

    #[test]
    fn credentials_are_decoded_and_never_shown() {
        let mut cfg = server("https://api.example.com");
        cfg.proxy_url = Some("https://us%40er:pa%3Ass@proxy:8443/path".parse().unwrap());
        let p = proxy_for(&cfg, |_| None).unwrap().unwrap();
        let (user, password) = p.credentials.as_ref().unwrap();
        assert_eq!(
            (user.as_str(), password.expose_secret()),
            ("us@er", "pa:ss")
        );
        assert_eq!(
            (p.protocol, p.uri.to_string()),
            (Protocol::Https, "https://proxy:8443/".into())
        );
        let shown = format!("{p:?}");
        assert!(!shown.contains("pa:ss") && shown.contains("***"), "{shown}");
        // A user without a password sends an empty one, as Go does.
        cfg.proxy_url = Some("http://alice@proxy".parse().unwrap());
        let p = proxy_for(&cfg, |_| None).unwrap().unwrap();
        let (user, password) = p.credentials.unwrap();
        assert_eq!((user.as_str(), password.expose_secret()), ("alice", ""));
    }

    #[test]
    fn bad_proxies_are_config_errors_naming_the_source_without_credentials() {
        let mut cfg = server("https://api.example.com");
        // client-go's proxy-url takes socks5, not socks5h.
        cfg.proxy_url = Some("socks5h://u:hunter2@proxy:1080".parse().unwrap());
        let err = proxy_for(&cfg, |_| None).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::Config(_)), "{err:?}");
        assert!(
            msg.contains("proxy-url socks5h://***@proxy:1080")
                && msg.contains("unsupported scheme"),
            "{msg}"
        );
        assert!(!msg.contains("hunter2"), "{msg}");

        for (var, value, shown) in [
            (
                "HTTPS_PROXY",
                "ftp://u:hunter2@p",
                "HTTPS_PROXY ftp://***@p",
            ),
            (
                "https_proxy",
                "http://u:hunter2@ bad",
                "https_proxy http://***@ bad",
            ),
        ] {
            let err = env_proxy("https://api.example.com", &[(var, value)])
                .unwrap_err()
                .to_string();
            assert!(err.contains(shown) && !err.contains("hunter2"), "{err}");
        }
    }

    #[test]
    fn http_proxy_is_refused_under_cgi() {
        let vars = [
            ("HTTP_PROXY", "http://p:1"),
            ("HTTPS_PROXY", "http://p:2"),
            ("REQUEST_METHOD", "GET"),
        ];
        let err = env_proxy("http://api.example.com", &vars).unwrap_err();
        assert!(err.to_string().contains("HTTP_PROXY"), "{err}");
        assert!(uri(env_proxy("https://api.example.com", &vars)).is_some());
    }
}
