//! Exec credential plugins (`client.authentication.k8s.io/v1` and `v1beta1`).
//!
//! Contract, as client-go's `plugin/pkg/client/auth/exec`:
//! - The plugin runs on first use with `KUBERNETES_EXEC_INFO` set to an
//!   `ExecCredential` whose `spec.interactive` says whether it may prompt, and
//!   (when `provideClusterInfo`) `spec.cluster`.
//! - Its stdout must be an `ExecCredential` of the same apiVersion with
//!   `status.token`, or `status.clientCertificateData` and `clientKeyData`
//!   (PEM), or both. They are cached until `status.expirationTimestamp`
//!   (forever when absent) or until the server answers 401; the next request
//!   runs the plugin again (client-go runs it at once on the 401; neither
//!   repeats the failed request).
//! - The plugin runs before the first request rather than inside the first
//!   TLS handshake (client-go), so a certificate-only plugin is run by the
//!   first request too. A new certificate retires the connections opened
//!   with the old one (see `client_cert`); a new token alone does not.
//! - A certificate from a plugin is ignored when the kubeconfig sets a fixed
//!   client certificate (client-go does not run the plugin at all then).
//! - Interactive mode: `Never` never connects stdin; `IfAvailable` connects it
//!   when stdin is a terminal; `Always` fails without a terminal.
//! - A missing binary is an error naming the command and the `installHint`.
//! - The plugin's stderr goes to this process's stderr (as client-go), never
//!   into error text, where it could carry secrets into logs.
//! - A non-interactive run that takes longer than the timeout (60 s by
//!   default) is killed and reported.
//! - Concurrent requests share one run: those that waited on a run that
//!   failed get its error instead of each starting the plugin again.

use std::io::IsTerminal as _;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine as _;
use http::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::DynamicClientCert;
use kubegen_core::error::{Error, Result};

/// `client.authentication.k8s.io/v1`
pub const EXEC_V1: &str = "client.authentication.k8s.io/v1";
/// `client.authentication.k8s.io/v1beta1`
pub const EXEC_V1BETA1: &str = "client.authentication.k8s.io/v1beta1";

/// Whether an exec plugin may talk to the user.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum InteractiveMode {
    /// Never connect stdin.
    Never,
    /// Connect stdin when it is a terminal.
    #[default]
    IfAvailable,
    /// Require a terminal.
    Always,
}

impl InteractiveMode {
    /// Parse a kubeconfig value.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "Never" => Ok(Self::Never),
            "IfAvailable" => Ok(Self::IfAvailable),
            "Always" => Ok(Self::Always),
            other => Err(Error::Config(format!(
                "exec interactiveMode {other:?} is not one of Never, IfAvailable, Always"
            ))),
        }
    }
}

/// An exec plugin to run for credentials.
#[derive(Clone, Default)]
pub struct ExecAuth {
    /// `client.authentication.k8s.io/v1` or `/v1beta1`.
    pub api_version: String,
    /// Program (a path, or a name looked up on `PATH`).
    pub command: String,
    /// Arguments.
    pub args: Vec<String>,
    /// Extra environment; values may be secrets.
    pub env: Vec<(String, SecretString)>,
    /// Shown when the program is missing.
    pub install_hint: Option<String>,
    /// Pass cluster details in `KUBERNETES_EXEC_INFO`.
    pub provide_cluster_info: bool,
    /// Whether the plugin may prompt.
    pub interactive_mode: InteractiveMode,
    /// Longest a non-interactive run may take; `None` for [`DEFAULT_EXEC_TIMEOUT`].
    pub timeout: Option<Duration>,
}

/// How long a non-interactive exec plugin may run.
pub const DEFAULT_EXEC_TIMEOUT: Duration = Duration::from_secs(60);

