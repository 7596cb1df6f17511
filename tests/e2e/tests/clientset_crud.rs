//! CRUD + watch + delete_collection through the GENERATED clientsets, against
//! the real API server: kubegen-api's `Clientset` for eleven built-in kinds
//! across five groups, and the `Clientset` that kubegen-shared-crds generates
//! from cert-manager's Certificate CRD (../shared/crds).
//!
//! One generic routine, [`crud`], runs every kind through the same steps:
//! list (label selector) -> watch from the list's resourceVersion -> create
//! (a realistic object, `fieldValidation=Strict`) -> get -> list -> update ->
//! merge patch -> strategic-merge patch (built-ins only: the server refuses it
//! for custom resources, and the generated client does not offer it there) ->
//! delete -> the watch saw ADDED, MODIFIED (each write), DELETED for that
//! object -> delete_collection by label selector leaves the list empty and an
//! unlabelled neighbour alone (for kinds whose API offers deletecollection;
//! namespaces have none).

use std::fmt::Debug;
use std::pin::Pin;
use std::time::Duration;

use futures::StreamExt;
use kubegen_api::Clientset;
use kubegen_e2e::{admin, drop_namespace, eventually, test_namespace, unique};
use kubegen_runtime::options::FieldValidation;
use kubegen_runtime::retry::{DEFAULT_RETRY, retry_on_conflict};
use kubegen_runtime::{
    Client, CreateOptions, DeleteOptions, GetOptions, ListOptions, Object, Patch, PatchOptions,
    Resource, SortedMap, UpdateOptions, WatchEvent, verbs,
};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Value, json};

const LABEL: &str = "kubegen.test/crud";
const WAIT: Duration = Duration::from_secs(90);

type Hook<'a, K> =
    Box<dyn Fn(&'a Client<K>, String) -> Pin<Box<dyn Future<Output = ()> + 'a>> + 'a>;

/// A strategic-merge patch step: sends `patch`, then checks each JSON pointer
/// of the answer against the value expected.
fn strategic<'a, K, P: Into<String>>(patch: Value, expect: Vec<(P, Value)>) -> Option<Hook<'a, K>>
where
    K: Object + verbs::Patch + verbs::StrategicMergePatch + Serialize + DeserializeOwned + 'a,
{
    let expect: Vec<(String, Value)> = expect.into_iter().map(|(p, v)| (p.into(), v)).collect();
    Some(Box::new(move |c: &'a Client<K>, name: String| {
        let patch = patch.clone();
        let expect = expect.clone();
        Box::pin(async move {
            let got = c
                .patch_strategic(&name, &patch, &PatchOptions::default())
                .await
                .unwrap_or_else(|e| panic!("{} strategic patch {name}: {e}", K::KIND));
            let got = serde_json::to_value(&got).unwrap();
            for (ptr, want) in &expect {
                assert_eq!(
                    got.pointer(ptr),
                    Some(want),
                    "{} after strategic patch: {ptr} in {got:#}",
                    K::KIND
                );
            }
        })
    }))
}

/// The delete_collection step: two labelled objects and one unlabelled
/// neighbour; delete the labelled ones by selector; the list by that selector
/// ends up empty and the neighbour stays.
fn collection<'a, K>(make: fn(&str, &str) -> Value, run: String) -> Option<Hook<'a, K>>
where
    K: Object + verbs::Create + verbs::List + verbs::Get + verbs::Delete + verbs::DeleteCollection,
    K: Serialize + DeserializeOwned + Debug + 'a,
{
    Some(Box::new(move |c: &'a Client<K>, prefix: String| {
        let run = run.clone();
        Box::pin(async move {
            let strict = CreateOptions::default().field_validation(FieldValidation::Strict);
            for n in ["b", "c"] {
                c.create(&typed(make(&format!("{prefix}-{n}"), &run)), &strict)
                    .await
                    .unwrap_or_else(|e| panic!("{} create {prefix}-{n}: {e}", K::KIND));
            }
            let neighbour = format!("{prefix}-other");
            let mut other = make(&neighbour, &run);
            other["metadata"]["labels"] = json!({"kubegen.test/other": "yes"});
            c.create(&typed(other), &strict)
                .await
                .unwrap_or_else(|e| panic!("{} create {neighbour}: {e}", K::KIND));
            let sel = ListOptions::default().label_selector(format!("{LABEL}={run}"));
            assert_eq!(
                c.list(&sel).await.unwrap().items.len(),
                2,
                "{}: two labelled objects",
                K::KIND
            );
            c.delete_collection(&DeleteOptions::default(), &sel)
                .await
                .unwrap_or_else(|e| panic!("{} delete_collection: {e}", K::KIND));
            eventually(
                WAIT,
                &format!("{} list by {LABEL}={run} to be empty", K::KIND),
                || async { c.list(&sel).await.is_ok_and(|l| l.items.is_empty()) },
            )
            .await;
            c.get(&neighbour, &GetOptions::default())
                .await
                .unwrap_or_else(|e| {
                    panic!(
                        "{} delete_collection took the unlabelled {neighbour} too: {e}",
                        K::KIND
                    )
                });
            let _ = c.delete(&neighbour, &DeleteOptions::default()).await;
        })
    }))
}

