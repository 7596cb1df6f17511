//! Discovery and the dynamic client see every group/version the server
//! serves, and agree with the typed client.

use std::collections::BTreeSet;

use futures::TryStreamExt;
use kubegen_e2e::{ConfigMap, admin, drop_namespace, test_namespace};
use kubegen_runtime::client::Patch;
use kubegen_runtime::discovery::Discovery;
use kubegen_runtime::{
    Client, CreateOptions, DynamicObject, GetOptions, ListOptions, PatchOptions, Scope,
};
use serde_json::json;

#[tokio::test]
async fn discovery_lists_every_group_version_and_each_is_listable() {
    let rest = admin();
    let disco = Discovery::new(rest.clone());
    let groups = disco.run().await.unwrap();
    let gvs: BTreeSet<String> = groups
        .iter()
        .flat_map(|g| {
            g.versions.iter().map(move |v| {
                if g.name.is_empty() {
                    v.version.clone()
                } else {
                    format!("{}/{}", g.name, v.version)
                }
            })
        })
        .collect();
    for want in [
        "v1",
        "apps/v1",
        "batch/v1",
        "rbac.authorization.k8s.io/v1",
        "coordination.k8s.io/v1",
        "apiextensions.k8s.io/v1",
    ] {
        assert!(gvs.contains(want), "{want} missing from {gvs:?}");
    }
    // Cached: the same Arc comes back.
    assert!(std::sync::Arc::ptr_eq(&groups, &disco.run().await.unwrap()));

    // For every group/version, list one listable resource through the dynamic client.
    let mut listed = 0;
    for g in groups.iter() {
        for v in &g.versions {
            let Some(r) = v.resources.iter().find(|r| r.supports("list")) else {
                continue;
            };
            let c = Client::<DynamicObject>::new_with(rest.clone(), r.resource.clone(), None);
            c.list(&ListOptions::default().limit(5))
                .await
                .unwrap_or_else(|e| {
                    panic!("list {}/{} {}: {e}", g.name, v.version, r.resource.plural)
                });
            listed += 1;
        }
    }
    assert!(listed >= 10, "listed {listed} group/versions");

    let mapper = disco.rest_mapper().await.unwrap();
    let d = mapper.preferred_resource_for("apps", "Deployment").unwrap();
    assert_eq!(
        (d.resource.plural.as_str(), d.resource.scope),
        ("deployments", Scope::Namespaced)
    );
    assert!(d.subresources.iter().any(|s| s == "scale"));
    assert_eq!(
        mapper
            .kind_for("", "v1", "namespaces")
            .unwrap()
            .resource
            .scope,
        Scope::Cluster
    );
    assert_eq!(mapper.preferred_version("apps"), Some("v1"));
}

