//! Where the API server is and how to talk to it: [`Config`], from a
//! kubeconfig, from in-cluster files, or built by hand.
//!
//! [`Config::infer`] looks, in order, at `$KUBECONFIG` (a list of files merged
//! as kubectl merges them), `~/.kube/config`, and the in-cluster service
//! account, and uses the first that exists. Every error names the file and
//! the entry (cluster, user, context, field) at fault.
//!
//! Transport defaults, and why:
//! - TLS is verified against the kubeconfig's CA (or the webpki roots when the
//!   cluster names none). `insecure-skip-tls-verify` is honoured only when the
//!   kubeconfig asks for it, and then logged as a warning on every client build.
//! - Client-side rate limiting is **off** by default: current API servers do
//!   flow control themselves (API Priority and Fairness), and a 5 QPS default
//!   throttles controllers for no gain. [`Config::rate_limit`] with
//!   [`RateLimit::CLIENT_GO_DEFAULT`] (QPS 5, burst 10) restores client-go's.
//! - Requests time out after 295 s waiting for response headers (watches
//!   too; a watch's length is then the server's `timeoutSeconds`) and after
//!   295 s reading a body; connects after 30 s.
//! - A dead connection is noticed even when nothing resets it (a NAT or load
//!   balancer that drops its state): an HTTP/2 connection that has read
//!   nothing for 30 s is pinged and closed when the ping is not answered
//!   within 15 s (client-go's HTTP/2 health check), and every TCP connection
//!   sends keepalive probes after 30 s idle (client-go's dialer). Reflectors
//!   add a progress deadline on their watches for HTTP/1.1.
//! - 429 and 5xx answers with `Retry-After` are retried up to `max_retries`
//!   times (default 5; 5xx only for GET/HEAD), waiting as the server asked.
//!   So are requests that never reached the server (connection refused) and
//!   GET/HEAD requests whose connection broke; a write whose fate is unknown
//!   is never retried.

mod kubeconfig;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use secrecy::{ExposeSecret, SecretSlice};

pub use kubeconfig::{
    AuthProvider, Cluster, Context, ExecConfig, ExecEnvVar, Kubeconfig, NamedCluster, NamedContext,
    NamedUser, User,
};

use crate::auth::{
    AuthConfig, ClientCertificate, ExecAuth, Impersonate, InteractiveMode, OidcAuth,
};
use kubegen_core::error::{Error, Result};

/// Where the in-cluster service account's files are mounted.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// Client-side token bucket: `qps` tokens per second, up to `burst` at once.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    /// Sustained requests per second.
    pub qps: f32,
    /// Requests allowed at once after an idle period.
    pub burst: u32,
}

impl RateLimit {
    /// client-go's `rest.Config` defaults (QPS 5, burst 10).
    pub const CLIENT_GO_DEFAULT: RateLimit = RateLimit {
        qps: 5.0,
        burst: 10,
    };
}

/// Called with the text of each `Warning:` header the server sends.
#[derive(Clone)]
pub struct WarningHandler(pub Arc<dyn Fn(&str) + Send + Sync>);

impl WarningHandler {
    /// A handler that passes each distinct warning text to `handler` once
    /// and drops repeats, as kubectl's (client-go's `WarningWriter` with
    /// `Deduplicate`): a controller that lists a deprecated kind every few
    /// seconds warns once.
    pub fn deduplicating(handler: impl Fn(&str) + Send + Sync + 'static) -> Self {
        let seen = std::sync::Mutex::new(std::collections::HashSet::<String>::new());
        Self(Arc::new(move |warning: &str| {
            let first = seen
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(warning.to_owned());
            if first {
                handler(warning);
            }
        }))
    }
}

impl fmt::Debug for WarningHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WarningHandler")
    }
}

