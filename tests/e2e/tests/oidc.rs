//! The `oidc` auth-provider against the test cluster, whose API servers trust
//! the small OpenID Connect issuer the cluster script starts
//! (tests/cluster/cmd/oidc): an ID token authenticates; an expired one is
//! refreshed through the issuer's token endpoint (found by discovery, over
//! TLS to the issuer's own CA), the new tokens are written back to the
//! kubeconfig, and clones of one config share one refresh; every failure
//! says what went wrong without showing a token or the client secret.

use std::path::{Path, PathBuf};

use kubegen_api::authentication::v1::SelfSubjectReview;
use kubegen_e2e::cluster::env;
use kubegen_e2e::{kubeconfig_path, unique};
use kubegen_runtime::config::Kubeconfig;
use kubegen_runtime::{Client, Config, RestClient};
use secrecy::ExposeSecret as _;

/// Run curl against the issuer (trusting the cluster's CA); its JSON answer.
fn issuer(method: &str, path: &str) -> serde_json::Value {
    let out = std::process::Command::new("curl")
        .args(["-sf", "-X", method, "--cacert"])
        .arg(ca_file())
        .arg(format!("{}{path}", env("OIDC_ISSUER_URL")))
        .output()
        .expect("run curl");
    assert!(
        out.status.success(),
        "issuer {path}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the issuer answers JSON")
}

/// A login at the issuer: an ID token for `sub` valid `ttl` seconds from now
/// (negative: already expired), and a refresh token.
fn login(sub: &str, ttl: i64) -> (String, String) {
    let t = issuer("POST", &format!("/issue?sub={sub}&ttl={ttl}"));
    let s = |k: &str| t[k].as_str().unwrap().to_owned();
    (s("id_token"), s("refresh_token"))
}

fn refreshes(sub: &str) -> u64 {
    issuer("GET", &format!("/refreshes?sub={sub}"))
        .as_u64()
        .unwrap()
}

fn ca_file() -> PathBuf {
    kubeconfig_path().parent().unwrap().join("pki/ca.crt")
}

/// A kubeconfig whose user `me` has an `oidc` auth-provider with `config`
/// (YAML map entries, indented for the place), beside an unrelated user.
fn write_kubeconfig(name: &str, config: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique(name));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("config");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\n\
             clusters:\n- name: c\n  cluster:\n    server: {server}\n    certificate-authority: {ca}\n\
             users:\n- name: other\n  user: {{token: unrelated-token}}\n\
             - name: me\n  user:\n    auth-provider:\n      name: oidc\n      config:\n{config}\
             contexts:\n- name: x\n  context: {{cluster: c, user: me}}\ncurrent-context: x\n",
            server = env("APISERVER_URL"),
            ca = ca_file().display(),
        ),
    )
    .unwrap();
    path
}

/// The usual provider settings plus `tokens` (`id-token`, `refresh-token`).
fn provider_config(secret: &str, tokens: &[(&str, &str)]) -> String {
    let mut out = format!(
        "        idp-issuer-url: {}\n        client-id: kubegen\n        client-secret: {secret}\n\
         \x20       idp-certificate-authority: {}\n",
        env("OIDC_ISSUER_URL"),
        ca_file().display()
    );
    for (k, v) in tokens {
        out.push_str(&format!("        {k}: {v}\n"));
    }
    out
}

/// The user name the server authenticated a request as.
async fn whoami(rest: RestClient) -> kubegen_runtime::Result<String> {
    let review = Client::<SelfSubjectReview>::cluster(rest)
        .create(&SelfSubjectReview::default(), &Default::default())
        .await?;
    Ok(review
        .status
        .and_then(|s| s.user_info.clone())
        .and_then(|u| u.username.clone())
        .map(|n| n.to_string())
        .unwrap_or_default())
}

async fn whoami_from(path: &Path) -> kubegen_runtime::Result<String> {
    whoami(RestClient::new(Config::from_kubeconfig(path, None)?)?).await
}

fn provider_setting(path: &Path, key: &str) -> String {
    let kc = Kubeconfig::read(path).unwrap();
    let p = kc.user("me").unwrap().user.auth_provider.clone().unwrap();
    p.config[key].expose_secret().to_owned()
}