/// A manifest (JSON, apiVersion and kind filled in as a user's manifest has
/// them) as the generated type; a failure names the kind and the JSON.
fn typed<K: Object + Resource + DeserializeOwned>(mut v: Value) -> K {
    v["apiVersion"] = json!(K::API_VERSION);
    v["kind"] = json!(K::KIND);
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{}: {e}: {v:#}", K::KIND))
}

fn names<K: Object>(items: &[K]) -> Vec<String> {
    items
        .iter()
        .filter_map(|o| o.metadata().name.as_deref().map(str::to_owned))
        .collect()
}

/// The steps every kind goes through (see the module docs). `make(name, run)`
/// gives a realistic object labelled `LABEL=run`.
async fn crud<'a, K>(
    c: &'a Client<K>,
    make: fn(&str, &str) -> Value,
    run: &str,
    strategic: Option<Hook<'a, K>>,
    collection: Option<Hook<'a, K>>,
) where
    K: Object + verbs::Get + verbs::List + verbs::Watch + verbs::Create + verbs::Update,
    K: verbs::Patch + verbs::Delete + Serialize + DeserializeOwned + Clone + Debug,
{
    let kind = K::KIND;
    let sel = ListOptions::default().label_selector(format!("{LABEL}={run}"));
    let before = c
        .list(&sel)
        .await
        .unwrap_or_else(|e| panic!("{kind} list: {e}"));
    assert!(
        before.items.is_empty(),
        "{kind}: nothing labelled {run} yet"
    );
    let rv = before
        .resource_version()
        .expect("a list has a resourceVersion")
        .to_owned();
    let mut events = c
        .watch(&sel.clone().resource_version(rv).timeout_seconds(120))
        .await
        .unwrap_or_else(|e| panic!("{kind} watch: {e}"));

    let name = unique(&kind.to_lowercase());
    let strict = CreateOptions::default().field_validation(FieldValidation::Strict);
    let created = c
        .create(&typed(make(&name, run)), &strict)
        .await
        .unwrap_or_else(|e| panic!("{kind} create: {e}"));
    assert_eq!(created.metadata().name.as_deref(), Some(name.as_str()));
    assert!(
        created.metadata().uid.is_some(),
        "{kind}: the server set a uid"
    );

    let got = c
        .get(&name, &GetOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{kind} get: {e}"));
    assert_eq!(got.metadata().uid, created.metadata().uid);

    let listed = c
        .list(&sel)
        .await
        .unwrap_or_else(|e| panic!("{kind} list: {e}"));
    assert_eq!(
        names(&listed.items),
        vec![name.clone()],
        "{kind}: the list by label selector"
    );

    // Read-modify-write; controllers (job, statefulset) write too, so a
    // Conflict means: read again and retry, as client-go's RetryOnConflict.
    let updated = retry_on_conflict(DEFAULT_RETRY, || async {
        let mut latest = c.get(&name, &GetOptions::default()).await?;
        latest
            .metadata_mut()
            .annotations
            .get_or_insert_with(SortedMap::new)
            .insert("kubegen.test/step".into(), "updated".into());
        c.update(
            &latest,
            &UpdateOptions::default().field_validation(FieldValidation::Strict),
        )
        .await
    })
    .await
    .unwrap_or_else(|e| panic!("{kind} update: {e}"));
    assert_eq!(annotation(&updated, "kubegen.test/step"), Some("updated"));
    assert_ne!(
        updated.metadata().resource_version,
        created.metadata().resource_version
    );

    let merged = c
        .patch(
            &name,
            &Patch::Merge(json!({"metadata": {"annotations": {"kubegen.test/merge": "yes"}}})),
            &PatchOptions::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("{kind} merge patch: {e}"));
    assert_eq!(annotation(&merged, "kubegen.test/merge"), Some("yes"));
    assert_eq!(
        annotation(&merged, "kubegen.test/step"),
        Some("updated"),
        "{kind}: merge keeps the rest"
    );

    let mut writes = 2;
    if let Some(step) = &strategic {
        step(c, name.clone()).await;
        writes += 1;
    }

    c.delete(&name, &DeleteOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{kind} delete: {e}"));

    // ADDED, then at least one MODIFIED per write (controllers may add more,
    // and a namespace passes through Terminating), then DELETED.
    let mut seen = Vec::new();
    loop {
        let ev = tokio::time::timeout(WAIT, events.next())
            .await
            .unwrap_or_else(|_| panic!("{kind}: no watch event within {WAIT:?}; saw {seen:?}"))
            .unwrap_or_else(|| panic!("{kind}: the watch ended early; saw {seen:?}"))
            .unwrap_or_else(|e| panic!("{kind} watch event: {e}"));
        let (what, obj) = match ev {
            WatchEvent::Added(o) => ("ADDED", o),
            WatchEvent::Modified(o) => ("MODIFIED", o),
            WatchEvent::Deleted(o) => ("DELETED", o),
            WatchEvent::Bookmark(_) => continue,
            WatchEvent::Error(s) => panic!("{kind} watch error {s:?}"),
        };
        if obj.metadata().name.as_deref() != Some(name.as_str()) {
            continue;
        }
        seen.push(what);
        if what == "DELETED" {
            break;
        }
    }
    assert_eq!(seen.first(), Some(&"ADDED"), "{kind}: {seen:?}");
    assert!(
        seen.iter().filter(|e| **e == "MODIFIED").count() >= writes,
        "{kind}: {writes} writes, saw {seen:?}"
    );

    if let Some(step) = &collection {
        step(c, name.clone()).await;
    }
}

fn annotation<'o, K: Object>(o: &'o K, key: &str) -> Option<&'o str> {
    o.metadata()
        .annotations
        .as_ref()?
        .get(key)
        .map(|v| v.as_str())
}

