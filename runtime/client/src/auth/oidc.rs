//! The `oidc` auth-provider, as client-go's `plugin/pkg/client/auth/oidc`:
//!
//! - the kubeconfig's `id-token` is sent while its `exp` claim is more than
//!   10 s away;
//! - otherwise the `refresh-token` is exchanged (RFC 6749 section 6) at the
//!   token endpoint named by `{idp-issuer-url}/.well-known/openid-configuration`,
//!   trusting `idp-certificate-authority(-data)` (else the default roots); the
//!   client authenticates with HTTP Basic when it has a `client-secret`, else
//!   sends `client_id` in the form (a public client);
//! - the new ID token, and the new refresh token when the issuer rotated it,
//!   are written back into the kubeconfig file that defines the user, as
//!   client-go's persister does. A file that cannot be written is reported as
//!   a warning and the tokens are used from memory (client-go fails the
//!   request, and then every later one, with the spent refresh token);
//! - clones of one [`OidcAuth`] share their tokens, so one refresh serves
//!   every client built from one `Config` (client-go keeps a process-wide
//!   cache for this);
//! - a 401 does not refresh (nor in client-go): the token's expiry does.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::HeaderValue;
use http_body_util::{BodyExt as _, Full, Limited};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::transport::HttpClient;
use kubegen_core::error::{Error, Result, error_chain};

/// Refresh when the ID token expires within this (client-go's `expiryDelta`).
const EXPIRY_DELTA: Duration = Duration::from_secs(10);
/// The longest a refresh (discovery and token exchange) may take.
const REFRESH_TIMEOUT: Duration = Duration::from_secs(60);
/// The most of an issuer's answer that is read.
const MAX_ANSWER: usize = 1 << 20;

/// The `oidc` auth-provider of a kubeconfig user. `Debug` shows no token.
#[derive(Clone)]
pub struct OidcAuth {
    /// `idp-issuer-url`.
    pub issuer_url: String,
    /// `client-id`.
    pub client_id: String,
    /// `client-secret`.
    pub client_secret: Option<SecretString>,
    /// `idp-certificate-authority(-data)`: PEM roots for the issuer, else the default roots.
    pub issuer_ca_pem: Option<Vec<u8>>,
    /// The kubeconfig file and user entry refreshed tokens are written back to.
    pub write_back: Option<(PathBuf, String)>,
    tokens: Arc<tokio::sync::Mutex<Tokens>>,
}

struct Tokens {
    id_token: Option<SecretString>,
    refresh_token: Option<SecretString>,
}

impl OidcAuth {
    /// An `oidc` provider holding these tokens (either may be absent).
    pub fn new(
        issuer_url: impl Into<String>,
        client_id: impl Into<String>,
        id_token: Option<SecretString>,
        refresh_token: Option<SecretString>,
    ) -> Self {
        Self {
            issuer_url: issuer_url.into(),
            client_id: client_id.into(),
            client_secret: None,
            issuer_ca_pem: None,
            write_back: None,
            tokens: Arc::new(tokio::sync::Mutex::new(Tokens {
                id_token,
                refresh_token,
            })),
        }
    }
}

impl std::fmt::Debug for OidcAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcAuth")
            .field("issuer_url", &self.issuer_url)
            .field("client_id", &self.client_id)
            .field("write_back", &self.write_back)
            .finish_non_exhaustive()
    }
}

/// Sends the ID token, refreshing it through the issuer.
pub(crate) struct OidcRunner {
    auth: OidcAuth,
    /// A client for the issuer: its roots, the proxies of the environment.
    http: HttpClient,
}

impl std::fmt::Debug for OidcRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.auth.fmt(f)
    }
}

impl OidcRunner {
    pub(crate) fn new(auth: OidcAuth) -> Result<Self> {
        let issuer: http::Uri = auth.issuer_url.parse().map_err(|e| {
            Error::Config(format!("oidc idp-issuer-url {:?}: {e}", auth.issuer_url))
        })?;
        let mut cfg = crate::config::Config::new(issuer);
        cfg.root_cert_pem = auth.issuer_ca_pem.clone();
        let (http, _) = crate::transport::build_http_clients(&cfg, None)
            .map_err(|e| Error::Config(format!("oidc issuer {}: {e}", auth.issuer_url)))?;
        Ok(Self { auth, http })
    }

