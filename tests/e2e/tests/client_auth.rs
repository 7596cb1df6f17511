//! Every auth mode against the test cluster: bearer token (admin, limited),
//! client certificate (see cluster.rs) and client certificate files rotated
//! mid-test, token file rotated mid-test, exec plugin (v1 and v1beta1; a
//! token, a client certificate, both rotated; the run after a 401; the
//! `KUBERNETES_EXEC_INFO` it gets), impersonation.

use std::path::PathBuf;

use kubegen_api::authentication::v1::SelfSubjectReview;
use kubegen_e2e::{Namespace, config, kubeconfig, kubeconfig_path};
use kubegen_runtime::auth::{ExecAuth, Impersonate, InteractiveMode};
use kubegen_runtime::{Client, Config, ListOptions, RestClient};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

fn token_of(user: &str) -> SecretString {
    kubeconfig()
        .user(user)
        .unwrap()
        .user
        .token
        .clone()
        .unwrap_or_else(|| panic!("user {user} has a token"))
}

async fn can_list(rest: RestClient) -> kubegen_runtime::Result<()> {
    Client::<Namespace>::cluster(rest)
        .list(&ListOptions::default().limit(1))
        .await
        .map(drop)
}

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("kubegen-e2e-{name}-{}", std::process::id()))
}

#[tokio::test]
async fn token_file_rotation_is_picked_up_mid_test() {
    let file = temp("token");
    std::fs::write(&file, token_of("limited").expose_secret()).unwrap();
    let mut cfg = config("admin");
    cfg.auth.token = None;
    cfg.auth.token_file = Some(file.clone());
    let rest = RestClient::new(cfg).unwrap();
    let err = can_list(rest.clone()).await.unwrap_err();
    assert!(err.is_forbidden(), "limited token first: {err}");
    std::fs::write(&file, format!("{}\n", token_of("admin").expose_secret())).unwrap();
    can_list(rest.clone())
        .await
        .expect("the rotated admin token is used without rebuilding the client");
    std::fs::write(&file, "not-a-valid-token").unwrap();
    let err = can_list(rest).await.unwrap_err();
    assert!(err.is_unauthorized(), "{err}");
    let _ = std::fs::remove_file(file);
}

#[tokio::test]
async fn exec_plugin_v1_and_v1beta1_authenticate_and_cache() {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("exec-plugin.sh");
    for version in [
        "client.authentication.k8s.io/v1",
        "client.authentication.k8s.io/v1beta1",
    ] {
        let counter = temp(&format!(
            "exec-count-{}",
            version.rsplit('/').next().unwrap_or("v")
        ));
        let _ = std::fs::remove_file(&counter);
        let mut cfg = config("admin");
        cfg.auth.token = None;
        cfg.auth.exec = Some(ExecAuth {
            api_version: version.into(),
            command: script.to_string_lossy().into_owned(),
            env: vec![
                ("KUBEGEN_E2E_TOKEN".into(), token_of("admin")),
                (
                    "KUBEGEN_E2E_COUNTER".into(),
                    counter.to_string_lossy().into_owned().into(),
                ),
            ],
            interactive_mode: InteractiveMode::Never,
            ..Default::default()
        });
        let rest = RestClient::new(cfg).unwrap();
        can_list(rest.clone())
            .await
            .unwrap_or_else(|e| panic!("{version}: {e}"));
        can_list(rest).await.unwrap();
        let runs = std::fs::read_to_string(&counter)
            .unwrap_or_default()
            .lines()
            .count();
        assert_eq!(
            runs, 1,
            "{version}: the credential is cached until it expires"
        );
        let _ = std::fs::remove_file(counter);
    }
}

#[tokio::test]
async fn missing_exec_plugin_is_a_clear_error() {
    let mut cfg = config("admin");
    cfg.auth.token = None;
    cfg.auth.exec = Some(ExecAuth {
        api_version: "client.authentication.k8s.io/v1".into(),
        command: "kubegen-no-such-plugin".into(),
        install_hint: Some("install kubegen-no-such-plugin from your cloud's docs".into()),
        interactive_mode: InteractiveMode::Never,
        ..Default::default()
    });
    let err = can_list(RestClient::new(cfg).unwrap())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("kubegen-no-such-plugin") && err.contains("cloud's docs"),
        "{err}"
    );
}

