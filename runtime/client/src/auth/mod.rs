//! Credentials: what a request carries to prove who it is from.
//!
//! [`AuthConfig`] is the static description (from a kubeconfig, in-cluster
//! files, or code). At client build time it becomes an `Authenticator`, which
//! produces the `Authorization` header per request:
//!
//! - a bearer token or basic auth: fixed;
//! - a token file (kubeconfig `tokenFile`, the in-cluster service-account
//!   token): re-read whenever the file's modification time or size changes,
//!   and at least once a minute, so rotated tokens are picked up (client-go
//!   re-reads on a one-minute cache);
//! - an exec plugin: run on first use, its token cached until its
//!   `expirationTimestamp` (or until the server answers 401), then run again;
//! - the `oidc` auth-provider: its ID token, refreshed through the issuer
//!   when it expires and written back to the kubeconfig (see `oidc`).
//!
//! Client certificates are presented during the TLS handshake instead (see
//! the transport): fixed ones from kubeconfig data; ones read from kubeconfig
//! files, re-read when the files change; or the one an exec plugin returned
//! (`client_cert`). Impersonation adds `Impersonate-*` headers.
//!
//! Every secret is held in a `secrecy` box and every header built from one is
//! marked sensitive, so neither `Debug` output, errors nor logs show them.

mod client_cert;
mod exec;
mod oidc;
mod token_file;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;
use http::HeaderValue;
use secrecy::{ExposeSecret, SecretSlice, SecretString};

pub use exec::{DEFAULT_EXEC_TIMEOUT, ExecAuth, InteractiveMode};
pub use oidc::OidcAuth;

use kubegen_core::error::{Error, Result};

/// How requests authenticate. Several may be set (a client certificate and a
/// token, say); then, as in client-go, the token is sent and the certificate
/// presented, and a token wins over basic auth, an exec plugin over both,
/// and each of them over an `oidc` provider.
#[derive(Clone, Debug, Default)]
pub struct AuthConfig {
    /// Client certificate and key presented in the TLS handshake.
    pub client_certificate: Option<ClientCertificate>,
    /// A fixed bearer token.
    pub token: Option<SecretString>,
    /// A file holding the bearer token, re-read when it changes.
    pub token_file: Option<PathBuf>,
    /// Basic auth (user name, password).
    pub basic: Option<(String, SecretString)>,
    /// A credential plugin.
    pub exec: Option<ExecAuth>,
    /// The `oidc` auth-provider.
    pub oidc: Option<OidcAuth>,
    /// Act as another user.
    pub impersonate: Option<Impersonate>,
}

/// A client certificate chain and its private key, both PEM.
#[derive(Clone)]
pub struct ClientCertificate {
    /// PEM certificate chain (not secret).
    pub cert_pem: Vec<u8>,
    /// PEM private key: RSA (PKCS#1), EC (SEC1) or PKCS#8.
    pub key_pem: SecretSlice<u8>,
    /// The certificate and key files the PEM came from (kubeconfig
    /// `client-certificate` and `client-key`): when set, the client re-reads
    /// them when they change instead of using `cert_pem` and `key_pem`.
    pub files: Option<(PathBuf, PathBuf)>,
}

impl std::fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("cert_pem", &format_args!("{} bytes", self.cert_pem.len()))
            .field("key_pem", &"[REDACTED]")
            .field("files", &self.files)
            .finish()
    }
}

/// Impersonation (`Impersonate-User`, `-Uid`, `-Group`, `-Extra-*` headers).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Impersonate {
    /// The user to act as.
    pub user: String,
    /// Its UID, if any.
    pub uid: Option<String>,
    /// Groups to act as a member of.
    pub groups: Vec<String>,
    /// Extra user info.
    pub extra: BTreeMap<String, Vec<String>>,
}

impl Impersonate {
    /// Impersonate `user`.
    pub fn user(user: impl Into<String>) -> Self {
        Self {
            user: user.into(),
            ..Self::default()
        }
    }

    pub(crate) fn headers(&self) -> Result<Vec<(http::HeaderName, HeaderValue)>> {
        let hv = |v: &str| {
            HeaderValue::from_str(v).map_err(|_| {
                Error::Config(format!(
                    "impersonation value {v:?} is not a valid header value"
                ))
            })
        };
        let mut out = vec![(
            http::HeaderName::from_static("impersonate-user"),
            hv(&self.user)?,
        )];
        if let Some(uid) = &self.uid {
            out.push((http::HeaderName::from_static("impersonate-uid"), hv(uid)?));
        }
        for g in &self.groups {
            out.push((http::HeaderName::from_static("impersonate-group"), hv(g)?));
        }
        for (k, vs) in &self.extra {
            // Header names are case-insensitive, so keys are percent-encoded
            // (as client-go does) to survive the trip.
            let name = format!("impersonate-extra-{}", percent_encode_header_key(k));
            let name = http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                Error::Config(format!("impersonation extra key {k:?} is not valid"))
            })?;
            for v in vs {
                out.push((name.clone(), hv(v)?));
            }
        }
        Ok(out)
    }
}