impl std::fmt::Debug for ExecAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let env: Vec<&str> = self.env.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("ExecAuth")
            .field("api_version", &self.api_version)
            .field("command", &self.command)
            .field("args", &format_args!("[{} redacted]", self.args.len()))
            .field("env_names", &env)
            .field("install_hint", &self.install_hint)
            .field("provide_cluster_info", &self.provide_cluster_info)
            .field("interactive_mode", &self.interactive_mode)
            .finish()
    }
}

/// Cluster details passed to plugins that ask for them.
#[derive(Clone, Debug, Default)]
pub(crate) struct ClusterInfo {
    pub server: String,
    pub tls_server_name: Option<String>,
    pub insecure_skip_tls_verify: bool,
    pub ca_pem: Option<Vec<u8>>,
}

#[derive(Debug)]
pub(crate) struct ExecRunner {
    auth: ExecAuth,
    cluster: ClusterInfo,
    /// Where a returned client certificate goes; `None` when it is fixed.
    client_cert: Option<Arc<DynamicClientCert>>,
    state: tokio::sync::Mutex<State>,
    /// Runs finished; read before waiting for `state` to tell a waiter that
    /// a run ended while it waited.
    runs: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    cached: Option<Cached>,
    /// The error of the last run, if it failed.
    failed: Option<String>,
}