/// Code around each HTTP exchange of a client (client-go's
/// `WrapTransport`; what kube-rs users do with tower layers): set or change
/// headers before a request goes out (tracing context, an extra credential),
/// observe every answer (metrics, audit logs). Both run once per attempt,
/// retries included, in the order the middleware were added; the defaults do
/// nothing. The headers seen include the credentials: never log them.
pub trait Middleware: Send + Sync + 'static {
    /// Before an attempt is sent: its method, URI and headers, which may be
    /// changed.
    fn before(&self, _request: &mut http::request::Parts) {}

    /// After an attempt: the request as sent, the answer's status and
    /// headers or the transport error, and how long the headers took.
    fn after(
        &self,
        _request: &http::request::Parts,
        _answer: std::result::Result<(http::StatusCode, &http::HeaderMap), &Error>,
        _elapsed: Duration,
    ) {
    }
}

/// Everything needed to build a [`RestClient`](crate::RestClient).
#[derive(Clone)]
pub struct Config {
    /// Base URL of the API server (`https://host:port[/prefix]`).
    pub cluster_url: http::Uri,
    /// Namespace used when a caller asks for "the default namespace".
    pub default_namespace: String,
    /// PEM CA bundle to verify the server with; `None` uses the webpki roots.
    pub root_cert_pem: Option<Vec<u8>>,
    /// Verify the server certificate against this name instead of the URL's host.
    pub tls_server_name: Option<String>,
    /// Skip server certificate verification. Dangerous; logged loudly.
    pub insecure_skip_tls_verify: bool,
    /// The proxy to reach the server through (kubeconfig `proxy-url`):
    /// `http://` (HTTP CONNECT), `https://` (CONNECT inside TLS to the
    /// proxy) or `socks5://`; `user:password@` in it is sent to the proxy.
    /// `None` takes one from the environment as Go does (`HTTPS_PROXY`,
    /// `HTTP_PROXY`, `NO_PROXY`; never for loopback servers), read when the
    /// [`RestClient`](crate::RestClient) is built.
    pub proxy_url: Option<http::Uri>,
    /// Credentials.
    pub auth: AuthConfig,
    /// TCP connect timeout.
    pub connect_timeout: Option<Duration>,
    /// How long to wait for response headers (every request, watches too),
    /// and for a whole body (not for watches and other streams).
    pub read_timeout: Option<Duration>,
    /// Ping an HTTP/2 connection that has read nothing for this long, and close
    /// it when the ping goes unanswered for [`http2_ping_timeout`](Self::http2_ping_timeout).
    /// `None` turns the health check off.
    pub http2_read_idle_timeout: Option<Duration>,
    /// How long an HTTP/2 health-check ping may go unanswered.
    pub http2_ping_timeout: Duration,
    /// Idle time before TCP keepalive probes start; `None` for none.
    pub tcp_keepalive: Option<Duration>,
    /// Client-side rate limit; `None` (the default) for none.
    pub rate_limit: Option<RateLimit>,
    /// Retries of 429/5xx answers that carry `Retry-After`, of refused
    /// connections, and of GET/HEAD requests whose connection broke.
    pub max_retries: u32,
    /// Speak protobuf for built-in kinds (client-go's default since v0.32):
    /// accept it and send it; the server encodes and decodes it several
    /// times faster than JSON. `false` forces JSON. Custom resources and
    /// dynamic objects speak JSON, or CBOR when [`cbor`](Self::cbor) is set.
    pub protobuf: bool,
    /// Speak CBOR (KEP-4222) for kinds without protobuf — custom resources,
    /// dynamic objects — as client-go's `ClientsAllowCBOR` and
    /// `ClientsPreferCBOR` together: accept CBOR (JSON still accepted), send
    /// creates and replaces in CBOR. Needs the server's
    /// `CBORServingAndStorage` feature gate (alpha, off by default in
    /// v1.37); a server that answers 415 to a CBOR body gets that request
    /// again in JSON, and JSON from then on. Off by default.
    pub cbor: bool,
    /// Do not ask for gzip-compressed responses (client-go's
    /// `DisableCompression`; kubeconfig `disable-compression`). By default
    /// requests whose whole body is read (gets, lists, writes) accept gzip,
    /// which the server uses for bodies over 128 KiB: less on the wire,
    /// some CPU on both ends. Watches and other streams are never compressed.
    pub disable_compression: bool,
    /// `User-Agent` header.
    pub user_agent: String,
    /// Receives `Warning:` headers; `None` logs them with `tracing::warn!`.
    pub warning_handler: Option<WarningHandler>,
    /// Run around every request, in order ([`Middleware`]).
    pub middleware: Vec<Arc<dyn Middleware>>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field(
                "cluster_url",
                &redact_userinfo(&self.cluster_url.to_string()),
            )
            .field("default_namespace", &self.default_namespace)
            .field(
                "root_cert_pem",
                &self.root_cert_pem.as_ref().map(|p| p.len()),
            )
            .field("tls_server_name", &self.tls_server_name)
            .field("insecure_skip_tls_verify", &self.insecure_skip_tls_verify)
            .field(
                "proxy_url",
                &self
                    .proxy_url
                    .as_ref()
                    .map(|u| redact_userinfo(&u.to_string())),
            )
            .field("auth", &self.auth)
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("http2_read_idle_timeout", &self.http2_read_idle_timeout)
            .field("http2_ping_timeout", &self.http2_ping_timeout)
            .field("tcp_keepalive", &self.tcp_keepalive)
            .field("rate_limit", &self.rate_limit)
            .field("max_retries", &self.max_retries)
            .field("protobuf", &self.protobuf)
            .field("cbor", &self.cbor)
            .field("disable_compression", &self.disable_compression)
            .field("middleware", &self.middleware.len())
            .field("user_agent", &self.user_agent)
            .finish_non_exhaustive()
    }
}