#[tokio::test]
async fn an_expired_id_token_is_refreshed_once_written_back_and_shared() {
    let sub = unique("alice");
    let secret = env("OIDC_CLIENT_SECRET");
    let (expired, refresh) = login(&sub, -60);
    let path = write_kubeconfig(
        "oidc-refresh",
        &provider_config(
            &secret,
            &[("id-token", &expired), ("refresh-token", &refresh)],
        ),
    );

    let cfg = Config::from_kubeconfig(&path, None).unwrap();
    let shown = format!("{cfg:?}");
    assert!(
        !shown.contains(&refresh) && !shown.contains(&secret),
        "{shown}"
    );
    let first = RestClient::new(cfg.clone()).unwrap();
    assert_eq!(whoami(first.clone()).await.unwrap(), format!("oidc:{sub}"));
    assert_eq!(refreshes(&sub), 1);

    // The refreshed token serves later requests, other clients of the same
    // config, and concurrent ones: no second refresh.
    let second = RestClient::new(cfg).unwrap();
    let (a, b, c) = tokio::join!(
        whoami(first.clone()),
        whoami(second.clone()),
        whoami(second)
    );
    for name in [a, b, c] {
        assert_eq!(name.unwrap(), format!("oidc:{sub}"));
    }
    assert_eq!(refreshes(&sub), 1);

    // Written back: a new ID token and the rotated refresh token, the rest kept.
    let (id_now, refresh_now) = (
        provider_setting(&path, "id-token"),
        provider_setting(&path, "refresh-token"),
    );
    assert_ne!(id_now, expired);
    assert_ne!(refresh_now, refresh);
    assert_eq!(provider_setting(&path, "client-id"), "kubegen");
    let kc = Kubeconfig::read(&path).unwrap();
    assert_eq!(
        kc.user("other")
            .unwrap()
            .user
            .token
            .as_ref()
            .unwrap()
            .expose_secret(),
        "unrelated-token"
    );

    // A new process reading the file uses the written token as it is.
    assert_eq!(whoami_from(&path).await.unwrap(), format!("oidc:{sub}"));
    assert_eq!(refreshes(&sub), 1);

    // The old refresh token is spent: the issuer's refusal is reported, no
    // token or secret in it.
    let stale = write_kubeconfig(
        "oidc-stale",
        &provider_config(
            &secret,
            &[("id-token", &expired), ("refresh-token", &refresh)],
        ),
    );
    let err = whoami_from(&stale).await.unwrap_err().to_string();
    assert!(
        err.contains("invalid_grant") && err.contains("/token"),
        "{err}"
    );
    for s in [&refresh, &secret, &expired] {
        assert!(!err.contains(s.as_str()), "{err}");
    }
}

#[tokio::test]
async fn a_valid_id_token_is_used_as_it_is_and_failures_are_clear() {
    let sub = unique("bob");
    let secret = env("OIDC_CLIENT_SECRET");

    // Valid, no refresh token: used without asking the issuer.
    let (valid, _) = login(&sub, 3600);
    let path = write_kubeconfig(
        "oidc-valid",
        &provider_config(&secret, &[("id-token", &valid)]),
    );
    assert_eq!(whoami_from(&path).await.unwrap(), format!("oidc:{sub}"));
    assert_eq!(refreshes(&sub), 0);

    // Expired with nothing to refresh it by.
    let (expired, refresh) = login(&sub, -60);
    let path = write_kubeconfig(
        "oidc-norefresh",
        &provider_config(&secret, &[("id-token", &expired)]),
    );
    let err = whoami_from(&path).await.unwrap_err().to_string();
    assert!(
        err.contains("no valid id-token") && err.contains("refresh-token"),
        "{err}"
    );

    // A wrong client secret: the issuer refuses the client; the secret is not shown.
    let path = write_kubeconfig(
        "oidc-badsecret",
        &provider_config(
            "wrong-s3cr3t",
            &[("id-token", &expired), ("refresh-token", &refresh)],
        ),
    );
    let err = whoami_from(&path).await.unwrap_err().to_string();
    assert!(err.contains("invalid_client"), "{err}");
    assert!(
        !err.contains("wrong-s3cr3t") && !err.contains(&refresh),
        "{err}"
    );

    // The issuer's certificate is verified: without its CA the default roots
    // do not trust it.
    let untrusted = provider_config(
        &secret,
        &[("id-token", &expired), ("refresh-token", &refresh)],
    )
    .lines()
    .filter(|l| !l.contains("idp-certificate-authority"))
    .map(|l| format!("{l}\n"))
    .collect::<String>();
    let path = write_kubeconfig("oidc-untrusted", &untrusted);
    let err = whoami_from(&path).await.unwrap_err().to_string();
    assert!(
        err.contains("oidc") && err.to_lowercase().contains("certificate"),
        "{err}"
    );
    // The refresh token was never spent.
    assert_eq!(refreshes(&sub), 0);
}