fn percent_encode_header_key(k: &str) -> String {
    let mut out = String::new();
    for b in k.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b.to_ascii_lowercase() as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Produces the `Authorization` header of each request, and the client
/// certificate when it can change.
#[derive(Clone, Debug)]
pub(crate) struct Authenticator {
    header: HeaderSource,
    /// The certificate presented when it is not fixed: from an exec plugin or files.
    client_cert: Option<Arc<DynamicClientCert>>,
    /// Checked before each request for a rotated certificate.
    cert_files: Option<Arc<client_cert::CertFiles>>,
}

#[derive(Clone, Debug)]
enum HeaderSource {
    None,
    Static(HeaderValue),
    TokenFile(Arc<token_file::TokenFile>),
    Exec(Arc<exec::ExecRunner>),
    Oidc(Arc<oidc::OidcRunner>),
}

impl Authenticator {
    pub(crate) fn new(auth: &AuthConfig, cluster: exec::ClusterInfo) -> Result<Self> {
        let mut cert_files = None;
        let client_cert = match &auth.client_certificate {
            Some(ClientCertificate {
                files: Some((cert, key)),
                ..
            }) => {
                let target = Arc::new(DynamicClientCert::default());
                cert_files = Some(Arc::new(client_cert::CertFiles::new(
                    cert.clone(),
                    key.clone(),
                    target.clone(),
                )?));
                Some(target)
            }
            // A fixed certificate wins over an exec plugin's, as in client-go.
            Some(_) => None,
            None => auth.exec.as_ref().map(|_| Arc::default()),
        };
        Ok(Self {
            header: HeaderSource::new(auth, cluster, client_cert.clone())?,
            client_cert,
            cert_files,
        })
    }

    /// The client certificate to present, when it can change.
    pub(crate) fn client_cert(&self) -> Option<Arc<DynamicClientCert>> {
        self.client_cert.clone()
    }

    /// The header for the next request, refreshing rotated credentials
    /// (the client certificate files too).
    pub(crate) async fn header(&self) -> Result<Option<HeaderValue>> {
        if let Some(files) = &self.cert_files {
            files.refresh()?;
        }
        match &self.header {
            HeaderSource::None => Ok(None),
            HeaderSource::Static(v) => Ok(Some(v.clone())),
            HeaderSource::TokenFile(f) => f.header().map(Some),
            HeaderSource::Exec(e) => e.header().await,
            HeaderSource::Oidc(o) => o.header().await,
        }
    }

    /// The server answered 401: drop cached credentials so the next request
    /// fetches fresh ones.
    pub(crate) fn invalidate(&self) {
        match &self.header {
            HeaderSource::TokenFile(f) => f.invalidate(),
            HeaderSource::Exec(e) => e.invalidate(),
            // client-go refreshes an ID token by its expiry, not on a 401.
            HeaderSource::None | HeaderSource::Static(_) | HeaderSource::Oidc(_) => {}
        }
    }
}

impl HeaderSource {
    fn new(
        auth: &AuthConfig,
        cluster: exec::ClusterInfo,
        client_cert: Option<Arc<DynamicClientCert>>,
    ) -> Result<Self> {
        if let Some(e) = &auth.exec {
            return Ok(Self::Exec(Arc::new(exec::ExecRunner::new(
                e.clone(),
                cluster,
                client_cert,
            ))));
        }
        if let Some(t) = &auth.token {
            return Ok(Self::Static(bearer(t.expose_secret())?));
        }
        if let Some(p) = &auth.token_file {
            return Ok(Self::TokenFile(Arc::new(token_file::TokenFile::new(
                p.clone(),
            )?)));
        }
        if let Some((user, pass)) = &auth.basic {
            let raw = format!("{user}:{}", pass.expose_secret());
            let enc = base64::engine::general_purpose::STANDARD.encode(raw);
            let mut v = HeaderValue::from_str(&format!("Basic {enc}"))
                .map_err(|_| Error::Auth("basic auth credentials are not a valid header".into()))?;
            v.set_sensitive(true);
            return Ok(Self::Static(v));
        }
        if let Some(o) = &auth.oidc {
            return Ok(Self::Oidc(Arc::new(oidc::OidcRunner::new(o.clone())?)));
        }
        Ok(Self::None)
    }
}

/// `Bearer <token>`, marked sensitive so it is never logged.
pub(crate) fn bearer(token: &str) -> Result<HeaderValue> {
    let mut v = HeaderValue::from_str(&format!("Bearer {}", token.trim())).map_err(|_| {
        Error::Auth("the bearer token contains characters not allowed in a header".into())
    })?;
    v.set_sensitive(true);
    Ok(v)
}

pub(crate) use client_cert::DynamicClientCert;
pub(crate) use exec::ClusterInfo;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_appear_in_debug() {
        let auth = AuthConfig {
            client_certificate: Some(ClientCertificate {
                cert_pem: b"CERT".to_vec(),
                key_pem: SecretSlice::from(b"-----BEGIN PRIVATE KEY----- topsecretkey".to_vec()),
                files: None,
            }),
            token: Some("topsecrettoken".into()),
            basic: Some(("me".into(), "topsecretpass".into())),
            ..Default::default()
        };
        let dbg = format!("{auth:?}");
        assert!(!dbg.contains("topsecret"), "{dbg}");
        let a = Authenticator::new(&auth, ClusterInfo::default()).unwrap();
        let dbg = format!("{a:?}");
        assert!(!dbg.contains("topsecret"), "{dbg}");
    }

    #[test]
    fn impersonation_headers_encode_extra_keys() {
        let mut imp = Impersonate::user("jane");
        imp.groups = vec!["g1".into(), "g2".into()];
        imp.extra.insert("Scopes/X".into(), vec!["a".into()]);
        let h = imp.headers().unwrap();
        let names: Vec<String> = h.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(
            names,
            [
                "impersonate-user",
                "impersonate-group",
                "impersonate-group",
                "impersonate-extra-scopes%2fx"
            ]
        );
    }
}
