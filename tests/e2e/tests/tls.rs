//! TLS against the real API server (its serving certificate names
//! `localhost`, `kubernetes`, `kubernetes.default(.svc)`, 127.0.0.1 and
//! 10.0.0.1, signed by the test cluster's CA):
//! - a CA that did not sign it fails, naming rustls' verification error;
//! - a server name it does not carry fails, and `tls-server-name` set to one
//!   it carries fixes a connection to an address it does not name;
//! - `insecure-skip-tls-verify` connects without any CA and warns once per
//!   process on stderr (read from a child run of the same test);
//! - a CA together with `insecure-skip-tls-verify` is refused up front.

use kubegen_e2e::fault_proxy::FaultProxy;
use kubegen_e2e::{config, list_one_namespace};
use kubegen_runtime::{Config, Error, RestClient};

fn with_max_retries_zero(mut cfg: Config) -> Config {
    cfg.max_retries = 0;
    cfg
}

#[tokio::test]
async fn a_ca_that_did_not_sign_the_server_fails_naming_why() {
    let mut cfg = with_max_retries_zero(config("admin"));
    // The public roots know nothing of the test cluster's CA.
    cfg.root_cert_pem = None;
    let err = list_one_namespace(cfg).await.unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(msg.contains("UnknownIssuer"), "{msg}");
}

#[tokio::test]
async fn a_name_the_certificate_lacks_fails_and_tls_server_name_fixes_it() {
    let mut cfg = with_max_retries_zero(config("admin"));
    cfg.tls_server_name = Some("elsewhere.example".into());
    let msg = list_one_namespace(cfg).await.unwrap_err().to_string();
    assert!(msg.contains("not valid for name"), "{msg}");

    // 127.0.0.2, forwarded to the server, is not in its certificate.
    let base = config("admin");
    let server: std::net::SocketAddr = base
        .cluster_url
        .authority()
        .expect("host")
        .as_str()
        .parse()
        .expect("IP:port");
    let forward = FaultProxy::start_on("127.0.0.2", server).await;
    let mut cfg = with_max_retries_zero(base);
    cfg.cluster_url = forward.url();
    let msg = list_one_namespace(cfg.clone())
        .await
        .unwrap_err()
        .to_string();
    assert!(msg.contains("not valid for name"), "{msg}");
    cfg.tls_server_name = Some("kubernetes.default".into());
    list_one_namespace(cfg)
        .await
        .expect("verified against tls-server-name");
}

/// Set in the copy of this test binary that the insecure test runs, so its
/// stderr can be read.
const CHILD: &str = "KUBEGEN_TLS_TEST_CHILD";

#[tokio::test]
async fn insecure_skip_tls_verify_connects_and_warns_once_on_stderr() {
    if std::env::var_os(CHILD).is_some() {
        // Two clients, two requests: one warning for the process.
        for _ in 0..2 {
            let mut cfg = config("admin");
            cfg.root_cert_pem = None;
            cfg.insecure_skip_tls_verify = true;
            list_one_namespace(cfg)
                .await
                .expect("unverified, but connected");
        }
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().expect("this test binary"))
        .args([
            "--exact",
            "insecure_skip_tls_verify_connects_and_warns_once_on_stderr",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .output()
        .expect("run this test in a child process");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed: {stderr}");
    assert_eq!(
        stderr.matches("insecure-skip-tls-verify is set").count(),
        1,
        "{stderr}"
    );
}

#[tokio::test]
async fn a_ca_with_insecure_skip_tls_verify_is_refused() {
    let mut cfg = config("admin");
    cfg.insecure_skip_tls_verify = true;
    let err = RestClient::new(cfg).unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert!(err.to_string().contains("pick one"), "{err}");
}
