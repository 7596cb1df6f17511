//! Every auth mode against the test cluster: bearer token (admin, limited),
//! client certificate (see cluster.rs), token file rotated mid-test, exec
//! plugin (v1 and v1beta1), impersonation.

use std::path::PathBuf;

use kubegen_e2e::{Namespace, config, kubeconfig};
use kubegen_runtime::auth::{ExecAuth, Impersonate, InteractiveMode};
use kubegen_runtime::{Client, ListOptions, RestClient};
use secrecy::{ExposeSecret, SecretString};

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