#[derive(Debug)]
struct Cached {
    /// `None` when the plugin returned only a client certificate.
    header: Option<HeaderValue>,
    expires: Option<jiff::Timestamp>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExecCredential {
    #[serde(default)]
    api_version: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    status: Option<ExecStatus>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExecStatus {
    #[serde(default)]
    expiration_timestamp: Option<kubegen_core::meta::Time>,
    #[serde(default)]
    token: Option<SecretString>,
    #[serde(default)]
    client_certificate_data: Option<String>,
    #[serde(default)]
    client_key_data: Option<SecretString>,
}

impl ExecRunner {
    pub(crate) fn new(
        auth: ExecAuth,
        cluster: ClusterInfo,
        client_cert: Option<Arc<DynamicClientCert>>,
    ) -> Self {
        Self {
            auth,
            cluster,
            client_cert,
            state: tokio::sync::Mutex::default(),
            runs: AtomicU64::new(0),
        }
    }

    pub(crate) async fn header(&self) -> Result<Option<HeaderValue>> {
        let runs_before = self.runs.load(Ordering::SeqCst);
        let mut state = self.state.lock().await;
        if let Some(c) = state.cached.as_ref()
            && c.expires.is_none_or(|t| t > jiff::Timestamp::now())
        {
            return Ok(c.header.clone());
        }
        if self.runs.load(Ordering::SeqCst) != runs_before
            && let Some(e) = &state.failed
        {
            return Err(Error::Auth(e.clone()));
        }
        let outcome = self.run_bounded().await;
        self.runs.fetch_add(1, Ordering::SeqCst);
        match outcome {
            Ok(fresh) => {
                let header = fresh.header.clone();
                *state = State {
                    cached: Some(fresh),
                    failed: None,
                };
                Ok(header)
            }
            Err(e) => {
                state.cached = None;
                state.failed = Some(match &e {
                    Error::Auth(m) => m.clone(),
                    other => other.to_string(),
                });
                Err(e)
            }
        }
    }

    pub(crate) fn invalidate(&self) {
        // A request in flight holding the lock refreshes anyway; don't wait for it.
        if let Ok(mut s) = self.state.try_lock() {
            s.cached = None;
        }
    }

    /// `run`, killed after the timeout unless the user may be prompted.
    async fn run_bounded(&self) -> Result<Cached> {
        let interactive = decide_interactive(&self.auth, std::io::stdin().is_terminal())?;
        if interactive {
            return self.run(interactive).await;
        }
        let limit = self.auth.timeout.unwrap_or(DEFAULT_EXEC_TIMEOUT);
        // Dropping the run kills the plugin (kill_on_drop).
        tokio::time::timeout(limit, self.run(interactive))
            .await
            .unwrap_or_else(|_| {
                Err(Error::Auth(format!(
                    "exec plugin {:?} did not answer within {limit:?}; it was stopped",
                    self.auth.command
                )))
            })
    }

    fn exec_info(&self, interactive: bool) -> String {
        let mut spec = serde_json::json!({ "interactive": interactive });
        if self.auth.provide_cluster_info {
            let mut cluster = serde_json::json!({ "server": self.cluster.server });
            if let Some(n) = &self.cluster.tls_server_name {
                cluster["tls-server-name"] = n.clone().into();
            }
            if self.cluster.insecure_skip_tls_verify {
                cluster["insecure-skip-tls-verify"] = true.into();
            }
            if let Some(ca) = &self.cluster.ca_pem {
                cluster["certificate-authority-data"] =
                    base64::engine::general_purpose::STANDARD.encode(ca).into();
            }
            spec["cluster"] = cluster;
        }
        serde_json::json!({ "apiVersion": self.auth.api_version, "kind": "ExecCredential", "spec": spec })
            .to_string()
    }

    async fn run(&self, interactive: bool) -> Result<Cached> {
        let a = &self.auth;
        if a.api_version != EXEC_V1 && a.api_version != EXEC_V1BETA1 {
            return Err(Error::Auth(format!(
                "exec plugin {:?}: apiVersion {:?} is not supported (use {EXEC_V1} or {EXEC_V1BETA1})",
                a.command, a.api_version
            )));
        }
        let mut cmd = tokio::process::Command::new(&a.command);
        cmd.args(&a.args)
            .env("KUBERNETES_EXEC_INFO", self.exec_info(interactive))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .stdin(if interactive {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .kill_on_drop(true);
        for (k, v) in &a.env {
            cmd.env(k, v.expose_secret());
        }
        tracing::debug!(command = %a.command, interactive, "running exec credential plugin");
        let out = cmd.output().await.map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                let hint = a
                    .install_hint
                    .as_deref()
                    .map(|h| format!("\n{h}"))
                    .unwrap_or_default();
                Error::Auth(format!(
                    "exec plugin {:?} was not found (is it installed and on PATH?){hint}",
                    a.command
                ))
            } else {
                Error::Auth(format!(
                    "exec plugin {:?} could not be started: {e}",
                    a.command
                ))
            }
        })?;
        if !out.status.success() {
            return Err(Error::Auth(format!(
                "exec plugin {:?} failed ({}); its own messages went to stderr",
                a.command, out.status
            )));
        }
        // Only where it broke: serde's messages may quote values, such as a token.
        let cred: ExecCredential = serde_json::from_slice(&out.stdout).map_err(|e| {
            Error::Auth(format!(
                "exec plugin {:?} printed something that is not an ExecCredential \
                 ({:?} error at line {}, column {})",
                a.command,
                e.classify(),
                e.line(),
                e.column()
            ))
        })?;
        if cred.kind.as_deref().is_some_and(|k| k != "ExecCredential") {
            return Err(Error::Auth(format!(
                "exec plugin {:?} printed kind {:?}, not ExecCredential",
                a.command, cred.kind
            )));
        }
        if cred.api_version.as_deref() != Some(a.api_version.as_str()) {
            return Err(Error::Auth(format!(
                "exec plugin {:?} answered apiVersion {:?}, but {:?} was requested",
                a.command, cred.api_version, a.api_version
            )));
        }
        let status = cred.status.ok_or_else(|| {
            Error::Auth(format!("exec plugin {:?} returned no status", a.command))
        })?;
        let token = status.token.filter(|t| !t.expose_secret().is_empty());
        let cert = status.client_certificate_data.filter(|c| !c.is_empty());
        let key = status
            .client_key_data
            .filter(|k| !k.expose_secret().is_empty());
        let pair = match (cert, key) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) if token.is_none() => {
                return Err(Error::Auth(format!(
                    "exec plugin {:?} returned no token and no client certificate",
                    a.command
                )));
            }
            (None, None) => None,
            _ => {
                return Err(Error::Auth(format!(
                    "exec plugin {:?} returned a client certificate or key without the other",
                    a.command
                )));
            }
        };
        let header = token
            .map(|t| super::bearer(t.expose_secret()))
            .transpose()?;
        match (pair, &self.client_cert) {
            (Some((cert, key)), Some(target)) => target
                .set(cert.as_bytes(), key.expose_secret().as_bytes())
                .map_err(|e| {
                    Error::Auth(format!(
                        "exec plugin {:?} returned an unusable client certificate: {e}",
                        a.command
                    ))
                })?,
            (Some(_), None) => tracing::debug!(
                command = %a.command,
                "exec plugin returned a client certificate; the kubeconfig's fixed one is used"
            ),
            (None, _) => {}
        }
        Ok(Cached {
            header,
            expires: status.expiration_timestamp.map(|t| t.0),
        })
    }
}

