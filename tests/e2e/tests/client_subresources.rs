//! Subresources: status, scale, serviceaccount token, eviction, pod logs.

use futures::StreamExt;
use kubegen_e2e::{
    Deployment, Eviction, Pod, ServiceAccount, TokenRequest, admin, drop_namespace, test_namespace,
};
use kubegen_runtime::client::Patch;
use kubegen_runtime::options::LogOptions;
use kubegen_runtime::retry::{DEFAULT_BACKOFF, retry_on_conflict};
use kubegen_runtime::{Client, CreateOptions, GetOptions, PatchOptions, UpdateOptions};
use serde_json::json;

fn deployment(name: &str) -> Deployment {
    Deployment::new(
        name,
        json!({"spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "registry.invalid/none:1"}]}
            }
        }}),
    )
}

#[tokio::test]
async fn update_status_leaves_spec_alone_and_scale_round_trips() {
    let rest = admin();
    let ns = test_namespace(&rest, "sub").await;
    let deps = Client::<Deployment>::namespaced(rest.clone(), &ns);
    deps.create(&deployment("web"), &CreateOptions::default())
        .await
        .unwrap();

    // The deployment controller writes status meanwhile: each attempt starts
    // from a fresh read, as client-go's RetryOnConflict.
    let after = retry_on_conflict(DEFAULT_BACKOFF, || async {
        let mut s = deps.get_status("web").await?;
        s.rest.insert("spec".into(), json!({"replicas": 7}));
        s.rest.insert("status".into(), json!({"observedGeneration": 1, "replicas": 0, "conditions": [{"type": "Progressing", "status": "Unknown", "reason": "Test"}]}));
        deps.update_status(&s, &UpdateOptions::default()).await
    })
    .await
    .unwrap();
    assert_eq!(
        after.rest["spec"]["replicas"], 1,
        "spec is not changed through /status"
    );

    assert_eq!(
        deps.get_scale("web").await.unwrap().rest["spec"]["replicas"],
        1
    );
    let updated = retry_on_conflict(DEFAULT_BACKOFF, || async {
        let mut want = deps.get_scale("web").await?;
        want.rest.insert("spec".into(), json!({"replicas": 3}));
        deps.update_scale("web", &want, &UpdateOptions::default())
            .await
    })
    .await
    .unwrap();
    assert_eq!(updated.rest["spec"]["replicas"], 3);
    let d2 = deps.get("web", &GetOptions::default()).await.unwrap();
    assert_eq!(d2.rest["spec"]["replicas"], 3);
    let patched = deps
        .patch_status(
            "web",
            &Patch::Merge(json!({"status": {"observedGeneration": 9}})),
            &PatchOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(patched.rest["status"]["observedGeneration"], 9);
    drop_namespace(&rest, &ns).await;
}

#[tokio::test]
async fn serviceaccount_token_request_returns_a_jwt() {
    let rest = admin();
    let ns = test_namespace(&rest, "token").await;
    let sas = Client::<ServiceAccount>::namespaced(rest.clone(), &ns);
    sas.create(&ServiceAccount::named("robot"), &CreateOptions::default())
        .await
        .unwrap();
    let req = TokenRequest::new(
        "robot",
        json!({"spec": {"audiences": ["kubegen-e2e"], "expirationSeconds": 600}}),
    );
    let resp = sas
        .create_token("robot", &req, &CreateOptions::default())
        .await
        .unwrap();
    let token = resp.rest["status"]["token"].as_str().expect("status.token");
    assert_eq!(
        token.split('.').count(),
        3,
        "a JWT has three dot-separated parts"
    );
    drop_namespace(&rest, &ns).await;
}

#[tokio::test]
async fn eviction_and_logs_of_a_pod_that_never_runs() {
    let rest = admin();
    let ns = test_namespace(&rest, "evict").await;
    let pods = Client::<Pod>::namespaced(rest.clone(), &ns);
    let pod = Pod::new(
        "p",
        json!({"spec": {"containers": [{"name": "c", "image": "registry.invalid/none:1"}]}}),
    );
    pods.create(&pod, &CreateOptions::default()).await.unwrap();

    // No node runs it: the log endpoint answers with a typed error, not a panic.
    // No node runs it: the server answers with an empty log or a typed error, never a panic.
    match pods.logs("p", &LogOptions::default()).await {
        Ok(text) => assert!(text.is_empty(), "{text}"),
        Err(e) => assert!(e.status().is_some(), "{e}"),
    }
    let opts = LogOptions {
        follow: true,
        tail_lines: Some(10),
        ..Default::default()
    };
    match pods.log_stream("p", &opts).await {
        Ok(stream) => {
            let chunks: Vec<_> = tokio::time::timeout(
                std::time::Duration::from_secs(30),
                stream.collect::<Vec<_>>(),
            )
            .await
            .expect("the log stream of a pod without a node ends");
            assert!(
                chunks
                    .iter()
                    .all(|c| c.as_ref().is_ok_and(|b| b.is_empty())),
                "{chunks:?}"
            );
        }
        Err(e) => assert!(e.status().is_some(), "{e}"),
    }

    let ev = Eviction::new("p", json!({"metadata": {"namespace": ns}}));
    let status = pods
        .evict("p", &ev, &CreateOptions::default())
        .await
        .unwrap();
    assert_eq!(status.status.as_deref(), Some("Success"), "{status:?}");
    kubegen_e2e::eventually(
        std::time::Duration::from_secs(30),
        "the evicted pod to go",
        || kubegen_e2e::is_gone(&pods, "p"),
    )
    .await;
    drop_namespace(&rest, &ns).await;
}

/// `apply_scale` sets a Deployment's replicas as a field manager of the
/// scale subresource; an ephemeral container is added to a pod through its
/// subresource, leaving the spec's containers alone; a resize changes a
/// container's resources through `resize`.
#[tokio::test]
async fn apply_scale_ephemeral_containers_and_resize() {
    use kubegen_api::core::v1::Pod as TypedPod;
    use kubegen_runtime::ApplyOptions;

    let rest = admin();
    let ns = test_namespace(&rest, "sub2").await;
    let deps = Client::<kubegen_api::apps::v1::Deployment>::namespaced(rest.clone(), &ns);
    Client::<Deployment>::namespaced(rest.clone(), &ns)
        .create(&deployment("web"), &CreateOptions::default())
        .await
        .unwrap();
    let scale = deps
        .apply_scale(
            "web",
            &json!({"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "web"}, "spec": {"replicas": 4}}),
            &ApplyOptions::new("kubegen-scaler").force(true),
        )
        .await
        .unwrap();
    assert_eq!(scale.spec.and_then(|s| s.replicas), Some(4));
    let dep = deps.get("web", &GetOptions::default()).await.unwrap();
    assert_eq!(dep.spec.replicas, Some(4));
    let managers = dep.metadata.managed_fields.unwrap_or_default();
    assert!(
        managers
            .iter()
            .any(|m| m.manager.as_deref() == Some("kubegen-scaler")
                && m.subresource.as_deref() == Some("scale")),
        "{managers:?}"
    );

    let pods = Client::<TypedPod>::namespaced(rest.clone(), &ns);
    let pod: TypedPod = serde_json::from_value(json!({
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "registry.invalid/none:1",
            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "64Mi"}}}]}
    }))
    .unwrap();
    pods.create(&pod, &CreateOptions::default()).await.unwrap();

    let mut current = pods.get_ephemeral_containers("p").await.unwrap();
    current.spec.as_mut().unwrap().ephemeral_containers = Some(vec![serde_json::from_value(
        json!({"name": "debug", "image": "registry.invalid/debug:1", "targetContainerName": "c"}),
    )
    .unwrap()]);
    let with_debug = pods
        .update_ephemeral_containers(&current, &UpdateOptions::default())
        .await
        .unwrap();
    let spec = with_debug.spec.unwrap();
    let ephemeral = spec.ephemeral_containers.unwrap_or_default();
    assert_eq!(ephemeral.len(), 1);
    assert_eq!(ephemeral[0].name, "debug");
    assert_eq!(spec.containers.len(), 1, "the pod's own containers stay");

    let mut resized = pods.get_resize("p").await.unwrap();
    let resources = std::sync::Arc::make_mut(
        resized.spec.as_mut().unwrap().containers[0]
            .resources
            .as_mut()
            .unwrap(),
    );
    // Within the pod's QoS class (Burstable), as the server requires.
    resources
        .requests
        .as_mut()
        .unwrap()
        .insert("cpu".into(), kubegen_runtime::meta::Quantity("150m".into()));
    let after = retry_on_conflict(DEFAULT_BACKOFF, || async {
        let mut fresh = pods.get_resize("p").await?;
        fresh.spec = resized.spec.clone();
        pods.update_resize(&fresh, &UpdateOptions::default()).await
    })
    .await
    .unwrap();
    let spec = after.spec.unwrap();
    let requests = spec.containers[0]
        .resources
        .as_ref()
        .unwrap()
        .requests
        .as_ref()
        .unwrap();
    assert_eq!(requests["cpu"].0, "150m");
    drop_namespace(&rest, &ns).await;
}