    pub(crate) async fn header(&self) -> Result<Option<HeaderValue>> {
        let mut tokens = self.auth.tokens.lock().await;
        if let Some(id) = &tokens.id_token
            && !id.expose_secret().is_empty()
            && unexpired(id.expose_secret())?
        {
            return super::bearer(id.expose_secret()).map(Some);
        }
        let Some(refresh) = tokens
            .refresh_token
            .clone()
            .filter(|t| !t.expose_secret().is_empty())
        else {
            return Err(Error::Auth(
                "oidc: no valid id-token, and no refresh-token to get one".into(),
            ));
        };
        let (id, rotated) = tokio::time::timeout(REFRESH_TIMEOUT, self.refresh(&refresh))
            .await
            .map_err(|_| {
                Error::Auth(format!(
                    "oidc: refreshing the token at {} took longer than {REFRESH_TIMEOUT:?}",
                    self.auth.issuer_url
                ))
            })??;
        let header = super::bearer(id.expose_secret())?;
        if let Some((path, user)) = &self.auth.write_back
            && let Err(e) = write_back(path, user, &id, rotated.as_ref())
        {
            tracing::warn!(
                kubeconfig = %path.display(), user, error = %e,
                "oidc: the refreshed tokens could not be written back; they are kept in memory only"
            );
        }
        tokens.id_token = Some(id);
        if rotated.is_some() {
            tokens.refresh_token = rotated;
        }
        Ok(Some(header))
    }

    /// Exchange the refresh token: the new ID token, and the new refresh
    /// token if the issuer sent one that differs.
    async fn refresh(
        &self,
        refresh_token: &SecretString,
    ) -> Result<(SecretString, Option<SecretString>)> {
        let issuer = self.auth.issuer_url.trim_end_matches('/');
        let discovery_url = format!("{issuer}/.well-known/openid-configuration");
        let req = http::Request::get(&discovery_url)
            .header(http::header::ACCEPT, "application/json")
            .body(Full::default())
            .map_err(|e| Error::Auth(format!("oidc: {discovery_url}: {e}")))?;
        let (status, body) = self.send(req, &discovery_url).await?;
        if !status.is_success() {
            let shown = String::from_utf8_lossy(&body[..body.len().min(80)]).into_owned();
            return Err(Error::Auth(format!(
                "oidc: {discovery_url} answered {status}: {shown:?}"
            )));
        }
        #[derive(Deserialize)]
        struct Discovery {
            #[serde(default)]
            token_endpoint: String,
        }
        let discovery: Discovery = serde_json::from_slice(&body)
            .map_err(|e| Error::Auth(format!("oidc: {discovery_url}: {e}")))?;
        let token_url = discovery.token_endpoint;
        if token_url.is_empty() {
            return Err(Error::Auth(format!(
                "oidc: {discovery_url} names no token_endpoint"
            )));
        }

        let req = self
            .token_request(&token_url, refresh_token)
            .map_err(|e| Error::Auth(format!("oidc: {token_url}: {e}")))?;
        let (status, body) = self.send(req, &token_url).await?;

        #[derive(Deserialize)]
        struct TokenAnswer {
            id_token: Option<SecretString>,
            refresh_token: Option<SecretString>,
            error: Option<String>,
            error_description: Option<String>,
        }
        // The answer holds tokens: a parse error must not quote it.
        let answer: Option<TokenAnswer> = serde_json::from_slice(&body).ok();
        if !status.is_success() {
            // RFC 6749 section 5.2: `error`, and maybe `error_description`.
            let said = match answer {
                Some(TokenAnswer {
                    error: Some(e),
                    error_description: Some(d),
                    ..
                }) => format!(": {e} ({d})"),
                Some(TokenAnswer { error: Some(e), .. }) => format!(": {e}"),
                _ => String::new(),
            };
            return Err(Error::Auth(format!(
                "oidc: refreshing the token at {token_url} failed: {status}{said}"
            )));
        }
        let answer = answer.ok_or_else(|| {
            Error::Auth(format!(
                "oidc: {token_url} answered something that is not a token response"
            ))
        })?;
        let id = answer
            .id_token
            .filter(|t| !t.expose_secret().is_empty())
            .ok_or_else(|| {
                Error::Auth(format!(
                    "oidc: {token_url} sent no id_token: the scope \"openid\" was not requested at \
                     login, or the issuer does not return ID tokens on refresh"
                ))
            })?;
        let rotated = answer.refresh_token.filter(|t| {
            !t.expose_secret().is_empty() && t.expose_secret() != refresh_token.expose_secret()
        });
        Ok((id, rotated))
    }

