//! Proxies between the client and the real API server, each a real proxy
//! process ([`ProxyProcess`]) that reports the tunnels it opened:
//! - `http_proxy_url_tunnels_to_the_server`: through an `http://`
//!   `proxy-url` a list and a get succeed, and the proxy opened tunnels to
//!   the server's address and nowhere else.
//! - `https_proxy_url_is_verified_with_the_servers_roots`: an `https://`
//!   proxy serving a certificate the cluster's CA signed carries a list; one
//!   serving a self-signed certificate is refused (`UnknownIssuer`) before
//!   any tunnel.
//! - `socks5_proxy_url_leaves_the_server_name_to_the_proxy`: through
//!   `socks5://` the client names the server `kubernetes.default.svc`, which
//!   only the proxy resolves (to 127.0.0.1): a list succeeds and the proxy
//!   was asked for the name.
//! - `proxy_credentials_are_required_and_sent`: HTTP and SOCKS5 proxies that
//!   demand a user and password refuse a client without them or with a wrong
//!   password (whose errors do not show it), and carry one whose
//!   `proxy-url` has them.
//! - `https_proxy_from_the_environment_carries_a_named_server`: with
//!   `HTTPS_PROXY` set (in a child run of the test), a client of
//!   `https://kubernetes.default.svc:<port>` lists through the proxy.
//! - `no_proxy_exempts_a_named_server`: with `NO_PROXY=.svc` as well, the
//!   client goes straight to the name, which does not resolve: the list
//!   fails and the proxy opened nothing.
//! - `loopback_servers_are_never_proxied_from_the_environment`: with
//!   `HTTPS_PROXY` set, clients of `127.0.0.1` and `localhost` list directly;
//!   the proxy opened nothing.

use kubegen_e2e::proxy::ProxyProcess;
use kubegen_e2e::{Namespace, config, list_one_namespace};
use kubegen_runtime::{Client, Config, GetOptions, ListOptions, RestClient};

/// The port the test cluster's API server listens on (on 127.0.0.1).
fn server_port() -> u16 {
    config("admin")
        .cluster_url
        .port_u16()
        .expect("the cluster URL has a port")
}

/// The API server by a name its certificate carries and only the proxy
/// (started with `-to 127.0.0.1`) resolves.
fn named_server() -> String {
    format!("https://kubernetes.default.svc:{}", server_port())
}

/// The admin config through `proxy_url`, failing fast.
fn via(proxy_url: &str) -> Config {
    let mut cfg = config("admin");
    cfg.proxy_url = Some(proxy_url.parse().expect("a proxy URL"));
    cfg.max_retries = 0;
    cfg
}

/// The proxy opened tunnels, each to `target`.
fn assert_tunnels_only_to(targets: &[String], target: &str) {
    assert!(!targets.is_empty(), "the proxy opened no tunnel");
    assert!(targets.iter().all(|t| t == target), "{targets:?}");
}

#[tokio::test]
async fn http_proxy_url_tunnels_to_the_server() {
    let proxy = ProxyProcess::start("http", &[]);
    let rest = RestClient::new(via(&proxy.url(None))).expect("client");
    let namespaces = Client::<Namespace>::cluster(rest);
    namespaces
        .list(&ListOptions::default().limit(1))
        .await
        .expect("list through the proxy");
    namespaces
        .get("default", &GetOptions::default())
        .await
        .expect("get through the proxy");
    assert_tunnels_only_to(&proxy.stop(), &format!("127.0.0.1:{}", server_port()));
}

#[tokio::test]
async fn https_proxy_url_is_verified_with_the_servers_roots() {
    let pki = kubegen_e2e::cluster::cluster_root().join(".cache/cluster/pki");
    let (cert, key) = (pki.join("apiserver.crt"), pki.join("apiserver.key"));
    let trusted = ProxyProcess::start(
        "https",
        &[
            "-cert",
            cert.to_str().unwrap(),
            "-key",
            key.to_str().unwrap(),
        ],
    );
    list_one_namespace(via(&trusted.url(None)))
        .await
        .expect("list through the https proxy");
    assert_eq!(
        trusted.stop(),
        [format!("127.0.0.1:{}", server_port())],
        "one tunnel to the server"
    );

    let self_signed = ProxyProcess::start("https", &[]);
    let err = list_one_namespace(via(&self_signed.url(None)))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("UnknownIssuer"), "{err}");
    assert!(
        self_signed.stop().is_empty(),
        "no tunnel after a refused TLS"
    );
}