/// The scale client reaches a Deployment and a custom resource by the names
/// users type, and refuses a resource without a scale subresource.
#[tokio::test]
async fn the_scale_client_scales_built_in_and_custom_resources_by_name() {
    use kubegen_runtime::scale::ScaleClient;

    let rest = admin();
    let ns = test_namespace(&rest, "scale").await;
    Client::<Deployment>::namespaced(rest.clone(), &ns)
        .create(&deployment("web"), &CreateOptions::default())
        .await
        .unwrap();
    let suffix = kubegen_e2e::unique("s").replace('-', "");
    let group = format!("{suffix}.kubegen.test");
    let crd_name = format!("pools.{group}");
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": crd_name},
        "spec": {
            "group": group, "scope": "Namespaced",
            "names": {"plural": "pools", "singular": "pool", "kind": "Pool"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "subresources": {"scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"}},
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]
        }
    });
    kubegen_e2e::apply_crd(&rest, &crd_name, &crd, "kubegen-e2e-scale").await;
    let pool = json!({"apiVersion": format!("{group}/v1"), "kind": "Pool", "metadata": {"name": "p"}, "spec": {"replicas": 2}});
    rest.request::<serde_json::Value>(
        http::Request::post(format!("/apis/{group}/v1/namespaces/{ns}/pools"))
            .header("Content-Type", "application/json")
            .body(bytes::Bytes::from(pool.to_string()))
            .unwrap(),
    )
    .await
    .unwrap();

    let scales = ScaleClient::new(rest.clone());
    for (resource, name, before) in [
        ("deploy", "web", 1),
        (format!("pools.{group}").as_str(), "p", 2),
    ]
    .map(|(r, n, b)| (r.to_owned(), n, b))
    {
        let mut scale = scales.get(&ns, &resource, name).await.unwrap();
        assert_eq!(
            scale.spec.as_ref().and_then(|s| s.replicas),
            Some(before),
            "{resource}"
        );
        scale.spec.get_or_insert_default().replicas = Some(before + 3);
        let updated = scales.update(&ns, &resource, &scale).await.unwrap();
        assert_eq!(
            updated.spec.and_then(|s| s.replicas),
            Some(before + 3),
            "{resource}"
        );
        let patched = scales
            .patch(
                &ns,
                &resource,
                name,
                &Patch::Merge(json!({"spec": {"replicas": 1}})),
            )
            .await
            .unwrap();
        assert_eq!(patched.spec.and_then(|s| s.replicas), Some(1), "{resource}");
    }
    let pool: serde_json::Value = rest
        .request(
            http::Request::get(format!("/apis/{group}/v1/namespaces/{ns}/pools/p"))
                .body(bytes::Bytes::new())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        pool["spec"]["replicas"], 1,
        "the scale wrote the custom resource's spec"
    );
    let refused = scales.get(&ns, "configmaps", "any").await.unwrap_err();
    assert!(
        refused.to_string().contains("no scale subresource"),
        "{refused}"
    );
    drop_namespace(&rest, &ns).await;
    Client::<kubegen_api::apiextensions::v1::CustomResourceDefinition>::cluster(rest)
        .delete(&crd_name, &Default::default())
        .await
        .unwrap();
}