    /// The refresh request (RFC 6749 section 6). With a client secret the
    /// client authenticates by HTTP Basic, both parts form-encoded first
    /// (section 2.3.1); without one it is a public client and names itself in
    /// the form.
    fn token_request(
        &self,
        token_url: &str,
        refresh_token: &SecretString,
    ) -> std::result::Result<http::Request<Full<Bytes>>, String> {
        use base64::Engine as _;
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "refresh_token")
            .append_pair("refresh_token", refresh_token.expose_secret());
        let mut req = http::Request::post(token_url)
            .header(http::header::ACCEPT, "application/json")
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            );
        match &self.auth.client_secret {
            Some(secret) => {
                let enc =
                    |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
                let raw = format!(
                    "{}:{}",
                    enc(&self.auth.client_id),
                    enc(secret.expose_secret())
                );
                let basic = base64::engine::general_purpose::STANDARD.encode(raw);
                let mut v = HeaderValue::from_str(&format!("Basic {basic}"))
                    .map_err(|_| "the client credentials are not a valid header".to_owned())?;
                v.set_sensitive(true);
                req = req.header(http::header::AUTHORIZATION, v);
            }
            None => {
                form.append_pair("client_id", &self.auth.client_id);
            }
        }
        req.body(Full::new(Bytes::from(form.finish())))
            .map_err(|e| e.to_string())
    }

    async fn send(
        &self,
        req: http::Request<Full<Bytes>>,
        url: &str,
    ) -> Result<(http::StatusCode, Bytes)> {
        let resp = self
            .http
            .request(req)
            .await
            .map_err(|e| Error::Auth(format!("oidc: {url}: {}", error_chain(&e))))?;
        let status = resp.status();
        let body = Limited::new(resp.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| Error::Auth(format!("oidc: {url}: reading the answer: {e}")))?
            .to_bytes();
        Ok((status, body))
    }
}

/// Whether a JWT's `exp` is more than [`EXPIRY_DELTA`] away. A token that is
/// not a JWT, or has no `exp`, is an error (as in client-go): the server
/// would refuse it anyway.
fn unexpired(jwt: &str) -> Result<bool> {
    use base64::Engine as _;
    let bad = |why: &str| Error::Auth(format!("oidc: the id-token is not a valid JWT: {why}"));
    let mut parts = jwt.trim().split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("it does not have three parts"));
    };
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| bad("its claims are not base64url"))?;
    #[derive(Deserialize)]
    struct Claims {
        exp: Option<serde_json::Number>,
    }
    let claims: Claims = serde_json::from_slice(&payload)
        .map_err(|_| bad("its claims are not a JSON object with a numeric `exp`"))?;
    let exp = claims
        .exp
        .and_then(|n| n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)))
        .ok_or_else(|| bad("it has no numeric `exp` claim"))?;
    let now = jiff::Timestamp::now().as_second();
    Ok(now.saturating_add(EXPIRY_DELTA.as_secs() as i64) < exp)
}

