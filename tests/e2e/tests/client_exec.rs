//! exec / attach / portforward against the real API server.
//!
//! The test cluster has no nodes, so no process can run: these tests prove the
//! request path up to the kubelet (URL and query, the HTTP/1.1 WebSocket
//! upgrade, credentials) by the server's typed answers. The protocol itself
//! (streams, exit codes, resize, half-close, port data) is tested against a
//! local WebSocket server in `kubegen-runtime`'s `tests/remote_command.rs`.

use kubegen_api::core::v1::Pod;
use kubegen_e2e::{admin, drop_namespace, rest, test_namespace};
use kubegen_runtime::options::AttachParams;
use kubegen_runtime::{Client, CreateOptions, Error};

/// A pod the scheduler never places (there are no nodes).
fn unscheduled(name: &str) -> Pod {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "registry.invalid/none:1"}]}
    }))
    .unwrap()
}

/// The server's answer, which must be a typed API error.
fn api_error<T: std::fmt::Debug>(r: Result<T, Error>, what: &str) -> (u16, String, String) {
    match r {
        Err(Error::Api(a)) => (
            a.code,
            a.status.reason.clone().unwrap_or_default(),
            a.status.message.clone().unwrap_or_default(),
        ),
        other => panic!("{what}: expected the server's typed error, got {other:?}"),
    }
}

#[tokio::test]
async fn connect_subresources_of_an_unscheduled_pod_are_bad_requests() {
    let rest = admin();
    let ns = test_namespace(&rest, "exec").await;
    let pods = Client::<Pod>::namespaced(rest.clone(), &ns);
    pods.create(&unscheduled("p"), &CreateOptions::default())
        .await
        .unwrap();

    let exec = pods
        .exec(
            "p",
            ["sh", "-c", "echo hi"],
            &AttachParams::default().stdin(true),
        )
        .await;
    let (code, reason, message) = api_error(exec, "exec");
    assert_eq!((code, reason.as_str()), (400, "BadRequest"), "{message}");
    assert!(
        message.contains("does not have a host assigned"),
        "{message}"
    );

    let attach = pods
        .attach("p", &AttachParams::interactive_tty().container("c"))
        .await;
    let (code, _, message) = api_error(attach, "attach");
    assert_eq!(code, 400, "{message}");
    assert!(
        message.contains("does not have a host assigned"),
        "{message}"
    );

    let pf = pods.portforward("p", &[8080, 9090]).await;
    let (code, _, message) = api_error(pf, "portforward");
    assert_eq!(code, 400, "{message}");
    assert!(
        message.contains("does not have a host assigned"),
        "{message}"
    );

    // The container is checked before the node: the query reached the server.
    let wrong = pods
        .exec("p", ["true"], &AttachParams::default().container("nope"))
        .await;
    let (code, _, message) = api_error(wrong, "exec in a missing container");
    assert_eq!(code, 400, "{message}");
    assert!(message.contains("nope"), "{message}");
    drop_namespace(&rest, &ns).await;
}

#[tokio::test]
async fn exec_on_a_missing_pod_is_not_found() {
    let rest = admin();
    let ns = test_namespace(&rest, "exec-nf").await;
    let pods = Client::<Pod>::namespaced(rest.clone(), &ns);
    let err = pods
        .exec("missing", ["true"], &AttachParams::default())
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let err = pods.portforward("missing", &[80]).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    drop_namespace(&rest, &ns).await;
}

#[tokio::test]
async fn the_limited_user_is_forbidden() {
    let admin = admin();
    let ns = test_namespace(&admin, "exec-rbac").await;
    Client::<Pod>::namespaced(admin.clone(), &ns)
        .create(&unscheduled("p"), &CreateOptions::default())
        .await
        .unwrap();
    let pods = Client::<Pod>::namespaced(rest("limited"), &ns);
    for r in [
        pods.exec("p", ["true"], &AttachParams::default())
            .await
            .map(drop),
        pods.attach("p", &AttachParams::default()).await.map(drop),
        pods.portforward("p", &[80]).await.map(drop),
    ] {
        let err = r.unwrap_err();
        assert!(err.is_forbidden(), "{err}");
    }
    drop_namespace(&admin, &ns).await;
}
