//! The fake API server (`kubegen_runtime::fake`) beside the real one: one
//! scenario of writes, conflicts, selectors, patches and finalizers runs
//! against both, and what the client sees must be the same; then an
//! informer and the controller runtime run on the fake unchanged, and a
//! reactor injects an error.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kubegen_api::core::v1::{ConfigMap, Secret};
use kubegen_e2e::{admin, drop_namespace, eventually, test_namespace};
use kubegen_runtime::cache::{FactoryOptions, InformerFactory};
use kubegen_runtime::controller::{Action, Controller, controller_reference};
use kubegen_runtime::fake::{FakeCluster, Reaction};
use kubegen_runtime::meta::ObjectMeta;
use kubegen_runtime::selector::Selector;
use kubegen_runtime::{
    Client, CreateOptions, DeleteOptions, GetOptions, ListOptions, Patch, PatchOptions, RestClient,
    UpdateOptions,
};
use serde_json::json;
use tokio_util::sync::CancellationToken;

fn cm(name: &str, labels: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        data: Some([("k".into(), "v".into())].into_iter().collect()),
        ..kubegen_e2e::labelled_config_map(name, labels)
    }
}

fn outcome<T>(r: &kubegen_runtime::Result<T>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => format!("{} {}", e.api_error().map_or(0, |a| a.code), e.reason()),
    }
}