/// A URL with its `user:password@` part replaced, for messages and logs.
pub(crate) fn redact_userinfo(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rsplit_once('@') {
        Some((_, host)) => {
            let sep = if scheme.is_empty() { "" } else { "://" };
            format!("{scheme}{sep}***@{host}{}", &rest[end..])
        }
        None => url.to_owned(),
    }
}

impl Config {
    /// A config for `cluster_url` with no credentials and the defaults above.
    pub fn new(cluster_url: http::Uri) -> Self {
        Self {
            cluster_url,
            default_namespace: "default".into(),
            root_cert_pem: None,
            tls_server_name: None,
            insecure_skip_tls_verify: false,
            proxy_url: None,
            auth: AuthConfig::default(),
            connect_timeout: Some(Duration::from_secs(30)),
            read_timeout: Some(Duration::from_secs(295)),
            http2_read_idle_timeout: Some(Duration::from_secs(30)),
            http2_ping_timeout: Duration::from_secs(15),
            tcp_keepalive: Some(Duration::from_secs(30)),
            rate_limit: None,
            max_retries: 5,
            protobuf: true,
            cbor: false,
            disable_compression: false,
            middleware: Vec::new(),
            user_agent: format!("kubegen/{}", env!("CARGO_PKG_VERSION")),
            warning_handler: None,
        }
    }

