//! The kubeconfig file format (clientcmd's `api/v1` `Config`), its loading and
//! kubectl's merge rules.
//!
//! Loading resolves relative file references (`certificate-authority`,
//! `client-certificate`, `client-key`, `tokenFile`, `exec.command` when it
//! contains a `/`) against the directory of the file they appear in, then
//! merges files in order: the first file to define a cluster, user or context
//! name wins, and `current-context` comes from the first file that sets it —
//! the rules `kubectl` applies to a `KUBECONFIG` list.
//!
//! Secret fields (`token`, `password`, `client-key-data`, exec env values) are
//! held in [`SecretString`]s so `Debug` of a kubeconfig never shows them.
//! A parse error names the file and the YAML path of the bad field.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde::Deserialize;

use kubegen_core::error::{Error, Result};

/// A parsed (and possibly merged) kubeconfig.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Kubeconfig {
    /// Named clusters.
    #[serde(default, deserialize_with = "null_default")]
    pub clusters: Vec<NamedCluster>,
    /// Named users (credentials).
    #[serde(default, deserialize_with = "null_default")]
    pub users: Vec<NamedUser>,
    /// Named contexts (cluster + user + namespace).
    #[serde(default, deserialize_with = "null_default")]
    pub contexts: Vec<NamedContext>,
    /// The context used when none is given.
    #[serde(default)]
    pub current_context: Option<String>,
    /// The files this config was read from, in merge order.
    #[serde(skip)]
    pub sources: Vec<PathBuf>,
}

/// A cluster entry.
#[derive(Clone, Debug, Deserialize)]
pub struct NamedCluster {
    /// Its name.
    pub name: String,
    /// Its fields.
    #[serde(default)]
    pub cluster: Cluster,
    /// The file it came from.
    #[serde(skip)]
    pub source: PathBuf,
}

/// Where a cluster is and how to trust it.
#[derive(Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Cluster {
    /// `https://host:port`, with an optional path prefix.
    #[serde(default)]
    pub server: Option<String>,
    /// Path of a PEM CA bundle.
    #[serde(default)]
    pub certificate_authority: Option<String>,
    /// Base64 of a PEM CA bundle; wins over `certificate-authority`.
    #[serde(default)]
    pub certificate_authority_data: Option<String>,
    /// Skip server certificate verification (dangerous).
    #[serde(default)]
    pub insecure_skip_tls_verify: Option<bool>,
    /// Name to verify the server certificate against, instead of the URL's host.
    #[serde(default)]
    pub tls_server_name: Option<String>,
    /// Proxy to reach the server through: `http://`, `https://` or `socks5://`.
    #[serde(default)]
    pub proxy_url: Option<String>,
    /// Do not ask the server for gzip-compressed responses.
    #[serde(default)]
    pub disable_compression: Option<bool>,
}

/// A user entry.
#[derive(Clone, Debug, Deserialize)]
pub struct NamedUser {
    /// Its name.
    pub name: String,
    /// Its credentials.
    #[serde(default)]
    pub user: User,
    /// The file it came from.
    #[serde(skip)]
    pub source: PathBuf,
}