/// What a client sees of one scenario, as lines to compare.
async fn scenario(rest: RestClient, ns: &str) -> Vec<String> {
    let cms = Client::<ConfigMap>::namespaced(rest, ns);
    let mut seen = Vec::new();
    let a = cms
        .create(&cm("a", &[("app", "x")]), &CreateOptions::default())
        .await
        .unwrap();
    seen.push(format!(
        "create: uid {}, rv {}, created {}",
        a.metadata.uid.is_some(),
        a.metadata.resource_version.is_some(),
        a.metadata.creation_timestamp.is_some()
    ));
    let again = cms.create(&cm("a", &[]), &CreateOptions::default()).await;
    seen.push(format!("create again: {}", outcome(&again)));
    let mut generated = cm("", &[("app", "y")]);
    generated.metadata.name = None;
    generated.metadata.generate_name = Some("gen-".into());
    let g = cms
        .create(&generated, &CreateOptions::default())
        .await
        .unwrap();
    let g_name = g.metadata.name.clone().unwrap();
    seen.push(format!(
        "generateName: {} {}",
        g_name.starts_with("gen-"),
        g_name.len()
    ));
    let dry = cms
        .create(&cm("dry", &[]), &CreateOptions::default().dry_run(true))
        .await;
    let dry_stored = cms.get_opt("dry", &GetOptions::default()).await.unwrap();
    seen.push(format!(
        "dry run: {} stored {}",
        outcome(&dry),
        dry_stored.is_some()
    ));

    let mut changed = a.clone();
    changed
        .data
        .get_or_insert_default()
        .insert("k".into(), "w".into());
    let updated = cms
        .update(&changed, &UpdateOptions::default())
        .await
        .unwrap();
    seen.push(format!(
        "update: rv changed {}",
        updated.metadata.resource_version != a.metadata.resource_version
    ));
    let same = cms
        .update(&updated, &UpdateOptions::default())
        .await
        .unwrap();
    seen.push(format!(
        "no-op update: rv kept {}",
        same.metadata.resource_version == updated.metadata.resource_version
    ));
    let stale = cms.update(&changed, &UpdateOptions::default()).await;
    seen.push(format!("stale update: {}", outcome(&stale)));
    let mut gone = cm("nobody", &[]);
    gone.metadata.resource_version = None;
    seen.push(format!(
        "update missing: {}",
        outcome(&cms.update(&gone, &UpdateOptions::default()).await)
    ));

    for (labels, fields) in [
        ("app=x", ""),
        ("app in (x,y)", ""),
        ("app!=x", ""),
        ("", "metadata.name=a"),
        ("", "metadata.name!=a"),
    ] {
        let mut opts = ListOptions::default();
        if !labels.is_empty() {
            opts = opts.label_selector(labels);
        }
        if !fields.is_empty() {
            opts = opts.field_selector(fields);
        }
        let mut names: Vec<String> = cms
            .list(&opts)
            .await
            .unwrap()
            .items
            .iter()
            .filter_map(|c| c.metadata.name.as_deref().map(str::to_owned))
            // The real namespace holds kube-root-ca.crt too.
            .filter(|n| n != "kube-root-ca.crt")
            .map(|n| if n == g_name { "gen".into() } else { n })
            .collect();
        names.sort();
        seen.push(format!("list {labels:?} {fields:?}: {names:?}"));
    }
    let bad = cms
        .list(&ListOptions::default().field_selector("data.k=v"))
        .await;
    seen.push(format!("bad field selector: {}", outcome(&bad)));

    let merged = cms
        .patch(
            "a",
            &Patch::Merge(json!({"data": {"m": "1"}, "metadata": {"labels": {"p": "q"}}})),
            &PatchOptions::default(),
        )
        .await
        .unwrap();
    let data = merged.data.clone().unwrap_or_default();
    seen.push(format!(
        "merge patch: {:?} {:?}",
        data.get("m").map(|v| v.as_str()),
        merged
            .metadata
            .labels
            .unwrap_or_default()
            .get("p")
            .map(|v| v.as_str())
    ));
    let ops = json!([{"op": "test", "path": "/data/m", "value": "2"}, {"op": "remove", "path": "/data/m"}]);
    let failed = cms
        .patch("a", &Patch::Json(ops), &PatchOptions::default())
        .await;
    seen.push(format!("failed JSON patch test: {}", outcome(&failed)));
    let ops = json!([{"op": "test", "path": "/data/m", "value": "1"}, {"op": "remove", "path": "/data/m"}]);
    let removed = cms
        .patch("a", &Patch::Json(ops), &PatchOptions::default())
        .await
        .unwrap();
    seen.push(format!(
        "JSON patch: m left {}",
        removed.data.unwrap_or_default().contains_key("m")
    ));
    seen.push(format!(
        "patch missing: {}",
        outcome(
            &cms.patch("nobody", &Patch::Merge(json!({})), &PatchOptions::default())
                .await
        )
    ));

    let mut held = cm("held", &[]);
    held.metadata.finalizers = Some(vec!["e2e.kubegen.dev/hold".into()]);
    cms.create(&held, &CreateOptions::default()).await.unwrap();
    cms.delete("held", &DeleteOptions::default()).await.unwrap();
    let deleting = cms.get("held", &GetOptions::default()).await.unwrap();
    seen.push(format!(
        "delete with finalizer: still there, deleting {}",
        deleting.metadata.deletion_timestamp.is_some()
    ));
    let mut released = deleting.clone();
    released.metadata.finalizers = None;
    cms.update(&released, &UpdateOptions::default())
        .await
        .unwrap();
    let after = cms.get("held", &GetOptions::default()).await;
    seen.push(format!("finalizer removed: {}", outcome(&after)));
    cms.delete("a", &DeleteOptions::default()).await.unwrap();
    seen.push(format!(
        "deleted: {}",
        outcome(&cms.get("a", &GetOptions::default()).await)
    ));
    seen.push(format!(
        "delete missing: {}",
        outcome(&cms.delete("a", &DeleteOptions::default()).await)
    ));
    seen
}

