//! Shared helpers of the end-to-end tests: the test cluster's kubeconfig,
//! clients per context, unique names, throwaway namespaces, and a few tiny
//! test-local kinds (enough of each type to exercise the typed client before
//! and beside the generated `kubegen-api` crate).
//!
//! The cluster is the one `make cluster-up` starts. Its kubeconfig path comes
//! from `KUBEGEN_TEST_KUBECONFIG`, defaulting to `<workspace>/.cache/cluster/kubeconfig`.
//! When it is missing every test **fails** (panics) saying to run
//! `make cluster-up`; nothing is skipped.

pub mod cluster;
pub mod fault_proxy;
pub mod leadership;
pub mod mirror;
pub mod outside;
pub mod proxy;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use kubegen_api::apiextensions::v1::CustomResourceDefinition;
use kubegen_api::coordination::v1::Lease;
use kubegen_runtime::config::Kubeconfig;
use kubegen_runtime::meta::ObjectMeta;
use kubegen_runtime::{
    ApplyOptions, Client, CompactString, Config, DeleteOptions, GetOptions, Object, Resource,
    RestClient, Scope, verbs,
};
use serde::{Deserialize, Serialize};

/// The kubeconfig of the test cluster; panics when the cluster is not running.
pub fn kubeconfig_path() -> PathBuf {
    let path = std::env::var_os("KUBEGEN_TEST_KUBECONFIG")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.cache/cluster/kubeconfig")
        });
    assert!(
        path.exists(),
        "cluster not running: run `make cluster-up` (no kubeconfig at {})",
        path.display()
    );
    path
}

/// The parsed kubeconfig of the test cluster.
pub fn kubeconfig() -> Kubeconfig {
    Kubeconfig::read(&kubeconfig_path()).expect("the test cluster's kubeconfig parses")
}

/// Config of a context: `admin`, `limited` or `cert`.
pub fn config(context: &str) -> Config {
    Config::from_kubeconfig(kubeconfig_path(), Some(context))
        .unwrap_or_else(|e| panic!("kubeconfig context {context}: {e}"))
}

/// A client of a context.
pub fn rest(context: &str) -> RestClient {
    RestClient::new(config(context)).unwrap_or_else(|e| panic!("client for context {context}: {e}"))
}

/// A client as the admin.
pub fn admin() -> RestClient {
    rest("admin")
}

/// List one namespace with a client built from `cfg`: the smallest request
/// that shows a connection (TLS, proxy) works.
pub async fn list_one_namespace(cfg: Config) -> kubegen_runtime::Result<()> {
    let rest = RestClient::new(cfg)?;
    Client::<Namespace>::cluster(rest)
        .list(&kubegen_runtime::ListOptions::default().limit(1))
        .await
        .map(|_| ())
}

/// A name unique to this process and call: `prefix-<pid>-<n>`.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A Lease named `name` in `default`, not created: something for events to
/// be about.
pub fn lease_named(name: &str) -> Lease {
    Lease {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("default".into()),
            ..Default::default()
        },
        ..Lease::default()
    }
}

/// Create a namespace for one test; delete it with [`drop_namespace`].
pub async fn test_namespace(rest: &RestClient, prefix: &str) -> String {
    let name = unique(prefix);
    let ns = Namespace::named(&name);
    Client::<Namespace>::cluster(rest.clone())
        .create(&ns, &Default::default())
        .await
        .unwrap_or_else(|e| panic!("create namespace {name}: {e}"));
    name
}

/// Start deleting a test namespace (the controller-manager finishes it).
pub async fn drop_namespace(rest: &RestClient, name: &str) {
    let _ = Client::<Namespace>::cluster(rest.clone())
        .delete(name, &DeleteOptions::default())
        .await;
}

/// Poll `f` every 250 ms until it returns true or `timeout` passes.
pub async fn eventually<F, Fut>(timeout: Duration, what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if f().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A core/v1 ConfigMap named `name` with these labels and no data.
pub fn labelled_config_map(
    name: &str,
    labels: &[(&str, &str)],
) -> kubegen_api::core::v1::ConfigMap {
    kubegen_api::core::v1::ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| ((*k).into(), (*v).into()))
                    .collect(),
            ),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// The status of a CRD's condition of type `ty`, if the server set it.
pub fn crd_condition(crd: &CustomResourceDefinition, ty: &str) -> Option<CompactString> {
    crd.status
        .as_ref()?
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == ty)
        .map(|c| c.status.clone())
}

/// Applies a CRD (`body`: a `CustomResourceDefinition` or its JSON) as
/// `manager`, forcing, so it is idempotent across tests and runs; waits until
/// the server has Established it and returns it as the server has it.
pub async fn apply_crd<B: Serialize>(
    rest: &RestClient,
    name: &str,
    body: &B,
    manager: &str,
) -> CustomResourceDefinition {
    let crds = Client::<CustomResourceDefinition>::cluster(rest.clone());
    crds.apply(name, body, &ApplyOptions::new(manager).force(true))
        .await
        .unwrap_or_else(|e| panic!("the API server refused CRD {name}: {e}"));
    eventually(
        Duration::from_secs(30),
        &format!("CRD {name} to be Established"),
        || {
            let crds = crds.clone();
            async move {
                let got = crds.get(name, &GetOptions::default()).await.ok();
                got.is_some_and(|c| crd_condition(&c, "Established").as_deref() == Some("True"))
            }
        },
    )
    .await;
    crds.get(name, &GetOptions::default())
        .await
        .unwrap_or_else(|e| panic!("read back CRD {name}: {e}"))
}