#[tokio::test]
async fn dynamic_and_typed_clients_agree() {
    let rest = admin();
    let ns = test_namespace(&rest, "dyn").await;
    let ar = Discovery::new(rest.clone())
        .rest_mapper()
        .await
        .unwrap()
        .resource_for("", "v1", "ConfigMap")
        .unwrap()
        .resource
        .clone();
    let dynamic = Client::<DynamicObject>::new_with(rest.clone(), ar.clone(), Some(ns.clone()));
    let typed = Client::<ConfigMap>::namespaced(rest.clone(), &ns);

    let obj = DynamicObject::new("dyn", &ar).data(json!({"data": {"k": "v"}}));
    dynamic
        .create(&obj, &CreateOptions::default())
        .await
        .unwrap();
    let t = typed.get("dyn", &GetOptions::default()).await.unwrap();
    assert_eq!(t.rest["data"]["k"], "v");
    let p = dynamic
        .patch(
            "dyn",
            &Patch::Merge(json!({"data": {"k": "w"}})),
            &PatchOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(p.data["data"]["k"], "w");
    let back: ConfigMap = p.clone().try_parse().unwrap();
    assert_eq!(back.metadata.uid, t.metadata.uid);

    let typed_names: BTreeSet<_> = typed
        .list_all(&ListOptions::default())
        .map_ok(|c| c.metadata.name)
        .try_collect()
        .await
        .unwrap();
    let dyn_names: BTreeSet<_> = dynamic
        .list_all(&ListOptions::default())
        .map_ok(|c| c.metadata.name)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(typed_names, dyn_names);

    // A DynamicObject client built without a resource says how to build it.
    let err = Client::<DynamicObject>::all(rest.clone())
        .list(&ListOptions::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("new_with"), "{err}");
    drop_namespace(&rest, &ns).await;
}

/// Names as `kubectl get <name>` takes them resolve as client-go's
/// shortcut-expanding RESTMapper resolves them; a resource the cached
/// discovery does not know yet (a CRD installed after it ran) is found by
/// asking the server again.
#[tokio::test]
async fn names_users_type_resolve_and_a_new_crd_is_found_after_a_refresh() {
    let rest = admin();
    let disco = Discovery::new(rest.clone());
    let mapper = disco.rest_mapper().await.unwrap();
    let resolve = |arg: &str| {
        let r = &mapper
            .resolve(arg)
            .unwrap_or_else(|| panic!("{arg} resolves to nothing"))
            .resource;
        format!("{}/{}/{}", r.group, r.version, r.plural)
    };
    for (arg, want) in [
        ("po", "/v1/pods"),
        ("pod", "/v1/pods"),
        ("pods", "/v1/pods"),
        ("Pod", "/v1/pods"),
        ("deploy", "apps/v1/deployments"),
        ("deployment.apps", "apps/v1/deployments"),
        ("deployments.v1.apps", "apps/v1/deployments"),
        ("hpa", "autoscaling/v2/horizontalpodautoscalers"),
        (
            "horizontalpodautoscalers.v1.autoscaling",
            "autoscaling/v1/horizontalpodautoscalers",
        ),
        // core/v1 comes first in the server's order.
        ("events", "/v1/events"),
        ("ev", "/v1/events"),
        ("events.events.k8s.io", "events.k8s.io/v1/events"),
        ("crd", "apiextensions.k8s.io/v1/customresourcedefinitions"),
    ] {
        assert_eq!(resolve(arg), want, "{arg}");
    }
    assert!(mapper.resolve("nosuchthing").is_none());
    assert!(mapper.resolve("deployments.v1beta9.apps").is_none());
    let all: BTreeSet<&str> = mapper
        .category("all")
        .iter()
        .map(|r| r.resource.plural.as_str())
        .collect();
    for plural in [
        "pods",
        "services",
        "deployments",
        "replicasets",
        "statefulsets",
        "jobs",
    ] {
        assert!(
            all.contains(plural),
            "{plural} not in category all: {all:?}"
        );
    }
    assert!(!all.contains("configmaps"));

    // A CRD installed after discovery ran: its short name is unknown to the
    // cached result, and found once the server is asked again.
    let suffix = kubegen_e2e::unique("r").replace('-', "");
    let group = format!("{suffix}.kubegen.test");
    let crd_name = format!("gizmos.{group}");
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": crd_name},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "gizmos", "singular": "gizmo", "kind": "Gizmo", "shortNames": [format!("gz{suffix}")], "categories": ["gadgets"]},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]
        }
    });
    kubegen_e2e::apply_crd(&rest, &crd_name, &crd, "kubegen-e2e-discovery").await;
    let short = format!("gz{suffix}");
    // The server's discovery lists it (aggregated discovery follows the CRD
    // shortly after Established).
    kubegen_e2e::eventually(
        std::time::Duration::from_secs(30),
        "the CRD in discovery",
        || {
            let fresh = Discovery::new(rest.clone());
            let short = short.clone();
            async move {
                fresh
                    .rest_mapper()
                    .await
                    .is_ok_and(|m| m.resolve(&short).is_some())
            }
        },
    )
    .await;
    assert!(
        disco.rest_mapper().await.unwrap().resolve(&short).is_none(),
        "still cached"
    );
    let found = disco.resolve(&short).await.unwrap();
    assert_eq!(
        (
            found.resource.group.as_str(),
            found.resource.plural.as_str(),
            found.singular.as_str()
        ),
        (group.as_str(), "gizmos", "gizmo")
    );
    assert_eq!(found.categories, ["gadgets"]);
    let refreshed = disco.rest_mapper().await.unwrap();
    assert_eq!(
        refreshed
            .resolve(&format!("gizmo.{group}"))
            .unwrap()
            .resource
            .kind,
        "Gizmo"
    );
    let missing = disco.resolve("nosuchthing").await.unwrap_err();
    assert!(missing.to_string().contains("nosuchthing"), "{missing}");
    kubegen_runtime::Client::<kubegen_api::apiextensions::v1::CustomResourceDefinition>::cluster(
        rest,
    )
    .delete(&crd_name, &Default::default())
    .await
    .unwrap();
}

/// The OpenAPI v3 client lists the server's documents and fetches one; an
/// unknown path is an error naming it.
#[tokio::test]
async fn openapi_v3_documents_are_listed_and_fetched() {
    let disco = Discovery::new(admin());
    let paths = disco.openapi_v3_paths().await.unwrap();
    for path in ["api/v1", "apis/apps/v1", "apis/coordination.k8s.io/v1"] {
        let url = paths
            .get(path)
            .unwrap_or_else(|| panic!("{path} not in {paths:?}"));
        assert!(
            url.starts_with(&format!("/openapi/v3/{path}?hash=")),
            "{url}"
        );
    }
    let apps = disco.openapi_v3("apis/apps/v1").await.unwrap();
    assert!(
        apps["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.")),
        "{}",
        apps["openapi"]
    );
    let deployment = &apps["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"];
    assert_eq!(
        deployment["x-kubernetes-group-version-kind"][0]["kind"], "Deployment",
        "{deployment}"
    );
    assert!(
        apps["paths"]
            .as_object()
            .unwrap()
            .contains_key("/apis/apps/v1/namespaces/{namespace}/deployments")
    );
    let missing = disco.openapi_v3("apis/nosuch/v9").await.unwrap_err();
    assert!(missing.to_string().contains("apis/nosuch/v9"), "{missing}");
}