fn meta(name: &str, run: &str) -> Value {
    json!({"name": name, "labels": {LABEL: run, "app": "crud"}})
}

fn container(image: &str) -> Value {
    json!({
        "name": "app", "image": image, "command": ["sleep", "3600"],
        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
        "env": [{"name": "MODE", "value": "test"}],
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "32Mi"}}
    })
}

fn pod_template(run: &str) -> Value {
    json!({
        "metadata": {"labels": {"app": "crud", LABEL: run}},
        "spec": {"containers": [container("busybox:1.36")], "terminationGracePeriodSeconds": 5}
    })
}

/// A strategic patch of the `app` container's image (merged by name: the
/// container keeps its env) and what it must give at `prefix`.
fn image_patch(wrap: fn(Value) -> Value, prefix: &str) -> (Value, Vec<(String, Value)>) {
    let patch = wrap(json!({"containers": [{"name": "app", "image": "busybox:1.37"}]}));
    (
        patch,
        vec![
            (
                format!("{prefix}/containers/0/image"),
                json!("busybox:1.37"),
            ),
            (format!("{prefix}/containers/0/env/0/name"), json!("MODE")),
        ],
    )
}

async fn setup() -> (Clientset, kubegen_runtime::RestClient, String, String) {
    let rest = admin();
    let ns = test_namespace(&rest, "cs-crud").await;
    (Clientset::from_rest(rest.clone()), rest, ns, unique("run"))
}

#[tokio::test]
async fn namespaces() {
    let cs = Clientset::from_rest(admin());
    let run = unique("run");
    let c = cs.core_v1().namespaces();
    let make = |name: &str, run: &str| json!({"metadata": meta(name, run)});
    let s = strategic(
        json!({"metadata": {"labels": {"tier": "gold"}}}),
        vec![("/metadata/labels/tier", json!("gold"))],
    );
    // The namespaces API has no deletecollection (nor does the generated client).
    crud(&c, make, &run, s, None).await;
}

#[tokio::test]
async fn configmaps() {
    let (cs, rest, ns, run) = setup().await;
    let c = cs.core_v1().config_maps(&ns);
    let make = |name: &str, run: &str| json!({"metadata": meta(name, run), "data": {"app.properties": "a=1\n", "mode": "test"}, "binaryData": {"blob": "AAEC"}});
    let s = strategic(
        json!({"data": {"extra": "x"}}),
        vec![("/data/extra", json!("x")), ("/data/mode", json!("test"))],
    );
    crud(&c, make, &run, s, collection(make, run.clone())).await;
    drop_namespace(&rest, &ns).await;
}

