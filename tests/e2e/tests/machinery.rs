//! apimachinery's utilities against the real API server, each checked
//! against what the server itself does:
//!
//! - `field_selectors_parse_and_select_as_the_server_does`: a selector
//!   `FieldSelector` rejects is one the server answers 400 to, and one it
//!   accepts selects the ConfigMaps the server selects, written as given and
//!   as `FieldSelector` writes it back.
//! - `label_selectors_convert_as_the_server_does`: a ReplicaSet's
//!   `spec.selector` (a `LabelSelector`) turned into a `Selector` prints as
//!   the selector the server puts in the scale subresource's
//!   `status.selector`, selects the ConfigMaps the server selects with it, and
//!   converts back to the same `LabelSelector`; an operator the server refuses
//!   in a ReplicaSet is refused by the conversion too.
//! - `resource_versions_order_the_servers_writes`: successive writes of one
//!   object compare as increasing, and no item of a list is newer than the
//!   list.
//! - `server_version_reads_every_field`: `Discovery::server_version` keeps
//!   everything `GET /version` answers.

use kubegen_api::apps::v1::{ReplicaSet, ReplicaSetSpec};
use kubegen_api::core::v1::{ConfigMap, PodTemplateSpec};
use kubegen_api::meta::v1::LabelSelector;
use kubegen_e2e::{admin, drop_namespace, test_namespace};
use kubegen_runtime::discovery::Discovery;
use kubegen_runtime::meta::ObjectMeta;
use kubegen_runtime::resource_version;
use kubegen_runtime::{
    Client, CreateOptions, FieldSelector, ListOptions, Object, Selector, UpdateOptions,
};
use serde_json::json;
use std::cmp::Ordering;

/// Creates ConfigMaps named by the keys, labelled by the values; returns the
/// client.
async fn config_maps(ns: &str, objects: &[(&str, &[(&str, &str)])]) -> Client<ConfigMap> {
    let cms = Client::<ConfigMap>::namespaced(admin(), ns);
    for (name, labels) in objects {
        let cm = kubegen_e2e::labelled_config_map(name, labels);
        cms.create(&cm, &CreateOptions::default()).await.unwrap();
    }
    cms
}

/// The names the server lists with `opts`, sorted.
async fn names(
    cms: &Client<ConfigMap>,
    opts: &ListOptions,
) -> kubegen_runtime::Result<Vec<String>> {
    let mut names: Vec<String> = cms
        .list(opts)
        .await?
        .items
        .iter()
        .filter_map(|cm| cm.metadata().name.as_deref().map(str::to_owned))
        .collect();
    names.sort();
    Ok(names)
}

#[tokio::test]
async fn field_selectors_parse_and_select_as_the_server_does() {
    let rest = admin();
    let ns = test_namespace(&rest, "fields").await;
    let all = ["a", "b", "c", "d"];
    // The controller-manager adds a ConfigMap to every namespace: leave it out.
    let ours_only = || ListOptions::default().label_selector("set=fields");
    let cms = config_maps(&ns, &all.map(|n| (n, &[("set", "fields")][..]))).await;
    let selectors = [
        String::new(),
        "metadata.name=a".into(),
        "metadata.name==c".into(),
        "metadata.name!=a".into(),
        "metadata.name!=a,metadata.name!=b".into(),
        "metadata.name!=d,,metadata.name=b".into(),
        format!("metadata.namespace={ns},metadata.name=d"),
        format!("metadata.namespace!={ns}"),
        "metadata.name=".into(),
        // Refused by both.
        "metadata.name".into(),
        "metadata.name=a\\x".into(),
        "metadata.name=a=b".into(),
        "metadata.name=a\\".into(),
        "metadata.name=a,b".into(),
    ];
    let mut refused = 0;
    for raw in &selectors {
        let server = names(&cms, &ours_only().field_selector(raw)).await;
        let ours = match FieldSelector::parse(raw) {
            Ok(ours) => ours,
            Err(e) => {
                let refusal =
                    server.expect_err(&format!("{raw:?}: we refuse it ({e}), the server lists"));
                assert!(refusal.is_bad_request(), "{raw:?}: {refusal}");
                refused += 1;
                continue;
            }
        };
        let server =
            server.unwrap_or_else(|e| panic!("{raw:?}: we parse it, the server refuses: {e}"));
        let local: Vec<String> = all
            .iter()
            .filter(|name| {
                ours.matches(|field| match field {
                    "metadata.name" => Some(**name),
                    "metadata.namespace" => Some(ns.as_str()),
                    _ => None,
                })
            })
            .map(|n| (*n).to_owned())
            .collect();
        assert_eq!(local, server, "{raw:?}");
        let rewritten = names(&cms, &ours_only().field_selector(&ours))
            .await
            .unwrap();
        assert_eq!(rewritten, server, "{raw:?} written back as {ours}");
    }
    assert_eq!(refused, 5);
    drop_namespace(&rest, &ns).await;
}