/// Whether to run the plugin interactively, given whether stdin is a terminal.
fn decide_interactive(a: &ExecAuth, terminal: bool) -> Result<bool> {
    match a.interactive_mode {
        InteractiveMode::Never => Ok(false),
        InteractiveMode::IfAvailable => Ok(terminal),
        InteractiveMode::Always if terminal => Ok(true),
        InteractiveMode::Always => Err(Error::Auth(format!(
            "exec plugin {:?} needs an interactive terminal (interactiveMode: Always) but stdin is not one",
            a.command
        ))),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn auth(command: String) -> ExecAuth {
        ExecAuth {
            api_version: EXEC_V1.into(),
            command,
            interactive_mode: InteractiveMode::Never,
            env: vec![("TOKEN_VALUE".into(), "tok-from-env".into())],
            ..Default::default()
        }
    }

    /// A plugin running `body` in `/bin/sh`. The script is passed to the shell rather than
    /// executed itself: a process forked by a concurrent test while the script was open for
    /// writing would make executing it fail with ETXTBSY ("Text file busy").
    fn plugin(name: &str, body: &str) -> ExecAuth {
        let p = std::env::temp_dir().join(format!("kubegen-exec-{name}-{}", std::process::id()));
        std::fs::write(&p, format!("{body}\n")).unwrap();
        ExecAuth {
            args: vec![p.to_string_lossy().into_owned()],
            ..auth("/bin/sh".into())
        }
    }

    #[tokio::test]
    async fn token_is_cached_until_expiry() {
        let counter =
            std::env::temp_dir().join(format!("kubegen-exec-count-{}", std::process::id()));
        let _ = std::fs::remove_file(&counter);
        let a = plugin(
            "cache",
            &format!(
                r#"echo x >> {c}
case "$KUBERNETES_EXEC_INFO" in *'"interactive":false'*) ;; *) exit 3;; esac
printf '{{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{{"token":"%s","expirationTimestamp":"2999-01-01T00:00:00Z"}}}}' "$TOKEN_VALUE""#,
                c = counter.display()
            ),
        );
        let r = ExecRunner::new(a, ClusterInfo::default(), None);
        assert_eq!(r.header().await.unwrap().unwrap(), "Bearer tok-from-env");
        assert_eq!(r.header().await.unwrap().unwrap(), "Bearer tok-from-env");
        assert_eq!(
            std::fs::read_to_string(&counter).unwrap().lines().count(),
            1
        );
        r.invalidate();
        r.header().await.unwrap();
        assert_eq!(
            std::fs::read_to_string(&counter).unwrap().lines().count(),
            2
        );
    }

    #[tokio::test]
    async fn expired_token_runs_the_plugin_again() {
        let counter =
            std::env::temp_dir().join(format!("kubegen-exec-count2-{}", std::process::id()));
        let _ = std::fs::remove_file(&counter);
        let a = plugin(
            "expired",
            &format!(
                r#"echo x >> {c}
echo '{{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{{"token":"t","expirationTimestamp":"2000-01-01T00:00:00Z"}}}}'"#,
                c = counter.display()
            ),
        );
        let r = ExecRunner::new(a, ClusterInfo::default(), None);
        r.header().await.unwrap();
        r.header().await.unwrap();
        assert_eq!(
            std::fs::read_to_string(&counter).unwrap().lines().count(),
            2
        );
    }

    #[tokio::test]
    async fn missing_binary_names_command_and_hint() {
        let mut a = auth("/nonexistent/kubegen-plugin".into());
        a.install_hint = Some("install it with: apt-get install kubegen-plugin".into());
        let err = ExecRunner::new(a, ClusterInfo::default(), None)
            .header()
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/nonexistent/kubegen-plugin") && err.contains("apt-get install"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn failing_plugin_error_names_it_but_not_its_stderr() {
        let a = plugin("fail", "echo 'password=hunter2' >&2; exit 1");
        let err = ExecRunner::new(a, ClusterInfo::default(), None)
            .header()
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"/bin/sh\"") && err.contains("exit status: 1"),
            "{err}"
        );
        assert!(
            !err.contains("hunter2"),
            "stderr leaked into the error: {err}"
        );
    }

    #[tokio::test]
    async fn hanging_plugin_is_stopped_and_waiters_share_the_error() {
        let counter =
            std::env::temp_dir().join(format!("kubegen-exec-hang-count-{}", std::process::id()));
        let _ = std::fs::remove_file(&counter);
        let mut a = plugin(
            "hang",
            &format!("echo x >> {}; sleep 600", counter.display()),
        );
        a.timeout = Some(Duration::from_millis(300));
        let r = std::sync::Arc::new(ExecRunner::new(a, ClusterInfo::default(), None));
        let start = std::time::Instant::now();
        let calls: Vec<_> = (0..4)
            .map(|_| {
                let r = r.clone();
                tokio::spawn(async move { r.header().await })
            })
            .collect();
        for c in calls {
            let err = c.await.unwrap().unwrap_err().to_string();
            assert!(err.contains("did not answer within"), "{err}");
        }
        // One run for all four callers, bounded by the timeout.
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(
            std::fs::read_to_string(&counter).unwrap().lines().count(),
            1
        );
        // A later call tries again.
        r.header().await.unwrap_err();
        assert_eq!(
            std::fs::read_to_string(&counter).unwrap().lines().count(),
            2
        );
    }

    #[tokio::test]
    async fn garbage_or_tokenless_output_is_a_clear_error() {
        for (name, out, want) in [
            (
                "garbage",
                "echo 'not json at all: s3cr3t'",
                "not an ExecCredential",
            ),
            (
                "notoken",
                r#"echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{}}'"#,
                "returned no token and no client certificate",
            ),
            (
                "halfpair",
                r#"echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"clientKeyData":"s3cr3t"}}'"#,
                "without the other",
            ),
            (
                "badpair",
                r#"echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"clientCertificateData":"x","clientKeyData":"s3cr3t"}}'"#,
                "unusable client certificate",
            ),
            (
                "nostatus",
                r#"echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential"}'"#,
                "returned no status",
            ),
        ] {
            let err = ExecRunner::new(
                plugin(name, out),
                ClusterInfo::default(),
                Some(Arc::default()),
            )
            .header()
            .await
            .unwrap_err()
            .to_string();
            assert!(err.contains(want), "{name}: {err}");
            assert!(!err.contains("s3cr3t"), "{name}: output leaked: {err}");
        }
    }

    #[test]
    fn interactive_mode_follows_the_terminal() {
        let mut a = auth("p".into());
        assert!(!decide_interactive(&a, true).unwrap());
        a.interactive_mode = InteractiveMode::IfAvailable;
        assert!(decide_interactive(&a, true).unwrap());
        assert!(!decide_interactive(&a, false).unwrap());
        a.interactive_mode = InteractiveMode::Always;
        assert!(decide_interactive(&a, true).unwrap());
        let err = decide_interactive(&a, false).unwrap_err().to_string();
        assert!(err.contains("interactive terminal"), "{err}");
    }
}