#[tokio::test]
async fn secrets() {
    let (cs, rest, ns, run) = setup().await;
    let c = cs.core_v1().secrets(&ns);
    let make = |name: &str, run: &str| json!({"metadata": meta(name, run), "type": "Opaque", "data": {"password": "aHVudGVyMg=="}});
    let s = strategic(
        json!({"data": {"user": "YWRtaW4="}}),
        vec![
            ("/data/user", json!("YWRtaW4=")),
            ("/data/password", json!("aHVudGVyMg==")),
        ],
    );
    crud(&c, make, &run, s, collection(make, run.clone())).await;
    drop_namespace(&rest, &ns).await;
}

#[tokio::test]
async fn pods() {
    let (cs, rest, ns, run) = setup().await;
    let c = cs.core_v1().pods(&ns);
    let make = |name: &str, run: &str| json!({"metadata": meta(name, run), "spec": {"containers": [container("busybox:1.36")], "restartPolicy": "Never", "terminationGracePeriodSeconds": 5}});
    let (p, e) = image_patch(|x| json!({"spec": x}), "/spec");
    crud(
        &c,
        make,
        &run,
        strategic(p, e),
        collection(make, run.clone()),
    )
    .await;
    drop_namespace(&rest, &ns).await;
}

#[tokio::test]
async fn services() {
    let (cs, rest, ns, run) = setup().await;
    let c = cs.core_v1().services(&ns);
    let make = |name: &str, run: &str| json!({"metadata": meta(name, run), "spec": {"type": "ClusterIP", "selector": {"app": "crud"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]}});
    // Ports merge by port: the new one joins (patch items first), the old one stays.
    let s = strategic(
        json!({"spec": {"ports": [{"name": "https", "port": 443, "targetPort": 8443, "protocol": "TCP"}]}}),
        vec![
            ("/spec/ports/0/port", json!(443)),
            ("/spec/ports/1/port", json!(80)),
        ],
    );
    crud(&c, make, &run, s, collection(make, run.clone())).await;
    drop_namespace(&rest, &ns).await;
}

#[tokio::test]
async fn deployments() {
    let (cs, rest, ns, run) = setup().await;
    let c = cs.apps_v1().deployments(&ns);
    let make = |name: &str, run: &str| {
        json!({"metadata": meta(name, run), "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "crud"}}, "template": pod_template(run),
               "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": "25%"}}, "revisionHistoryLimit": 2}})
    };
    let (p, e) = image_patch(
        |x| json!({"spec": {"template": {"spec": x}}}),
        "/spec/template/spec",
    );
    crud(
        &c,
        make,
        &run,
        strategic(p, e),
        collection(make, run.clone()),
    )
    .await;
    drop_namespace(&rest, &ns).await;
}

#[tokio::test]
async fn statefulsets() {
    let (cs, rest, ns, run) = setup().await;
    let c = cs.apps_v1().stateful_sets(&ns);
    let make = |name: &str, run: &str| {
        json!({"metadata": meta(name, run), "spec": {"replicas": 1, "serviceName": "crud", "selector": {"matchLabels": {"app": "crud"}}, "template": pod_template(run),
               "podManagementPolicy": "Parallel", "updateStrategy": {"type": "RollingUpdate"}}})
    };
    let (p, e) = image_patch(
        |x| json!({"spec": {"template": {"spec": x}}}),
        "/spec/template/spec",
    );
    crud(
        &c,
        make,
        &run,
        strategic(p, e),
        collection(make, run.clone()),
    )
    .await;
    drop_namespace(&rest, &ns).await;
}

#[tokio::test]
async fn jobs() {
    let (cs, rest, ns, run) = setup().await;
    let c = cs.batch_v1().jobs(&ns);
    // Suspended: the test is about the API, not about running pods.
    let make = |name: &str, run: &str| {
        let mut t = pod_template(run);
        t["spec"]["restartPolicy"] = json!("Never");
        json!({"metadata": meta(name, run), "spec": {"suspend": true, "backoffLimit": 2, "completions": 1, "parallelism": 1, "ttlSecondsAfterFinished": 600, "template": t}})
    };
    // A job's pod template is immutable; the strategic patch changes a mutable field.
    let s = strategic(
        json!({"spec": {"activeDeadlineSeconds": 300}}),
        vec![
            ("/spec/activeDeadlineSeconds", json!(300)),
            ("/spec/backoffLimit", json!(2)),
        ],
    );
    crud(&c, make, &run, s, collection(make, run.clone())).await;
    drop_namespace(&rest, &ns).await;
}