/// Whether `name` is gone.
pub async fn is_gone<K: Object + verbs::Get>(c: &Client<K>, name: &str) -> bool {
    matches!(c.get(name, &GetOptions::default()).await, Err(e) if e.is_not_found())
}

macro_rules! test_kind {
    ($(#[$doc:meta])* $name:ident, $group:literal, $version:literal, $api_version:literal, $plural:literal, $scope:ident,
     [$($verb:ident),*] $(, scale = $scale:ty)? $(, token = $token:ty)? $(, eviction = $ev:ty)?) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
        pub struct $name {
            /// Always this kind's apiVersion.
            #[serde(rename = "apiVersion", default)]
            pub api_version: String,
            /// Always this kind.
            #[serde(default)]
            pub kind: String,
            /// Metadata.
            #[serde(default)]
            pub metadata: ObjectMeta,
            /// Everything else, untyped.
            #[serde(flatten)]
            pub rest: serde_json::Map<String, serde_json::Value>,
        }

        impl $name {
            /// An object named `name` with `rest` as its other fields.
            pub fn new(name: &str, rest: serde_json::Value) -> Self {
                Self {
                    api_version: $api_version.into(),
                    kind: stringify!($name).into(),
                    metadata: ObjectMeta { name: Some(name.into()), ..Default::default() },
                    rest: match rest {
                        serde_json::Value::Object(m) => m,
                        _ => Default::default(),
                    },
                }
            }
            /// An object named `name` with no other fields.
            pub fn named(name: &str) -> Self {
                Self::new(name, serde_json::json!({}))
            }
        }

        impl Resource for $name {
            const GROUP: &'static str = $group;
            const VERSION: &'static str = $version;
            const API_VERSION: &'static str = $api_version;
            const KIND: &'static str = stringify!($name);
            const PLURAL: &'static str = $plural;
            const SCOPE: Scope = Scope::$scope;
        }

        impl Object for $name {
            fn metadata(&self) -> &ObjectMeta {
                &self.metadata
            }
            fn metadata_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }

        $(impl verbs::$verb for $name {})*
        $(impl verbs::Scale for $name { type Scale = $scale; })?
        $(impl verbs::Token for $name { type TokenRequest = $token; })?
        $(impl verbs::Eviction for $name { type Eviction = $ev; })?
    };
}

test_kind!(
    /// core/v1 Namespace
    Namespace, "", "v1", "v1", "namespaces", Cluster,
    [Get, List, Watch, Create, Update, Patch, Delete, Status]
);
test_kind!(
    /// core/v1 ConfigMap
    ConfigMap, "", "v1", "v1", "configmaps", Namespaced,
    [Get, List, Watch, Create, Update, Patch, Delete, DeleteCollection, StrategicMergePatch]
);
test_kind!(
    /// core/v1 Secret
    Secret, "", "v1", "v1", "secrets", Namespaced,
    [Get, List, Watch, Create, Update, Patch, Delete, DeleteCollection]
);
test_kind!(
    /// core/v1 ServiceAccount
    ServiceAccount, "", "v1", "v1", "serviceaccounts", Namespaced,
    [Get, List, Create, Delete],
    token = TokenRequest
);
test_kind!(
    /// authentication.k8s.io/v1 TokenRequest
    TokenRequest, "authentication.k8s.io", "v1", "authentication.k8s.io/v1", "tokenrequests", Namespaced,
    []
);
test_kind!(
    /// core/v1 Pod
    Pod, "", "v1", "v1", "pods", Namespaced,
    [Get, List, Watch, Create, Update, Patch, Delete, DeleteCollection, Status, Log],
    eviction = Eviction
);
test_kind!(
    /// policy/v1 Eviction
    Eviction, "policy", "v1", "policy/v1", "evictions", Namespaced,
    []
);
test_kind!(
    /// apps/v1 Deployment
    Deployment, "apps", "v1", "apps/v1", "deployments", Namespaced,
    [Get, List, Watch, Create, Update, Patch, Delete, DeleteCollection, StrategicMergePatch, Status],
    scale = Scale
);
test_kind!(
    /// autoscaling/v1 Scale
    Scale, "autoscaling", "v1", "autoscaling/v1", "scales", Namespaced,
    []
);

/// A validation verdict as (field, reason) pairs, the object as a whole
/// named `""`: what `validate()` is compared on.
pub type Verdict = std::collections::BTreeSet<(String, String)>;

/// The server's verdict on a write: its causes, or none when it accepted;
/// `None` when the answer is no validation verdict (a conflict, a 400).
pub fn server_verdict(answer: &kubegen_runtime::Result<serde_json::Value>) -> Option<Verdict> {
    match answer {
        Ok(_) => Some(Verdict::new()),
        Err(e) if e.is_invalid() => Some(
            e.causes()
                .iter()
                .map(|c| {
                    let field = match c.field.as_deref().unwrap_or_default() {
                        "<nil>" => "",
                        f => f,
                    };
                    (
                        field.to_owned(),
                        c.reason.as_deref().unwrap_or_default().to_owned(),
                    )
                })
                .collect(),
        ),
        Err(_) => None,
    }
}

/// `validate()`'s verdict.
pub fn report_verdict(report: &kubegen_validation::Report) -> Verdict {
    report
        .errors
        .iter()
        .map(|e| (e.field.clone(), e.reason.as_str().to_owned()))
        .collect()
}