/// A ReplicaSet of no replicas with this selector and pod template labels.
fn replica_set(name: &str, selector: LabelSelector, labels: &serde_json::Value) -> ReplicaSet {
    ReplicaSet {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        spec: ReplicaSetSpec {
            replicas: Some(0),
            selector,
            template: Some(
                serde_json::from_value::<PodTemplateSpec>(json!({
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "c", "image": "busybox"}]}
                }))
                .unwrap()
                .into(),
            ),
            ..Default::default()
        },
        ..Default::default()
    }
}

#[tokio::test]
async fn label_selectors_convert_as_the_server_does() {
    let rest = admin();
    let ns = test_namespace(&rest, "labels").await;
    let cms = config_maps(
        &ns,
        &[
            (
                "web-prod",
                &[("app", "web"), ("env", "prod"), ("tier", "front")],
            ),
            ("web-dev", &[("app", "web"), ("env", "dev")]),
            (
                "db-prod",
                &[("app", "db"), ("env", "prod"), ("critical", "yes")],
            ),
            ("bare", &[]),
        ],
    )
    .await;
    let replica_sets = Client::<ReplicaSet>::namespaced(rest.clone(), &ns);
    // Selectors, with pod template labels they select.
    let cases = [
        (
            json!({"matchLabels": {"app": "web"}}),
            json!({"app": "web"}),
        ),
        (
            json!({"matchLabels": {"app": "web", "env": "prod"}}),
            json!({"app": "web", "env": "prod"}),
        ),
        (
            json!({"matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "dev"]}]}),
            json!({"env": "dev"}),
        ),
        (
            json!({"matchLabels": {"env": "prod"}, "matchExpressions": [
                {"key": "tier", "operator": "DoesNotExist"},
                {"key": "app", "operator": "NotIn", "values": ["web"]},
                {"key": "critical", "operator": "Exists"}
            ]}),
            json!({"env": "prod", "app": "db", "critical": "yes"}),
        ),
    ];
    for (i, (selector, labels)) in cases.iter().enumerate() {
        let label_selector: LabelSelector = serde_json::from_value(selector.clone()).unwrap();
        let ours = Selector::try_from(&label_selector).unwrap();
        // The server writes a ReplicaSet's selector, as a string, into its
        // scale subresource.
        let rs = replica_set(&format!("rs{i}"), label_selector.clone(), labels);
        replica_sets
            .create(&rs, &CreateOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{selector}: {e}"));
        let scale = replica_sets.get_scale(&format!("rs{i}")).await.unwrap();
        let server_selector = scale.status.and_then(|s| s.selector).unwrap_or_default();
        assert_eq!(ours.to_string(), server_selector.as_str(), "{selector}");

        let server = names(&cms, &ListOptions::default().label_selector(&ours))
            .await
            .unwrap();
        let mut local: Vec<String> = cms
            .list(&ListOptions::default())
            .await
            .unwrap()
            .items
            .iter()
            .filter(|cm| ours.matches_meta(cm.metadata()))
            .filter_map(|cm| cm.metadata().name.as_deref().map(str::to_owned))
            .collect();
        local.sort();
        assert_eq!(local, server, "{selector}");

        let back = LabelSelector::try_from(&Selector::parse(&server_selector).unwrap()).unwrap();
        assert_eq!(Selector::try_from(&back).unwrap(), ours, "{selector}");
        let reparsed = serde_json::to_value(&back).unwrap();
        let original = serde_json::to_value(&label_selector).unwrap();
        assert_eq!(
            reparsed["matchLabels"], original["matchLabels"],
            "{selector}: matchLabels"
        );
    }

    // What the server refuses in a ReplicaSet, the conversion refuses.
    let bogus: LabelSelector = serde_json::from_value(
        json!({"matchExpressions": [{"key": "app", "operator": "Equals", "values": ["web"]}]}),
    )
    .unwrap();
    assert!(Selector::try_from(&bogus).is_err());
    let rs = replica_set("bogus", bogus, &json!({"app": "web"}));
    let refused = replica_sets
        .create(&rs, &CreateOptions::default())
        .await
        .unwrap_err();
    assert!(refused.is_invalid(), "{refused}");
    // A selector with `!=` has no LabelSelector form.
    assert!(LabelSelector::try_from(&Selector::parse("app!=web").unwrap()).is_err());
    drop_namespace(&rest, &ns).await;
}

#[tokio::test]
async fn resource_versions_order_the_servers_writes() {
    let rest = admin();
    let ns = test_namespace(&rest, "rv").await;
    let cms = config_maps(&ns, &[("cm", &[])]).await;
    let mut versions = Vec::new();
    let mut cm = cms.get("cm", &Default::default()).await.unwrap();
    for n in 0..3 {
        versions.push(cm.metadata().resource_version.clone().unwrap());
        cm.data = Some([("n".into(), n.to_string().into())].into_iter().collect());
        cm = cms.update(&cm, &UpdateOptions::default()).await.unwrap();
    }
    versions.push(cm.metadata().resource_version.clone().unwrap());
    for pair in versions.windows(2) {
        assert_eq!(
            resource_version::compare(&pair[0], &pair[1]),
            Ok(Ordering::Less),
            "{pair:?}"
        );
        assert_eq!(
            resource_version::compare(&pair[1], &pair[0]),
            Ok(Ordering::Greater)
        );
    }
    let list = cms.list(&ListOptions::default()).await.unwrap();
    let list_rv = list.metadata.resource_version.unwrap();
    for item in &list.items {
        let rv = item.metadata().resource_version.as_deref().unwrap();
        assert_ne!(
            resource_version::compare(rv, &list_rv),
            Ok(Ordering::Greater),
            "{rv} vs the list's {list_rv}"
        );
    }
    drop_namespace(&rest, &ns).await;
}

#[tokio::test]
async fn server_version_reads_every_field() {
    let rest = admin();
    let version = Discovery::new(rest.clone()).server_version().await.unwrap();
    let req = http::Request::get("/version")
        .body(bytes::Bytes::new())
        .unwrap();
    let raw: serde_json::Value = rest.request(req).await.unwrap();
    let ours = serde_json::to_value(&version).unwrap();
    let non_empty = |v: &serde_json::Value| {
        v.as_object()
            .unwrap()
            .iter()
            .filter(|(_, v)| v.as_str() != Some(""))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<serde_json::Map<_, _>>()
    };
    assert_eq!(non_empty(&ours), non_empty(&raw));
    assert!(
        version.git_version.starts_with(&format!(
            "v{}.{}.",
            version.major,
            version.minor.trim_end_matches('+')
        )),
        "{version:?}"
    );
}
