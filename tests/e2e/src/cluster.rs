//! The test cluster's own controls: its harness script (kill and restart the
//! API server) and etcd's JSON gateway (change or compact what the API server
//! stores behind its back). Uses `curl` for etcd.

/// The checkout root of the running test cluster.
pub fn cluster_root() -> std::path::PathBuf {
    let kubeconfig = crate::kubeconfig_path();
    kubeconfig
        .canonicalize()
        .unwrap_or_else(|e| panic!("kubeconfig {}: {e}", kubeconfig.display()))
        .ancestors()
        .nth(3)
        .map(std::path::Path::to_path_buf)
        .unwrap_or_else(|| panic!("no checkout above {}", kubeconfig.display()))
}

/// Standard base64, as etcd's JSON gateway takes keys.
pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A value of the cluster's `.cache/cluster/env` (ports, endpoints, paths).
pub fn env(key: &str) -> String {
    let env =
        std::fs::read_to_string(cluster_root().join(".cache/cluster/env")).expect("cluster env");
    env.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| {
            panic!("{key} in the cluster env (restart the cluster: make cluster-down cluster-up)")
        })
        .to_owned()
}

/// POST to etcd's JSON gateway (the cluster's etcd listens on plain HTTP on
/// 127.0.0.1); used to change state while the apiserver is down.
pub fn etcd(path: &str, body: &str) -> serde_json::Value {
    let endpoint = env("ETCD_ENDPOINT");
    let out = std::process::Command::new("curl")
        .args([
            "-sf",
            "-X",
            "POST",
            &format!("{endpoint}{path}"),
            "-d",
            body,
        ])
        .output()
        .expect("run curl");
    assert!(
        out.status.success(),
        "etcd {path} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("etcd answers JSON")
}

/// Run the cluster harness of the checkout whose cluster the kubeconfig
/// belongs to (`<root>/.cache/cluster/kubeconfig` -> `<root>/tests/cluster/cluster.sh`).
pub fn cluster_script(arg: &str) {
    let script = cluster_root().join("tests/cluster/cluster.sh");
    let status = std::process::Command::new("bash")
        .arg(&script)
        .arg(arg)
        .status()
        .unwrap_or_else(|e| panic!("run {} {arg}: {e}", script.display()));
    assert!(
        status.success(),
        "{} {arg} failed: {status}",
        script.display()
    );
}

/// Compact etcd's history up to now (physically): watches and continue tokens
/// from before it get 410 Gone. Returns the compacted revision.
pub fn etcd_compact() -> String {
    let rev = etcd(
        "/v3/kv/range",
        &format!(r#"{{"key":"{}"}}"#, base64(b"/registry")),
    )["header"]["revision"]
        .as_str()
        .expect("revision")
        .to_owned();
    etcd(
        "/v3/kv/compaction",
        &format!(r#"{{"revision":"{rev}","physical":true}}"#),
    );
    rev
}

/// A PodTemplate named `name`, not created. The test cluster serves
/// PodTemplates without a watch cache (`--watch-cache-sizes=podtemplates#0`),
/// so [`etcd_compact`] reaches their watches as 410 Gone.
pub fn pod_template(name: &str) -> kubegen_api::core::v1::PodTemplate {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": name},
        "template": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    }))
    .expect("a PodTemplate")
}