/// Write the tokens into `users[name == user].user.auth-provider.config` of
/// the kubeconfig at `path`, keeping everything else; the file is replaced
/// atomically and keeps its permissions.
fn write_back(
    path: &std::path::Path,
    user: &str,
    id_token: &SecretString,
    refresh_token: Option<&SecretString>,
) -> std::result::Result<(), String> {
    use serde_yaml_ng::Value;
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let mut doc: Value = serde_yaml_ng::from_str(&text).map_err(|e| e.to_string())?;
    let entry = doc
        .get_mut("users")
        .and_then(Value::as_sequence_mut)
        .and_then(|users| {
            users
                .iter_mut()
                .find(|u| u.get("name").and_then(Value::as_str) == Some(user))
        })
        .and_then(|u| u.get_mut("user"))
        .and_then(|u| u.get_mut("auth-provider"))
        .and_then(Value::as_mapping_mut)
        .ok_or_else(|| format!("user {user:?} has no auth-provider entry"))?;
    let config = entry
        .entry("config".into())
        .or_insert_with(|| Value::Mapping(Default::default()));
    if config.is_null() {
        *config = Value::Mapping(Default::default());
    }
    let config = config
        .as_mapping_mut()
        .ok_or("its auth-provider config is not a map")?;
    config.insert("id-token".into(), id_token.expose_secret().into());
    if let Some(r) = refresh_token {
        config.insert("refresh-token".into(), r.expose_secret().into());
    }
    let out = serde_yaml_ng::to_string(&doc).map_err(|e| e.to_string())?;
    let perms = std::fs::metadata(path)
        .map_err(|e| e.to_string())?
        .permissions();
    let tmp = path.with_file_name(format!(
        ".{}.kubegen-tmp",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("kubeconfig")
    ));
    std::fs::write(&tmp, out)
        .and_then(|()| std::fs::set_permissions(&tmp, perms))
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            e.to_string()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn jwt(claims: &str) -> String {
        let b = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.sig", b(r#"{"alg":"RS256"}"#), b(claims))
    }

    #[test]
    fn expiry_keeps_a_margin_and_bad_tokens_are_errors() {
        let now = jiff::Timestamp::now().as_second();
        assert!(unexpired(&jwt(&format!(r#"{{"exp":{}}}"#, now + 60))).unwrap());
        assert!(!unexpired(&jwt(&format!(r#"{{"exp":{}}}"#, now + 5))).unwrap());
        assert!(!unexpired(&jwt(&format!(r#"{{"exp":{}}}"#, now - 5))).unwrap());
        assert!(unexpired(&jwt(&format!(r#"{{"exp":{}.5}}"#, now + 60))).unwrap());
        for bad in [
            "abc",
            "a.b",
            &jwt(r#"{"sub":"x"}"#),
            &jwt(r#"{"exp":"soon"}"#),
            "a.!!.c",
        ] {
            let err = unexpired(bad).unwrap_err().to_string();
            assert!(err.contains("not a valid JWT"), "{err}");
        }
    }

    #[test]
    fn write_back_keeps_the_rest_of_the_file_and_its_mode() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(
            &path,
            "apiVersion: v1\nkind: Config\ncurrent-context: x\nusers:\n\
             - name: other\n  user: {token: keep-me}\n\
             - name: me\n  user:\n    auth-provider:\n      name: oidc\n      config:\n        \
             client-id: c\n        id-token: old\n        refresh-token: r1\n",
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        write_back(&path, "me", &"new-id".into(), Some(&"r2".into())).unwrap();
        let doc: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let cfg = &doc["users"][1]["user"]["auth-provider"]["config"];
        assert_eq!(cfg["id-token"].as_str(), Some("new-id"));
        assert_eq!(cfg["refresh-token"].as_str(), Some("r2"));
        assert_eq!(cfg["client-id"].as_str(), Some("c"));
        assert_eq!(doc["users"][0]["user"]["token"].as_str(), Some("keep-me"));
        assert_eq!(doc["current-context"].as_str(), Some("x"));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);

        // Without a rotated refresh token the old one stays.
        write_back(&path, "me", &"newer-id".into(), None).unwrap();
        let doc: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let cfg = &doc["users"][1]["user"]["auth-provider"]["config"];
        assert_eq!(cfg["id-token"].as_str(), Some("newer-id"));
        assert_eq!(cfg["refresh-token"].as_str(), Some("r2"));

        let err = write_back(&path, "nobody", &"x".into(), None).unwrap_err();
        assert!(err.contains("nobody"), "{err}");
    }
}