#[tokio::test]
async fn hanging_exec_plugin_fails_requests_within_its_timeout() {
    let mut cfg = config("admin");
    cfg.auth.token = None;
    cfg.auth.exec = Some(ExecAuth {
        api_version: "client.authentication.k8s.io/v1".into(),
        command: "sh".into(),
        args: vec!["-c".into(), "sleep 600".into()],
        interactive_mode: InteractiveMode::Never,
        timeout: Some(std::time::Duration::from_secs(1)),
        ..Default::default()
    });
    let rest = RestClient::new(cfg).unwrap();
    let start = std::time::Instant::now();
    // Three requests at once: one plugin run, one error for all.
    let results = futures::future::join_all((0..3).map(|_| can_list(rest.clone()))).await;
    for r in results {
        let err = r.unwrap_err().to_string();
        assert!(err.contains("did not answer within 1s"), "{err}");
    }
    assert!(
        start.elapsed() < std::time::Duration::from_secs(5),
        "bounded by the plugin timeout, took {:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn admin_impersonating_the_limited_user_is_forbidden() {
    let cfg = config("admin").impersonate(Impersonate::user("kubegen-limited"));
    let err = can_list(RestClient::new(cfg).unwrap()).await.unwrap_err();
    assert!(err.is_forbidden(), "{err}");
    let msg = err
        .status()
        .and_then(|s| s.message.clone())
        .unwrap_or_default();
    assert!(msg.contains("kubegen-limited"), "{msg}");
    // And the admin itself still can.
    can_list(kubegen_e2e::admin()).await.unwrap();
}

#[tokio::test]
async fn the_limited_user_may_not_impersonate() {
    let cfg = config("limited").impersonate(Impersonate::user("kubegen-admin"));
    let err = can_list(RestClient::new(cfg).unwrap()).await.unwrap_err();
    assert!(err.is_forbidden(), "{err}");
}

/// The user name the server authenticated a request from `rest` as.
async fn whoami(rest: RestClient) -> String {
    let review = Client::<SelfSubjectReview>::cluster(rest)
        .create(&SelfSubjectReview::default(), &Default::default())
        .await
        .expect("SelfSubjectReview");
    review
        .status
        .and_then(|s| s.user_info.clone())
        .and_then(|u| u.username.clone())
        .map(|n| n.to_string())
        .unwrap_or_default()
}

/// A file of the test cluster's PKI (`admin.crt`, `admin-2.key`, ...).
fn pki(name: &str) -> PathBuf {
    let path = kubeconfig_path().parent().unwrap().join("pki").join(name);
    assert!(
        path.exists(),
        "{} is missing: the cluster was set up by an older harness; restart it (cluster.sh up)",
        path.display()
    );
    path
}

fn pki_text(name: &str) -> String {
    std::fs::read_to_string(pki(name)).unwrap()
}

/// A `client.authentication.k8s.io/v1` ExecCredential with `status`.
fn credential(status: Value) -> Value {
    json!({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential", "status": status})
}

/// An exec plugin that prints `outputs[n]` on its n-th run (the last one on
/// later runs), and the number of times it ran so far. The script is passed to
/// `/bin/sh` rather than executed itself: a process forked by a concurrent test
/// while it was open for writing would make that fail with ETXTBSY.
fn plugin_printing(name: &str, outputs: &[Value]) -> (ExecAuth, impl Fn() -> usize + use<>) {
    let dir = temp(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (i, out) in outputs.iter().enumerate() {
        std::fs::write(dir.join(format!("out-{}.json", i + 1)), out.to_string()).unwrap();
    }
    let script = dir.join("plugin.sh");
    std::fs::write(
        &script,
        format!(
            "cd {dir:?}\necho run >> runs\nn=$(wc -l < runs)\n\
             [ \"$n\" -gt {last} ] && n={last}\ncat out-$n.json\n",
            last = outputs.len()
        ),
    )
    .unwrap();
    let exec = ExecAuth {
        api_version: "client.authentication.k8s.io/v1".into(),
        command: "/bin/sh".into(),
        args: vec![script.to_string_lossy().into_owned()],
        interactive_mode: InteractiveMode::Never,
        ..Default::default()
    };
    let runs = move || {
        std::fs::read_to_string(dir.join("runs"))
            .unwrap_or_default()
            .lines()
            .count()
    };
    (exec, runs)
}

/// The admin context with `exec` as its only credential.
fn exec_config(exec: ExecAuth) -> Config {
    let mut cfg = config("admin");
    cfg.auth.token = None;
    cfg.auth.exec = Some(exec);
    cfg
}

#[tokio::test]
async fn exec_plugin_runs_again_after_a_401() {
    let (exec, runs) = plugin_printing(
        "exec-401",
        &[
            credential(json!({"token": "kubegen-not-a-valid-token"})),
            credential(json!({"token": token_of("admin").expose_secret()})),
        ],
    );
    let rest = RestClient::new(exec_config(exec)).unwrap();
    let err = can_list(rest.clone()).await.unwrap_err();
    assert!(err.is_unauthorized(), "the first token is refused: {err}");
    assert_eq!(runs(), 1, "the refused request is not repeated");
    can_list(rest.clone())
        .await
        .expect("after the 401 the plugin ran again and its new token works");
    assert_eq!(runs(), 2);
    can_list(rest).await.unwrap();
    assert_eq!(runs(), 2, "the new token is cached");
}

#[tokio::test]
async fn exec_info_carries_the_cluster_only_when_asked() {
    let info = temp("exec-info");
    for provide_cluster_info in [false, true] {
        let _ = std::fs::remove_file(&info);
        let cfg = exec_config(ExecAuth {
            api_version: "client.authentication.k8s.io/v1".into(),
            command: "sh".into(),
            args: vec![
                "-c".into(),
                r#"printf '%s' "$KUBERNETES_EXEC_INFO" > "$INFO"
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"}}' "$TOKEN""#
                    .into(),
            ],
            env: vec![
                ("INFO".into(), info.to_string_lossy().into_owned().into()),
                ("TOKEN".into(), token_of("admin")),
            ],
            provide_cluster_info,
            interactive_mode: InteractiveMode::Never,
            ..Default::default()
        });
        let server = cfg.cluster_url.to_string();
        let ca = cfg
            .root_cert_pem
            .clone()
            .expect("the test cluster has a CA");
        can_list(RestClient::new(cfg).unwrap())
            .await
            .unwrap_or_else(|e| panic!("provideClusterInfo {provide_cluster_info}: {e}"));
        let sent: Value = serde_json::from_slice(&std::fs::read(&info).unwrap()).unwrap();
        assert_eq!(sent["apiVersion"], "client.authentication.k8s.io/v1");
        assert_eq!(sent["kind"], "ExecCredential");
        assert_eq!(sent["spec"]["interactive"], false, "interactiveMode Never");
        if provide_cluster_info {
            use base64::Engine as _;
            let cluster = &sent["spec"]["cluster"];
            assert_eq!(cluster["server"], server.as_str());
            assert_eq!(
                cluster["certificate-authority-data"],
                base64::engine::general_purpose::STANDARD.encode(&ca)
            );
        } else {
            assert!(sent["spec"].get("cluster").is_none(), "{sent}");
        }
    }
    let _ = std::fs::remove_file(info);
}

#[tokio::test]
async fn exec_plugin_client_certificate_is_presented_and_rotated() {
    let pair = |name: &str| {
        json!({
            "clientCertificateData": pki_text(&format!("{name}.crt")),
            "clientKeyData": pki_text(&format!("{name}.key")),
        })
    };
    let mut expired = pair("admin");
    expired["expirationTimestamp"] = "2000-01-01T00:00:00Z".into();
    let (exec, runs) = plugin_printing(
        "exec-cert",
        &[credential(expired), credential(pair("admin-2"))],
    );
    let rest = RestClient::new(exec_config(exec)).unwrap();
    assert_eq!(whoami(rest.clone()).await, "kubegen-cert-admin");
    assert_eq!(runs(), 1);
    // Expired: the plugin runs again, and the connection opened with the old
    // certificate must not carry the next request.
    assert_eq!(whoami(rest.clone()).await, "kubegen-cert-admin-2");
    assert_eq!(runs(), 2);
    assert_eq!(whoami(rest.clone()).await, "kubegen-cert-admin-2");
    can_list(rest).await.unwrap();
    assert_eq!(runs(), 2, "a certificate without expiry is cached");
}

#[tokio::test]
async fn client_certificate_files_are_reloaded_when_they_rotate() {
    let dir = temp("cert-files");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (crt, key) = (dir.join("tls.crt"), dir.join("tls.key"));
    std::fs::copy(pki("admin.crt"), &crt).unwrap();
    std::fs::copy(pki("admin.key"), &key).unwrap();
    let kc = dir.join("kubeconfig");
    std::fs::write(
        &kc,
        format!(
            "apiVersion: v1\nkind: Config\n\
             clusters: [{{name: c, cluster: {{server: {:?}, certificate-authority: {:?}}}}}]\n\
             users: [{{name: u, user: {{client-certificate: {crt:?}, client-key: {key:?}}}}}]\n\
             contexts: [{{name: c, context: {{cluster: c, user: u}}}}]\ncurrent-context: c\n",
            config("admin").cluster_url.to_string(),
            pki("ca.crt"),
        ),
    )
    .unwrap();
    let rest = RestClient::new(Config::from_kubeconfig(&kc, None).unwrap()).unwrap();
    assert_eq!(whoami(rest.clone()).await, "kubegen-cert-admin");
    // Half-way through a rotation the pair does not match: the old one stays.
    std::fs::copy(pki("admin-2.crt"), &crt).unwrap();
    assert_eq!(whoami(rest.clone()).await, "kubegen-cert-admin");
    std::fs::copy(pki("admin-2.key"), &key).unwrap();
    assert_eq!(
        whoami(rest.clone()).await,
        "kubegen-cert-admin-2",
        "the rotated files are used, the old connection is not"
    );
    can_list(rest).await.unwrap();
    let _ = std::fs::remove_dir_all(dir);
}