    /// Set a client-side rate limit.
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = Some(limit);
        self
    }

    /// Act as another user (`Impersonate-*` headers).
    pub fn impersonate(mut self, imp: Impersonate) -> Self {
        self.auth.impersonate = Some(imp);
        self
    }

    /// Run `middleware` around every request, after those added before.
    pub fn with_middleware(mut self, middleware: impl Middleware) -> Self {
        self.middleware.push(Arc::new(middleware));
        self
    }

    /// Route server warnings to `handler` instead of the log.
    pub fn warning_handler(mut self, handler: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.warning_handler = Some(WarningHandler(Arc::new(handler)));
        self
    }

    /// `$KUBECONFIG` (merged), then `~/.kube/config`, then in-cluster.
    pub async fn infer() -> Result<Self> {
        Self::infer_context(None).await
    }

    /// As [`infer`](Self::infer), with a named kubeconfig context instead of
    /// the current one (as `kubectl --context`). In-cluster has no contexts,
    /// so a named context needs a kubeconfig.
    pub async fn infer_context(context: Option<&str>) -> Result<Self> {
        if let Some(list) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
            let paths: Vec<PathBuf> = std::env::split_paths(&list)
                .filter(|p| !p.as_os_str().is_empty() && p.exists())
                .collect();
            if paths.is_empty() {
                return Err(Error::Config(format!(
                    "KUBECONFIG={} names no existing file",
                    list.to_string_lossy()
                )));
            }
            return Self::from_kubeconfig_files(&paths, context);
        }
        let home = std::env::home_dir().map(|h| h.join(".kube").join("config"));
        if let Some(p) = home.as_ref().filter(|p| p.exists()) {
            return Self::from_kubeconfig(p, context);
        }
        if context.is_none() && std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
            return Self::incluster();
        }
        let home = home
            .map(|h| h.display().to_string())
            .unwrap_or_else(|| "~/.kube/config".into());
        Err(Error::Config(match context {
            Some(c) => format!(
                "no kubeconfig found for context {c:?}: KUBECONFIG is unset and {home} does not exist"
            ),
            None => format!(
                "no configuration found: KUBECONFIG is unset, {home} does not exist, and this is not a pod \
                 (KUBERNETES_SERVICE_HOST is unset)"
            ),
        }))
    }

    /// One kubeconfig file, with `context` or its current context.
    pub fn from_kubeconfig(path: impl AsRef<Path>, context: Option<&str>) -> Result<Self> {
        Self::from_kubeconfig_files(&[path.as_ref().to_owned()], context)
    }

    /// Several kubeconfig files merged as kubectl does.
    pub fn from_kubeconfig_files(paths: &[PathBuf], context: Option<&str>) -> Result<Self> {
        Self::from_custom_kubeconfig(&Kubeconfig::read_merged(paths)?, context)
    }

    /// An already loaded kubeconfig.
    pub fn from_custom_kubeconfig(kc: &Kubeconfig, context: Option<&str>) -> Result<Self> {
        let ctx = kc.context(context)?;
        let cluster = kc.cluster(&ctx.context.cluster)?;
        let at = |what: &str| {
            format!(
                "kubeconfig {}: cluster {:?}: {what}",
                cluster.source.display(),
                cluster.name
            )
        };
        let c = &cluster.cluster;
        let server = c
            .server
            .as_deref()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Error::Config(at("`server` is not set")))?;
        let url: http::Uri = server
            .parse()
            .map_err(|e| Error::Config(at(&format!("`server` {server:?} is not a URL: {e}"))))?;
        if url.scheme().is_none() || url.authority().is_none() {
            return Err(Error::Config(at(&format!(
                "`server` {server:?} needs a scheme and a host (https://host:port)"
            ))));
        }
        let mut cfg = Config::new(url);
        cfg.default_namespace = ctx
            .context
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "default".into());
        cfg.tls_server_name = c.tls_server_name.clone().filter(|s| !s.is_empty());
        cfg.insecure_skip_tls_verify = c.insecure_skip_tls_verify.unwrap_or(false);
        cfg.disable_compression = c.disable_compression.unwrap_or(false);
        cfg.root_cert_pem = pem_field(
            "certificate-authority",
            c.certificate_authority_data.as_deref(),
            c.certificate_authority.as_deref(),
            |pem| crate::transport::pem_certificates(pem).map(drop),
        )
        .map_err(|e| Error::Config(at(&e)))?;
        if cfg.insecure_skip_tls_verify && cfg.root_cert_pem.is_some() {
            return Err(Error::Config(at(
                "`insecure-skip-tls-verify` together with a certificate authority is not allowed (pick one)",
            )));
        }
        if let Some(p) = c.proxy_url.as_deref().filter(|p| !p.is_empty()) {
            cfg.proxy_url = Some(p.parse().map_err(|e| {
                let p = redact_userinfo(p);
                Error::Config(at(&format!("`proxy-url` {p:?}: {e}")))
            })?);
        }
        if !ctx.context.user.is_empty() {
            let user = kc.user(&ctx.context.user)?;
            cfg.auth = auth_from_user(user)?;
        }
        Ok(cfg)
    }

    /// The in-cluster service account (`KUBERNETES_SERVICE_HOST`/`_PORT`, and the
    /// token, CA and namespace under [`SERVICE_ACCOUNT_DIR`]). The token file is
    /// re-read when kubelet rotates it.
    pub fn incluster() -> Result<Self> {
        let host = std::env::var("KUBERNETES_SERVICE_HOST").map_err(|_| {
            Error::Config(
                "in-cluster: KUBERNETES_SERVICE_HOST is not set (not running in a pod?)".into(),
            )
        })?;
        let port = std::env::var("KUBERNETES_SERVICE_PORT")
            .map_err(|_| Error::Config("in-cluster: KUBERNETES_SERVICE_PORT is not set".into()))?;
        Self::incluster_from(&host, &port, Path::new(SERVICE_ACCOUNT_DIR))
    }

    pub(crate) fn incluster_from(host: &str, port: &str, dir: &Path) -> Result<Self> {
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_owned()
        };
        let url: http::Uri = format!("https://{host}:{port}").parse().map_err(|e| {
            Error::Config(format!(
                "in-cluster: bad KUBERNETES_SERVICE_HOST/PORT {host}:{port}: {e}"
            ))
        })?;
        let mut cfg = Config::new(url);
        let ca = dir.join("ca.crt");
        cfg.root_cert_pem = Some(
            std::fs::read(&ca)
                .map_err(|e| Error::Config(format!("in-cluster: {}: {e}", ca.display())))?,
        );
        let token = dir.join("token");
        if !token.exists() {
            return Err(Error::Config(format!(
                "in-cluster: {} does not exist",
                token.display()
            )));
        }
        cfg.auth.token_file = Some(token);
        if let Ok(ns) = std::fs::read_to_string(dir.join("namespace")) {
            let ns = ns.trim();
            if !ns.is_empty() {
                cfg.default_namespace = ns.to_owned();
            }
        }
        Ok(cfg)
    }
}