/// Credentials (clientcmd's `AuthInfo`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct User {
    /// Path of a PEM client certificate.
    #[serde(default)]
    pub client_certificate: Option<String>,
    /// Base64 of a PEM client certificate.
    #[serde(default)]
    pub client_certificate_data: Option<String>,
    /// Path of a PEM private key.
    #[serde(default)]
    pub client_key: Option<String>,
    /// Base64 of a PEM private key.
    #[serde(default)]
    pub client_key_data: Option<SecretString>,
    /// A bearer token.
    #[serde(default)]
    pub token: Option<SecretString>,
    /// A file holding a bearer token, re-read when it changes.
    #[serde(default, rename = "tokenFile")]
    pub token_file: Option<String>,
    /// Basic auth user name.
    #[serde(default)]
    pub username: Option<String>,
    /// Basic auth password.
    #[serde(default)]
    pub password: Option<SecretString>,
    /// Impersonate this user.
    #[serde(default, rename = "as")]
    pub impersonate: Option<String>,
    /// Impersonate this UID.
    #[serde(default, rename = "as-uid")]
    pub impersonate_uid: Option<String>,
    /// Impersonate these groups.
    #[serde(default, rename = "as-groups")]
    pub impersonate_groups: Option<Vec<String>>,
    /// Impersonate with these extra fields.
    #[serde(default, rename = "as-user-extra")]
    pub impersonate_extra: Option<BTreeMap<String, Vec<String>>>,
    /// A credential plugin.
    #[serde(default)]
    pub exec: Option<ExecConfig>,
    /// An in-tree auth provider: `oidc` (gcp and azure were removed from
    /// client-go; they are reported with what to use instead).
    #[serde(default)]
    pub auth_provider: Option<AuthProvider>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redact = |u: &Option<String>| u.as_deref().map(super::redact_userinfo);
        f.debug_struct("Cluster")
            .field("server", &redact(&self.server))
            .field("certificate_authority", &self.certificate_authority)
            .field(
                "certificate_authority_data",
                &self.certificate_authority_data.as_ref().map(|d| d.len()),
            )
            .field("insecure_skip_tls_verify", &self.insecure_skip_tls_verify)
            .field("tls_server_name", &self.tls_server_name)
            .field("proxy_url", &redact(&self.proxy_url))
            .field("disable_compression", &self.disable_compression)
            .finish()
    }
}

/// An auth-provider entry. `Debug` shows its config's keys, not its values
/// (tokens, client secrets).
#[derive(Clone, Default, Deserialize)]
pub struct AuthProvider {
    /// `oidc` (`gcp`, `azure`, ... are refused).
    #[serde(default)]
    pub name: String,
    /// The provider's settings: for `oidc`, `idp-issuer-url`, `client-id`,
    /// `client-secret`, `id-token`, `refresh-token`,
    /// `idp-certificate-authority(-data)`.
    #[serde(default, deserialize_with = "null_default")]
    pub config: BTreeMap<String, SecretString>,
}

impl std::fmt::Debug for AuthProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthProvider")
            .field("name", &self.name)
            .field("config_keys", &self.config.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// An exec credential plugin (`client.authentication.k8s.io`). `Debug`
/// shows neither its arguments nor its environment values.
#[derive(Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecConfig {
    /// `client.authentication.k8s.io/v1` or `/v1beta1`.
    #[serde(default)]
    pub api_version: Option<String>,
    /// The program to run.
    pub command: String,
    /// Its arguments.
    #[serde(default, deserialize_with = "null_default")]
    pub args: Vec<String>,
    /// Extra environment.
    #[serde(default, deserialize_with = "null_default")]
    pub env: Vec<ExecEnvVar>,
    /// Shown when the program cannot be found.
    #[serde(default)]
    pub install_hint: Option<String>,
    /// Pass the cluster's details in `KUBERNETES_EXEC_INFO`.
    #[serde(default)]
    pub provide_cluster_info: bool,
    /// `Never`, `IfAvailable` or `Always` (whether the plugin may prompt).
    #[serde(default)]
    pub interactive_mode: Option<String>,
}

impl std::fmt::Debug for ExecConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let env: Vec<&str> = self.env.iter().map(|v| v.name.as_str()).collect();
        f.debug_struct("ExecConfig")
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

/// One environment variable of an exec plugin; the value may be secret.
#[derive(Clone, Debug, Deserialize)]
pub struct ExecEnvVar {
    /// Name.
    pub name: String,
    /// Value.
    pub value: SecretString,
}

/// A context entry.
#[derive(Clone, Debug, Deserialize)]
pub struct NamedContext {
    /// Its name.
    pub name: String,
    /// Its fields.
    #[serde(default)]
    pub context: Context,
}

