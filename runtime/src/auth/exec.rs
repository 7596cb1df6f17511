//! Exec credential plugins (`client.authentication.k8s.io/v1` and `v1beta1`).
//!
//! Contract, as client-go's `plugin/pkg/client/auth/exec`:
//! - The plugin runs on first use with `KUBERNETES_EXEC_INFO` set to an
//!   `ExecCredential` whose `spec.interactive` says whether it may prompt, and
//!   (when `provideClusterInfo`) `spec.cluster`.
//! - Its stdout must be an `ExecCredential` of the same apiVersion with
//!   `status.token`. The token is cached until `status.expirationTimestamp`
//!   (forever when absent) or until the server answers 401.
//! - Interactive mode: `Never` never connects stdin; `IfAvailable` connects it
//!   when stdin is a terminal; `Always` fails without a terminal.
//! - A missing binary is an error naming the command and the `installHint`.
//! - Concurrent requests share one run (a mutex around the cache).

use std::io::IsTerminal as _;
use std::process::Stdio;

use base64::Engine as _;
use http::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::error::{Error, Result};

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
}

impl std::fmt::Debug for ExecAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let env: Vec<&str> = self.env.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("ExecAuth")
            .field("api_version", &self.api_version)
            .field("command", &self.command)
            .field("args", &self.args)
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
    cached: tokio::sync::Mutex<Option<Cached>>,
}

#[derive(Debug)]
struct Cached {
    header: HeaderValue,
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
    expiration_timestamp: Option<crate::meta::Time>,
    #[serde(default)]
    token: Option<SecretString>,
    #[serde(default)]
    client_certificate_data: Option<String>,
}

impl ExecRunner {
    pub(crate) fn new(auth: ExecAuth, cluster: ClusterInfo) -> Self {
        Self {
            auth,
            cluster,
            cached: tokio::sync::Mutex::new(None),
        }
    }

    pub(crate) async fn header(&self) -> Result<Option<HeaderValue>> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref()
            && c.expires.is_none_or(|t| t > jiff::Timestamp::now())
        {
            return Ok(Some(c.header.clone()));
        }
        let fresh = self.run().await?;
        let header = fresh.header.clone();
        *cached = Some(fresh);
        Ok(Some(header))
    }

    pub(crate) fn invalidate(&self) {
        // A request in flight holding the lock refreshes anyway; don't wait for it.
        if let Ok(mut c) = self.cached.try_lock() {
            *c = None;
        }
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

    async fn run(&self) -> Result<Cached> {
        let a = &self.auth;
        if a.api_version != EXEC_V1 && a.api_version != EXEC_V1BETA1 {
            return Err(Error::Auth(format!(
                "exec plugin {:?}: apiVersion {:?} is not supported (use {EXEC_V1} or {EXEC_V1BETA1})",
                a.command, a.api_version
            )));
        }
        let interactive = decide_interactive(a, std::io::stdin().is_terminal())?;
        let mut cmd = tokio::process::Command::new(&a.command);
        cmd.args(&a.args)
            .env("KUBERNETES_EXEC_INFO", self.exec_info(interactive))
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in &a.env {
            cmd.env(k, v.expose_secret());
        }
        if interactive {
            cmd.stdin(Stdio::inherit()).stderr(Stdio::inherit());
        } else {
            cmd.stdin(Stdio::null()).stderr(Stdio::piped());
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
            let stderr = String::from_utf8_lossy(&out.stderr);
            let tail: String = stderr
                .trim()
                .chars()
                .rev()
                .take(500)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            return Err(Error::Auth(format!(
                "exec plugin {:?} failed ({}): {tail}",
                a.command, out.status
            )));
        }
        let cred: ExecCredential = serde_json::from_slice(&out.stdout).map_err(|e| {
            Error::Auth(format!(
                "exec plugin {:?} printed something that is not an ExecCredential: {e}",
                a.command
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
        let Some(token) = status.token.filter(|t| !t.expose_secret().is_empty()) else {
            return Err(Error::Auth(if status.client_certificate_data.is_some() {
                format!(
                    "exec plugin {:?} returned a client certificate; kubegen takes client certificates from \
                     the kubeconfig (client-certificate/client-key) and only tokens from exec plugins",
                    a.command
                )
            } else {
                format!("exec plugin {:?} returned no token", a.command)
            }));
        };
        Ok(Cached {
            header: super::bearer(token.expose_secret())?,
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
    use std::os::unix::fs::PermissionsExt;

    fn script(name: &str, body: &str) -> String {
        let p = std::env::temp_dir().join(format!("kubegen-exec-{name}-{}", std::process::id()));
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p.to_string_lossy().into_owned()
    }

    fn auth(command: String) -> ExecAuth {
        ExecAuth {
            api_version: EXEC_V1.into(),
            command,
            interactive_mode: InteractiveMode::Never,
            env: vec![("TOKEN_VALUE".into(), "tok-from-env".into())],
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn token_is_cached_until_expiry() {
        let counter =
            std::env::temp_dir().join(format!("kubegen-exec-count-{}", std::process::id()));
        let _ = std::fs::remove_file(&counter);
        let cmd = script(
            "cache",
            &format!(
                r#"echo x >> {c}
case "$KUBERNETES_EXEC_INFO" in *'"interactive":false'*) ;; *) exit 3;; esac
printf '{{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{{"token":"%s","expirationTimestamp":"2999-01-01T00:00:00Z"}}}}' "$TOKEN_VALUE""#,
                c = counter.display()
            ),
        );
        let r = ExecRunner::new(auth(cmd), ClusterInfo::default());
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
        let cmd = script(
            "expired",
            &format!(
                r#"echo x >> {c}
echo '{{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{{"token":"t","expirationTimestamp":"2000-01-01T00:00:00Z"}}}}'"#,
                c = counter.display()
            ),
        );
        let r = ExecRunner::new(auth(cmd), ClusterInfo::default());
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
        let err = ExecRunner::new(a, ClusterInfo::default())
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
    async fn failing_plugin_reports_its_stderr() {
        let cmd = script("fail", "echo 'login required' >&2; exit 1");
        let err = ExecRunner::new(auth(cmd), ClusterInfo::default())
            .header()
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("login required"), "{err}");
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