/// A PEM field of a kubeconfig entry: `{name}-data` (base64) wins over
/// `{name}` (a file path); `check` says whether the PEM is usable. Errors name
/// the field (and the file), never its content.
fn pem_field(
    name: &str,
    data: Option<&str>,
    path: Option<&str>,
    check: impl Fn(&[u8]) -> std::result::Result<(), String>,
) -> std::result::Result<Option<Vec<u8>>, String> {
    let (field, pem) = match (data, path) {
        (Some(d), _) if !d.is_empty() => (format!("`{name}-data`"), decode_b64(d)),
        (_, Some(p)) if !p.is_empty() => (
            format!("`{name}` {p}"),
            std::fs::read(p).map_err(|e| e.to_string()),
        ),
        _ => return Ok(None),
    };
    let pem = pem.and_then(|pem| check(&pem).map(|()| pem));
    pem.map(Some).map_err(|e| format!("{field}: {e}"))
}

fn decode_b64(s: &str) -> std::result::Result<Vec<u8>, String> {
    let cleaned: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(cleaned)
        .map_err(|e| format!("invalid base64: {e}"))
}

/// The `oidc` auth-provider of user `u`; any other provider is refused with
/// what to use instead.
fn oidc_provider(p: &AuthProvider, u: &NamedUser) -> std::result::Result<OidcAuth, String> {
    if p.name != "oidc" {
        let instead = match p.name.as_str() {
            "gcp" => "gke-gcloud-auth-plugin",
            "azure" => "kubelogin (github.com/Azure/kubelogin)",
            _ => "the provider's exec credential plugin",
        };
        return Err(format!(
            "auth-provider {:?} is not supported (client-go has only `oidc` since 1.26); \
             configure an `exec` credential plugin instead: {instead}",
            p.name
        ));
    }
    let get = |key: &str| p.config.get(key).filter(|v| !v.expose_secret().is_empty());
    let plain = |key: &str| get(key).map(|v| v.expose_secret().to_owned());
    let required =
        |key: &str| plain(key).ok_or_else(|| format!("auth-provider oidc: `{key}` is required"));
    let mut oidc = OidcAuth::new(
        required("idp-issuer-url")?,
        required("client-id")?,
        get("id-token").cloned(),
        get("refresh-token").cloned(),
    );
    oidc.client_secret = get("client-secret").cloned();
    oidc.issuer_ca_pem = pem_field(
        "auth-provider oidc `idp-certificate-authority`",
        plain("idp-certificate-authority-data").as_deref(),
        plain("idp-certificate-authority").as_deref(),
        |pem| crate::transport::pem_certificates(pem).map(drop),
    )?;
    // Refreshed tokens go back to the file that defines the user.
    oidc.write_back =
        (!u.source.as_os_str().is_empty()).then(|| (u.source.clone(), u.name.clone()));
    Ok(oidc)
}