/// A cluster + user + default namespace.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Context {
    /// Cluster name.
    #[serde(default)]
    pub cluster: String,
    /// User name; empty for no credentials.
    #[serde(default)]
    pub user: String,
    /// Default namespace.
    #[serde(default)]
    pub namespace: Option<String>,
}

fn null_default<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

impl Kubeconfig {
    /// Read and parse one file, resolving its relative paths.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("reading kubeconfig {}: {e}", path.display())))?;
        let mut kc = Self::parse(&text)
            .map_err(|msg| Error::Config(format!("kubeconfig {}: {msg}", path.display())))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        kc.resolve_paths(dir);
        for c in &mut kc.clusters {
            c.source = path.to_owned();
        }
        for u in &mut kc.users {
            u.source = path.to_owned();
        }
        kc.sources = vec![path.to_owned()];
        Ok(kc)
    }

    /// Parse YAML (or JSON) text; the error names the path of the bad field.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        let de = serde_yaml_ng::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if path == "." {
                format!("{inner}")
            } else {
                format!("field `{path}`: {inner}")
            }
        })
    }

    /// Read and merge several files in order, as kubectl does for `KUBECONFIG`.
    pub fn read_merged(paths: &[PathBuf]) -> Result<Self> {
        let mut merged = Self::default();
        for p in paths {
            merged.merge(Self::read(p)?);
        }
        Ok(merged)
    }

    /// Merge `other` into `self`; entries already present win.
    pub fn merge(&mut self, other: Self) {
        for c in other.clusters {
            if !self.clusters.iter().any(|x| x.name == c.name) {
                self.clusters.push(c);
            }
        }
        for u in other.users {
            if !self.users.iter().any(|x| x.name == u.name) {
                self.users.push(u);
            }
        }
        for c in other.contexts {
            if !self.contexts.iter().any(|x| x.name == c.name) {
                self.contexts.push(c);
            }
        }
        if self.current_context.as_deref().is_none_or(str::is_empty) {
            self.current_context = other.current_context.filter(|c| !c.is_empty());
        }
        self.sources.extend(other.sources);
    }

    fn resolve_paths(&mut self, dir: &Path) {
        let fix = |p: &mut Option<String>| {
            if let Some(s) = p.as_mut()
                && !s.is_empty()
                && Path::new(s.as_str()).is_relative()
            {
                *s = dir.join(&*s).to_string_lossy().into_owned();
            }
        };
        for c in &mut self.clusters {
            fix(&mut c.cluster.certificate_authority);
        }
        for u in &mut self.users {
            fix(&mut u.user.client_certificate);
            fix(&mut u.user.client_key);
            fix(&mut u.user.token_file);
            if let Some(exec) = &mut u.user.exec
                && exec.command.contains('/')
                && Path::new(&exec.command).is_relative()
            {
                // clientcmd resolves a relative command with a separator against
                // the kubeconfig's directory; a bare name is looked up on PATH.
                exec.command = dir.join(&exec.command).to_string_lossy().into_owned();
            }
        }
    }

    /// The named context, or the current one when `name` is `None`.
    pub fn context(&self, name: Option<&str>) -> Result<&NamedContext> {
        let name = match name
            .or(self.current_context.as_deref())
            .filter(|n| !n.is_empty())
        {
            Some(n) => n,
            None => {
                return Err(Error::Config(format!(
                    "kubeconfig {}: no context given and `current-context` is not set",
                    self.describe_sources()
                )));
            }
        };
        self.contexts
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| {
                let known: Vec<&str> = self.contexts.iter().map(|c| c.name.as_str()).collect();
                Error::Config(format!(
                    "kubeconfig {}: context {name:?} not found (contexts: {})",
                    self.describe_sources(),
                    known.join(", ")
                ))
            })
    }

    /// The named cluster.
    pub fn cluster(&self, name: &str) -> Result<&NamedCluster> {
        self.clusters
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| {
                Error::Config(format!(
                    "kubeconfig {}: cluster {name:?} not found",
                    self.describe_sources()
                ))
            })
    }

    /// The named user.
    pub fn user(&self, name: &str) -> Result<&NamedUser> {
        self.users.iter().find(|c| c.name == name).ok_or_else(|| {
            Error::Config(format!(
                "kubeconfig {}: user {name:?} not found",
                self.describe_sources()
            ))
        })
    }

    pub(crate) fn describe_sources(&self) -> String {
        if self.sources.is_empty() {
            return "(in memory)".into();
        }
        self.sources
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(":")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    const A: &str = r#"
apiVersion: v1
kind: Config
current-context: a
clusters:
- name: c1
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority: ca.crt
    tls-server-name: kubernetes
users:
- name: u1
  user:
    token: sekret-token-a
    tokenFile: tok
contexts:
- name: a
  context: {cluster: c1, user: u1, namespace: team-a}
"#;

    const B: &str = r#"
current-context: b
clusters:
- name: c1
  cluster: {server: "https://other:1"}
- name: c2
  cluster: {server: "https://two:2"}
users:
- name: u2
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./bin/plugin
      args: [get-token]
      env: [{name: SECRET_ENV, value: hunter2}]
      interactiveMode: Never
contexts:
- name: b
  context: {cluster: c2, user: u2}
"#;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn tempdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("kubegen-kc-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn merge_keeps_the_first_definition_and_first_current_context() {
        let d = tempdir("merge");
        let a = write(&d, "a.yaml", A);
        let sub = d.join("sub");
        std::fs::create_dir_all(&sub).unwrap();
        let b = write(&sub, "b.yaml", B);
        let kc = Kubeconfig::read_merged(&[a, b]).unwrap();
        assert_eq!(kc.current_context.as_deref(), Some("a"));
        assert_eq!(
            kc.cluster("c1").unwrap().cluster.server.as_deref(),
            Some("https://127.0.0.1:6443")
        );
        assert_eq!(
            kc.cluster("c2").unwrap().cluster.server.as_deref(),
            Some("https://two:2")
        );
        assert_eq!(kc.contexts.len(), 2);
        // Relative paths are resolved against each file's own directory.
        let ca = kc
            .cluster("c1")
            .unwrap()
            .cluster
            .certificate_authority
            .clone()
            .unwrap();
        assert_eq!(Path::new(&ca), d.join("ca.crt"));
        let exec = kc.user("u2").unwrap().user.exec.clone().unwrap();
        assert_eq!(Path::new(&exec.command), sub.join("./bin/plugin"));
        assert_eq!(exec.env[0].value.expose_secret(), "hunter2");
        let ctx = kc.context(None).unwrap();
        assert_eq!(ctx.context.namespace.as_deref(), Some("team-a"));
    }

    #[test]
    fn secrets_do_not_appear_in_debug() {
        let kc = Kubeconfig::parse(A).unwrap();
        let kb = Kubeconfig::parse(B).unwrap();
        let dbg = format!("{kc:?}{kb:?}");
        assert!(
            !dbg.contains("sekret-token-a") && !dbg.contains("hunter2"),
            "{dbg}"
        );
    }

    #[test]
    fn parse_error_names_the_file_and_field() {
        let d = tempdir("bad");
        let p = write(
            &d,
            "bad.yaml",
            "clusters:\n- name: c\n  cluster:\n    insecure-skip-tls-verify: maybe\n",
        );
        let err = Kubeconfig::read(&p).unwrap_err().to_string();
        assert!(err.contains("bad.yaml"), "{err}");
        assert!(
            err.contains("clusters[0].cluster.insecure-skip-tls-verify"),
            "{err}"
        );
    }

    #[test]
    fn missing_context_lists_the_known_ones() {
        let kc = Kubeconfig::parse(A).unwrap();
        let err = kc.context(Some("nope")).unwrap_err().to_string();
        assert!(
            err.contains("\"nope\"") && err.contains("contexts: a"),
            "{err}"
        );
    }
}