#[tokio::test]
async fn the_fake_answers_as_the_real_server_does() {
    let rest = admin();
    let ns = test_namespace(&rest, "fake-twin").await;
    let real = scenario(rest.clone(), &ns).await;
    drop_namespace(&rest, &ns).await;

    let fake = FakeCluster::start().await.unwrap();
    fake.register::<ConfigMap>();
    let on_fake = scenario(fake.rest(), "default").await;
    assert_eq!(on_fake, real);
    let verbs: Vec<&str> = fake.actions().iter().map(|a| a.verb).collect();
    assert_eq!(&verbs[..3], ["create", "create", "create"]);
    assert!(verbs.contains(&"patch") && verbs.contains(&"delete"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn informers_and_a_controller_run_on_the_fake() {
    let fake = FakeCluster::start().await.unwrap();
    fake.register::<ConfigMap>();
    fake.register::<Secret>();
    // A starting state, without actions.
    fake.add(&ConfigMap {
        metadata: ObjectMeta {
            name: Some("seeded".into()),
            namespace: Some("apps".into()),
            ..Default::default()
        },
        ..Default::default()
    })
    .unwrap();
    assert!(fake.actions().is_empty());

    let factory = InformerFactory::with_options(
        fake.rest(),
        Duration::ZERO,
        FactoryOptions::new().namespace("apps"),
    );
    let controller = Controller::<ConfigMap>::new(&factory, "fake-test")
        .unwrap()
        .owns::<Secret>()
        .unwrap();
    let secrets_lister = factory.resource_informer::<Secret>().lister();
    let rest = fake.rest();
    let reconciled = Arc::new(Mutex::new(Vec::<String>::new()));
    let cancel = CancellationToken::new();
    factory.start();
    let run = tokio::spawn(controller.run(
        |cm: Arc<ConfigMap>, ctx: Arc<(RestClient, Arc<Mutex<Vec<String>>>)>| async move {
            let (rest, seen) = &*ctx;
            let name = cm.metadata.name.as_deref().unwrap_or_default().to_owned();
            seen.lock().unwrap().push(name.clone());
            let secrets = Client::<Secret>::namespaced(rest.clone(), "apps");
            let child = format!("{name}-child");
            if secrets
                .get_opt(&child, &GetOptions::default())
                .await?
                .is_none()
            {
                let secret = Secret {
                    metadata: ObjectMeta {
                        name: Some(child.into()),
                        owner_references: Some(vec![controller_reference(cm.as_ref()).unwrap()]),
                        ..Default::default()
                    },
                    ..Default::default()
                };
                secrets.create(&secret, &CreateOptions::default()).await?;
            }
            Ok::<_, kubegen_runtime::Error>(Action::AwaitChange)
        },
        |_, _, _| Action::Backoff,
        Arc::new((rest.clone(), Arc::clone(&reconciled))),
        cancel.clone(),
    ));

    // The seeded object is reconciled; a new one too, through the watch.
    Client::<ConfigMap>::namespaced(rest.clone(), "apps")
        .create(&cm("fresh", &[]), &CreateOptions::default())
        .await
        .unwrap();
    eventually(
        Duration::from_secs(10),
        "both children in the informer's cache",
        || {
            let n = secrets_lister.list(&Selector::everything()).len();
            async move { n == 2 }
        },
    )
    .await;
    // A deleted child comes back: the owner's event reached the controller.
    Client::<Secret>::namespaced(rest.clone(), "apps")
        .delete("fresh-child", &DeleteOptions::default())
        .await
        .unwrap();
    let secret_creates = || {
        fake.actions()
            .into_iter()
            .filter(|a| a.verb == "create" && a.resource == "secrets")
            .count()
    };
    eventually(
        Duration::from_secs(10),
        "the deleted child to be created again",
        || {
            let n = secret_creates();
            async move { n == 3 }
        },
    )
    .await;
    eventually(
        Duration::from_secs(10),
        "the new child in the cache",
        || {
            let back = secrets_lister.namespaced("apps").get("fresh-child").is_ok();
            async move { back }
        },
    )
    .await;

    // A reactor answers instead of the tracker: the next create conflicts.
    fake.prepend_reactor("create", "configmaps", |_| {
        Some(Reaction::Error {
            code: 409,
            reason: "AlreadyExists".into(),
            message: "injected".into(),
        })
    });
    let err = Client::<ConfigMap>::namespaced(rest.clone(), "apps")
        .create(&cm("refused", &[]), &CreateOptions::default())
        .await
        .unwrap_err();
    assert!(err.is_already_exists(), "{err}");
    cancel.cancel();
    run.await.unwrap().unwrap();
    factory.shutdown().await;
    assert!(reconciled.lock().unwrap().contains(&"seeded".to_owned()));
}
