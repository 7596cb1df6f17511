//! Smoke tests of the test cluster itself: it is real, reachable over TLS,
//! and its three kubeconfig contexts (`admin`, `limited`, `cert`)
//! authenticate as expected.

use std::time::Duration;

use kubegen_e2e::{Namespace, admin, eventually, is_gone, rest, unique};
use kubegen_runtime::{Client, DeleteOptions, ListOptions};

#[tokio::test]
async fn lists_namespaces_over_tls_with_the_kubeconfig_ca() {
    let cfg = kubegen_e2e::config("admin");
    assert_eq!(cfg.cluster_url.scheme_str(), Some("https"));
    assert!(
        cfg.root_cert_pem.is_some(),
        "the test kubeconfig carries its CA"
    );
    assert!(!cfg.insecure_skip_tls_verify);
    let list = Client::<Namespace>::cluster(admin())
        .list(&ListOptions::default())
        .await
        .expect("list namespaces");
    let names: Vec<_> = list
        .items
        .iter()
        .filter_map(|n| n.metadata.name.as_deref())
        .collect();
    for want in ["default", "kube-system", "kube-public"] {
        assert!(
            names.contains(&want),
            "namespace {want} missing from {names:?}"
        );
    }
}

#[tokio::test]
async fn limited_user_gets_a_typed_forbidden() {
    let err = Client::<Namespace>::cluster(rest("limited"))
        .list(&ListOptions::default())
        .await
        .expect_err("the limited user has no RBAC grants");
    assert!(err.is_forbidden(), "expected Forbidden, got {err}");
    assert_eq!(err.code(), Some(403));
    let msg = err
        .status()
        .and_then(|s| s.message.clone())
        .unwrap_or_default();
    assert!(
        msg.contains("kubegen-limited"),
        "status names the user: {msg}"
    );
}

#[tokio::test]
async fn client_certificate_context_works() {
    let cfg = kubegen_e2e::config("cert");
    assert!(cfg.auth.client_certificate.is_some() && cfg.auth.token.is_none());
    let list = Client::<Namespace>::cluster(rest("cert"))
        .list(&ListOptions::default())
        .await
        .expect("list as cert user");
    assert!(
        list.items
            .iter()
            .any(|n| n.metadata.name.as_deref() == Some("kube-system"))
    );
}

#[tokio::test]
async fn created_namespace_is_finalized_and_disappears_after_delete() {
    let c = Client::<Namespace>::cluster(admin());
    let name = unique("smoke-ns");
    let created = c
        .create(&Namespace::named(&name), &Default::default())
        .await
        .expect("create namespace");
    assert_eq!(created.metadata.name.as_deref(), Some(name.as_str()));
    assert!(created.metadata.uid.is_some());
    c.delete(&name, &DeleteOptions::default())
        .await
        .expect("delete namespace");
    // The namespace controller in kube-controller-manager empties and finalizes it.
    eventually(
        Duration::from_secs(120),
        "the namespace to be finalized",
        || is_gone(&c, &name),
    )
    .await;
}