fn auth_from_user(u: &NamedUser) -> Result<AuthConfig> {
    let at = |what: &str| {
        format!(
            "kubeconfig {}: user {:?}: {what}",
            u.source.display(),
            u.name
        )
    };
    let user = &u.user;
    let mut auth = AuthConfig::default();
    if let Some(p) = &user.auth_provider {
        if user.exec.is_some() {
            return Err(Error::Config(at(
                "an auth-provider and an exec plugin cannot both be set",
            )));
        }
        auth.oidc = Some(oidc_provider(p, u).map_err(|e| Error::Config(at(&e)))?);
    }
    let cert = pem_field(
        "client-certificate",
        user.client_certificate_data.as_deref(),
        user.client_certificate.as_deref(),
        |pem| crate::transport::pem_certificates(pem).map(drop),
    )
    .map_err(|e| Error::Config(at(&e)))?;
    let key = pem_field(
        "client-key",
        user.client_key_data.as_ref().map(|d| d.expose_secret()),
        user.client_key.as_deref(),
        |pem| crate::transport::pem_private_key(pem).map(drop),
    )
    .map_err(|e| Error::Config(at(&e)))?;
    auth.client_certificate = match (cert, key) {
        (Some(cert_pem), Some(key)) => Some(ClientCertificate {
            cert_pem,
            key_pem: SecretSlice::from(key),
            // Only a pair read wholly from files can rotate (as client-go).
            files: user
                .client_certificate
                .as_ref()
                .zip(user.client_key.as_ref())
                .filter(|_| {
                    user.client_certificate_data
                        .as_deref()
                        .is_none_or(str::is_empty)
                        && user
                            .client_key_data
                            .as_ref()
                            .is_none_or(|d| d.expose_secret().is_empty())
                })
                .map(|(c, k)| (c.into(), k.into())),
        }),
        (None, None) => None,
        (Some(_), None) => {
            return Err(Error::Config(at(
                "a client certificate is set but no client key",
            )));
        }
        (None, Some(_)) => {
            return Err(Error::Config(at(
                "a client key is set but no client certificate",
            )));
        }
    };
    auth.token = user.token.clone().filter(|t| !t.expose_secret().is_empty());
    auth.token_file = user
        .token_file
        .as_ref()
        .filter(|p| !p.is_empty())
        .map(PathBuf::from);
    if auth.token_file.is_some() {
        // The file is the source of truth; a literal token beside it is its initial value.
        auth.token = None;
    }
    if let Some(name) = user.username.as_ref().filter(|n| !n.is_empty()) {
        let pass = user.password.clone().unwrap_or_default();
        auth.basic = Some((name.clone(), pass));
    }
    if let Some(e) = &user.exec {
        let api_version = e
            .api_version
            .clone()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Error::Config(at("`exec.apiVersion` is required")))?;
        let interactive_mode = match e.interactive_mode.as_deref() {
            None | Some("") => InteractiveMode::IfAvailable,
            Some(m) => InteractiveMode::parse(m).map_err(|e| Error::Config(at(&e.to_string())))?,
        };
        auth.exec = Some(ExecAuth {
            api_version,
            command: e.command.clone(),
            args: e.args.clone(),
            env: e
                .env
                .iter()
                .map(|v| (v.name.clone(), v.value.clone()))
                .collect(),
            install_hint: e.install_hint.clone(),
            provide_cluster_info: e.provide_cluster_info,
            interactive_mode,
            timeout: None,
        });
    }
    if let Some(name) = user.impersonate.as_ref().filter(|n| !n.is_empty()) {
        auth.impersonate = Some(Impersonate {
            user: name.clone(),
            uid: user.impersonate_uid.clone(),
            groups: user.impersonate_groups.clone().unwrap_or_default(),
            extra: user.impersonate_extra.clone().unwrap_or_default(),
        });
    }
    Ok(auth)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_errors_redact_proxy_credentials_and_exec_arguments() {
        let yaml = r#"
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: https://127.0.0.1:6443
    proxy-url: http://user:hunter2@proxy.example:3128
users:
- name: u
  user:
    token: tok-s3cr3t
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: get-token
      args: ["--password=arg-s3cr3t"]
      env: [{name: API_KEY, value: env-s3cr3t}]
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
"#;
        let dir = tempdir("redact");
        let path = dir.join("config");
        std::fs::write(&path, yaml).unwrap();
        let kc = Kubeconfig::read(&path).unwrap();
        let cfg = Config::from_kubeconfig(&path, None).unwrap();
        let shown = format!("{kc:?}\n{cfg:?}\n{:?}", cfg.auth);
        for secret in ["hunter2", "tok-s3cr3t", "arg-s3cr3t", "env-s3cr3t"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("proxy.example") && shown.contains("get-token"));

        // An unsupported proxy scheme names the proxy, not its password.
        let mut bad = cfg.clone();
        bad.proxy_url = Some("socks4://user:hunter2@proxy.example:1080".parse().unwrap());
        let err = crate::RestClient::new(bad).unwrap_err().to_string();
        assert!(
            err.contains("proxy.example") && !err.contains("hunter2"),
            "{err}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn userinfo_is_redacted_only_in_the_authority() {
        assert_eq!(redact_userinfo("http://u:p@h:1/x@y"), "http://***@h:1/x@y");
        assert_eq!(redact_userinfo("https://h:1/p"), "https://h:1/p");
        assert_eq!(redact_userinfo("u:p@h"), "***@h");
    }

    fn tempdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("kubegen-cfg-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn kubeconfig_user_becomes_auth_config() {
        let d = tempdir("user");
        std::fs::write(d.join("tok"), "file-token").unwrap();
        let p = d.join("config");
        std::fs::write(
            &p,
            r#"
current-context: x
clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443", certificate-authority-data: "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tClEwRT0KLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=", tls-server-name: kubernetes}}]
users: [{name: u, user: {tokenFile: tok, as: jane, as-groups: [devs]}}]
contexts: [{name: x, context: {cluster: c, user: u, namespace: ns1}}]
"#,
        )
        .unwrap();
        let cfg = Config::from_kubeconfig(&p, None).unwrap();
        assert_eq!(cfg.cluster_url, "https://127.0.0.1:6443/");
        assert_eq!(cfg.default_namespace, "ns1");
        assert_eq!(
            cfg.root_cert_pem.as_deref(),
            Some(&b"-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n"[..])
        );
        assert_eq!(cfg.tls_server_name.as_deref(), Some("kubernetes"));
        assert_eq!(
            cfg.auth.token_file.as_deref(),
            Some(d.join("tok").as_path())
        );
        let imp = cfg.auth.impersonate.unwrap();
        assert_eq!(
            (imp.user.as_str(), imp.groups),
            ("jane", vec!["devs".to_owned()])
        );
    }

    #[test]
    fn pem_that_is_not_a_certificate_or_key_names_the_kubeconfig_field() {
        let d = tempdir("pem");
        let p = d.join("config");
        let not_pem = "bm90IGEgY2VydGlmaWNhdGUK"; // "not a certificate"
        let cases = [
            (
                format!(
                    "clusters: [{{name: c, cluster: {{server: \"https://h\", certificate-authority-data: {not_pem}}}}}]\nusers: [{{name: u, user: {{}}}}]"
                ),
                "`certificate-authority-data`: no PEM certificate found",
            ),
            (
                format!(
                    "clusters: [{{name: c, cluster: {{server: \"https://h\"}}}}]\nusers: [{{name: u, user: {{client-certificate-data: {not_pem}, client-key-data: {not_pem}}}}}]"
                ),
                "`client-certificate-data`: no PEM certificate found",
            ),
        ];
        for (body, want) in cases {
            std::fs::write(
                &p,
                format!("current-context: x\ncontexts: [{{name: x, context: {{cluster: c, user: u}}}}]\n{body}\n"),
            )
            .unwrap();
            let err = Config::from_kubeconfig(&p, None).unwrap_err().to_string();
            assert!(err.contains(want), "{err}");
        }
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn auth_provider_error_says_what_to_use_instead() {
        let kc = Kubeconfig::parse(
            r#"
clusters: [{name: c, cluster: {server: "https://x"}}]
users: [{name: u, user: {auth-provider: {name: gcp, config: {access-token: abc}}}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
"#,
        )
        .unwrap();
        let err = Config::from_custom_kubeconfig(&kc, Some("x"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("gke-gcloud-auth-plugin") && err.contains("exec"),
            "{err}"
        );
        assert!(!err.contains("abc"), "{err}");
    }

    #[test]
    fn oidc_auth_provider_is_read_and_checked() {
        let parse = |user: &str| {
            let kc = Kubeconfig::parse(&format!(
                r#"
clusters: [{{name: c, cluster: {{server: "https://x"}}}}]
users: [{{name: u, user: {user}}}]
contexts: [{{name: x, context: {{cluster: c, user: u}}}}]
"#
            ))
            .unwrap();
            Config::from_custom_kubeconfig(&kc, Some("x"))
        };
        let cfg = parse(
            "{auth-provider: {name: oidc, config: {idp-issuer-url: https://issuer, client-id: k, \
             client-secret: secret-s3cr3t, id-token: id-s3cr3t, refresh-token: refresh-s3cr3t}}}",
        )
        .unwrap();
        let oidc = cfg.auth.oidc.as_ref().unwrap();
        assert_eq!(
            (oidc.issuer_url.as_str(), oidc.client_id.as_str()),
            ("https://issuer", "k")
        );
        assert!(
            oidc.write_back.is_none(),
            "a kubeconfig from memory has no file"
        );
        let shown = format!("{cfg:?}");
        assert!(
            !shown.contains("s3cr3t") && shown.contains("https://issuer"),
            "{shown}"
        );

        for (user, says) in [
            (
                "{auth-provider: {name: oidc, config: {client-id: k}}}",
                "`idp-issuer-url` is required",
            ),
            (
                "{auth-provider: {name: oidc, config: {idp-issuer-url: https://i}}}",
                "`client-id` is required",
            ),
            (
                "{auth-provider: {name: oidc, config: {idp-issuer-url: https://i, client-id: k, \
                 idp-certificate-authority-data: bm90IGEgY2VydA==}}}",
                "idp-certificate-authority",
            ),
            (
                "{auth-provider: {name: oidc, config: {idp-issuer-url: https://i, client-id: k}}, \
                 exec: {apiVersion: client.authentication.k8s.io/v1, command: x}}",
                "cannot both be set",
            ),
        ] {
            let err = parse(user).unwrap_err().to_string();
            assert!(err.contains(says) && err.contains("user \"u\""), "{err}");
        }
    }

    #[test]
    fn bad_ca_data_names_the_cluster_and_field() {
        let kc = Kubeconfig::parse(
            r#"
clusters: [{name: prod, cluster: {server: "https://x", certificate-authority-data: "%%%"}}]
contexts: [{name: x, context: {cluster: prod}}]
"#,
        )
        .unwrap();
        let err = Config::from_custom_kubeconfig(&kc, Some("x"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"prod\"") && err.contains("certificate-authority-data"),
            "{err}"
        );
    }

    #[test]
    fn incluster_reads_the_service_account_files() {
        let d = tempdir("sa");
        std::fs::write(d.join("ca.crt"), "PEM").unwrap();
        std::fs::write(d.join("token"), "sa-token").unwrap();
        std::fs::write(d.join("namespace"), "kube-system\n").unwrap();
        let cfg = Config::incluster_from("fd00::1", "443", &d).unwrap();
        assert_eq!(cfg.cluster_url, "https://[fd00::1]:443/");
        assert_eq!(cfg.default_namespace, "kube-system");
        assert_eq!(
            cfg.auth.token_file.as_deref(),
            Some(d.join("token").as_path())
        );
        let err = Config::incluster_from("h", "1", &d.join("missing"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("ca.crt"), "{err}");
    }
}