#[tokio::test]
async fn socks5_proxy_url_leaves_the_server_name_to_the_proxy() {
    let proxy = ProxyProcess::start("socks5", &["-to", "127.0.0.1"]);
    let mut cfg = via(&proxy.url(None));
    cfg.cluster_url = named_server().parse().unwrap();
    list_one_namespace(cfg)
        .await
        .expect("list through the socks5 proxy");
    assert_eq!(
        proxy.stop(),
        [format!("kubernetes.default.svc:{}", server_port())]
    );
}

#[tokio::test]
async fn proxy_credentials_are_required_and_sent() {
    for scheme in ["http", "socks5"] {
        let proxy = ProxyProcess::start(scheme, &["-auth", "alice:s3cret"]);
        for userinfo in [None, Some("alice:wr0ng-pass")] {
            let err = list_one_namespace(via(&proxy.url(userinfo)))
                .await
                .unwrap_err();
            let msg = format!("{err} {err:?}");
            assert!(!msg.contains("wr0ng-pass"), "{scheme}: {msg}");
        }
        list_one_namespace(via(&proxy.url(Some("alice:s3cret"))))
            .await
            .unwrap_or_else(|e| panic!("{scheme} proxy with credentials: {e}"));
        // Only the client with the right credentials got a tunnel.
        assert_eq!(
            proxy.stop(),
            [format!("127.0.0.1:{}", server_port())],
            "{scheme}"
        );
    }
}

/// Set in a child run of a test: the server to list with the proxy
/// environment the parent gave it.
const CHILD_SERVER: &str = "KUBEGEN_PROXY_TEST_SERVER";

/// In a child run, list `CHILD_SERVER` and return true (a failure panics,
/// failing the child); in the parent, false.
async fn list_as_child() -> bool {
    let Ok(server) = std::env::var(CHILD_SERVER) else {
        return false;
    };
    let mut cfg = config("admin");
    cfg.cluster_url = server.parse().expect("a server URL");
    cfg.max_retries = 0;
    list_one_namespace(cfg)
        .await
        .expect("list with the proxy environment");
    true
}

/// Run `test` in a child process listing `server` with `vars` as its only
/// proxy environment; whether it succeeded, and its stderr.
fn run_child(test: &str, server: &str, vars: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = std::process::Command::new(std::env::current_exe().expect("this test binary"));
    cmd.args(["--exact", test, "--nocapture"])
        .env(CHILD_SERVER, server);
    for var in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "NO_PROXY",
        "no_proxy",
        "ALL_PROXY",
        "all_proxy",
        "REQUEST_METHOD",
    ] {
        cmd.env_remove(var);
    }
    let out = cmd
        .envs(vars.iter().copied())
        .output()
        .expect("run this test in a child process");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn https_proxy_from_the_environment_carries_a_named_server() {
    if list_as_child().await {
        return;
    }
    let proxy = ProxyProcess::start("http", &["-to", "127.0.0.1"]);
    let (ok, stderr) = run_child(
        "https_proxy_from_the_environment_carries_a_named_server",
        &named_server(),
        &[("HTTPS_PROXY", &proxy.url(None))],
    );
    assert!(ok, "child failed: {stderr}");
    assert_tunnels_only_to(
        &proxy.stop(),
        &format!("kubernetes.default.svc:{}", server_port()),
    );
}

#[tokio::test]
async fn no_proxy_exempts_a_named_server() {
    if list_as_child().await {
        return;
    }
    let proxy = ProxyProcess::start("http", &["-to", "127.0.0.1"]);
    let (ok, stderr) = run_child(
        "no_proxy_exempts_a_named_server",
        &named_server(),
        &[
            ("HTTPS_PROXY", &proxy.url(None)),
            ("NO_PROXY", "example.com,.svc"),
        ],
    );
    // Straight to a name nothing here resolves.
    assert!(!ok, "the child reached kubernetes.default.svc: {stderr}");
    assert!(stderr.contains("dns error"), "{stderr}");
    assert!(proxy.stop().is_empty(), "NO_PROXY was not honoured");
}

#[tokio::test]
async fn loopback_servers_are_never_proxied_from_the_environment() {
    if list_as_child().await {
        return;
    }
    let proxy = ProxyProcess::start("http", &[]);
    for host in ["127.0.0.1", "localhost"] {
        let (ok, stderr) = run_child(
            "loopback_servers_are_never_proxied_from_the_environment",
            &format!("https://{host}:{}", server_port()),
            &[("HTTPS_PROXY", &proxy.url(None))],
        );
        assert!(ok, "child for {host} failed: {stderr}");
    }
    assert!(proxy.stop().is_empty(), "a loopback server was proxied");
}