#[tokio::test]
async fn cronjobs() {
    let (cs, rest, ns, run) = setup().await;
    let c = cs.batch_v1().cron_jobs(&ns);
    let make = |name: &str, run: &str| {
        let mut t = pod_template(run);
        t["spec"]["restartPolicy"] = json!("OnFailure");
        json!({"metadata": meta(name, run), "spec": {"schedule": "*/30 * * * *", "suspend": true, "concurrencyPolicy": "Forbid",
               "successfulJobsHistoryLimit": 1, "jobTemplate": {"spec": {"template": t}}}})
    };
    let (p, e) = image_patch(
        |x| json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": x}}}}}),
        "/spec/jobTemplate/spec/template/spec",
    );
    crud(
        &c,
        make,
        &run,
        strategic(p, e),
        collection(make, run.clone()),
    )
    .await;
    drop_namespace(&rest, &ns).await;
}

#[tokio::test]
async fn roles() {
    let (cs, rest, ns, run) = setup().await;
    let c = cs.rbac_v1().roles(&ns);
    let make = |name: &str, run: &str| json!({"metadata": meta(name, run), "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}]});
    // `rules` has no merge key: a strategic patch replaces the list.
    let s = strategic(
        json!({"rules": [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]}]}),
        vec![
            ("/rules/0/apiGroups/0", json!("apps")),
            ("/rules/0/resources/0", json!("deployments")),
        ],
    );
    crud(&c, make, &run, s, collection(make, run.clone())).await;
    drop_namespace(&rest, &ns).await;
}

#[tokio::test]
async fn leases() {
    let (cs, rest, ns, run) = setup().await;
    let c = cs.coordination_v1().leases(&ns);
    let make = |name: &str, run: &str| {
        json!({"metadata": meta(name, run), "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15, "acquireTime": "2024-01-02T03:04:05.000000Z",
               "renewTime": "2024-01-02T03:04:06.000000Z", "leaseTransitions": 0}})
    };
    let s = strategic(
        json!({"spec": {"holderIdentity": "b"}}),
        vec![
            ("/spec/holderIdentity", json!("b")),
            ("/spec/leaseDurationSeconds", json!(15)),
        ],
    );
    crud(&c, make, &run, s, collection(make, run.clone())).await;
    drop_namespace(&rest, &ns).await;
}

/// cert-manager's Certificate, through the clientset generated from
/// ../shared/crds/cert-manager/cert-manager.io_certificates.yaml.
#[tokio::test]
async fn shared_crd_certificates() {
    let (_, rest, ns, run) = setup().await;
    let chosen = kubegen_shared_crds::CHOSEN
        .iter()
        .find(|c| c.project == "cert-manager")
        .expect("cert-manager is chosen");
    let crd =
        kubegen_shared_crds::crd_install::crd_document(chosen).unwrap_or_else(|e| panic!("{e}"));
    let created_crd = kubegen_shared_crds::crd_install::install(&rest, &crd)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let cs = kubegen_shared_crds::Clientset::from_rest(rest.clone());
    let c = cs.cert_manager_v1().certificates(&ns);
    // Established can run a moment ahead of the handler.
    eventually(WAIT, "certificates to be served", || async {
        c.list(&ListOptions::default()).await.is_ok()
    })
    .await;
    let make = |name: &str, run: &str| {
        json!({"metadata": meta(name, run), "spec": {
            "secretName": format!("{name}-tls"), "commonName": "crud.example.com", "dnsNames": ["crud.example.com", "www.crud.example.com"],
            "duration": "2160h0m0s", "renewBefore": "360h0m0s", "isCA": false, "usages": ["digital signature", "key encipherment"],
            "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
            "issuerRef": {"name": "ca-issuer", "kind": "Issuer", "group": "cert-manager.io"}}})
    };
    crud(&c, make, &run, None, collection(make, run.clone())).await;
    drop_namespace(&rest, &ns).await;
    if created_crd {
        kubegen_shared_crds::crd_install::uninstall(&rest, &crd).await;
    }
}
