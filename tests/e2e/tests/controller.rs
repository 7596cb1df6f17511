//! The controller runtime against the real API server: a controller of
//! ConfigMaps that owns Secrets reconciles every ConfigMap, puts back an
//! owned Secret deleted behind its back, requeues when asked, retries an
//! error with backoff, never reconciles one key on two workers at once, and
//! drains on shutdown; and the finalizer helper holds a deletion until its
//! cleanup ran; with leader election, only the lease holder reconciles,
//! and a successor takes over when it lets go; `await_condition` sees the
//! change it waits for.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kubegen_api::core::v1::{ConfigMap, Secret};
use kubegen_e2e::{admin, drop_namespace, eventually, test_namespace};
use kubegen_runtime::cache::{FactoryOptions, InformerFactory};
use kubegen_runtime::controller::{
    Action, Controller, FinalizerEvent, await_condition, controller_of, controller_reference,
    finalizer,
};
use kubegen_runtime::leaderelection::{LeaderElectionConfig, LeaseLock};
use kubegen_runtime::meta::ObjectMeta;
use kubegen_runtime::{Client, CreateOptions, DeleteOptions, GetOptions, RestClient};
use tokio_util::sync::CancellationToken;

const PREFIX: &str = "parent-";

/// What the reconciles saw.
#[derive(Default)]
struct Seen {
    /// Reconciles per ConfigMap name.
    count: HashMap<String, usize>,
    /// Keys being reconciled now.
    in_flight: HashSet<String>,
    /// A key was reconciled on two workers at once.
    overlapped: bool,
    /// Finalizer cleanups per name.
    cleaned: HashMap<String, usize>,
    /// Errors the error policy was given.
    errors: usize,
}

struct Ctx {
    rest: RestClient,
    seen: Mutex<Seen>,
}

impl Ctx {
    fn count(&self, name: &str) -> usize {
        self.seen
            .lock()
            .unwrap()
            .count
            .get(name)
            .copied()
            .unwrap_or(0)
    }
}

#[derive(Debug, thiserror::Error)]
enum ReconcileError {
    #[error("failing on purpose ({0} left)")]
    OnPurpose(usize),
    #[error(transparent)]
    Api(#[from] kubegen_runtime::Error),
}

fn parent(name: &str, annotations: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            annotations: Some(
                annotations
                    .iter()
                    .map(|(k, v)| ((*k).into(), (*v).into()))
                    .collect(),
            ),
            ..Default::default()
        },
        data: Some([("k".into(), "v".into())].into_iter().collect()),
        ..Default::default()
    }
}

/// Ensures the ConfigMap's Secret `<name>-child` exists, controlled by it.
/// Annotations steer it: `requeue` asks to come back in 100 ms, `fail: N`
/// fails the first N reconciles.
async fn reconcile(cm: Arc<ConfigMap>, ctx: Arc<Ctx>) -> Result<Action, ReconcileError> {
    let name = cm.metadata.name.as_deref().unwrap_or_default().to_owned();
    if !name.starts_with(PREFIX) {
        return Ok(Action::AwaitChange);
    }
    let seen_before = {
        let mut seen = ctx.seen.lock().unwrap();
        if !seen.in_flight.insert(name.clone()) {
            seen.overlapped = true;
        }
        let n = seen.count.entry(name.clone()).or_default();
        *n += 1;
        *n - 1
    };
    // Long enough for a second worker to take the same key, if it could.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let result = ensure_child(&cm, &ctx, seen_before).await;
    ctx.seen.lock().unwrap().in_flight.remove(&name);
    result
}

async fn ensure_child(
    cm: &ConfigMap,
    ctx: &Ctx,
    seen_before: usize,
) -> Result<Action, ReconcileError> {
    let annotations = cm.metadata.annotations.clone().unwrap_or_default();
    if let Some(fail) = annotations.get("fail") {
        let fail: usize = fail.parse().unwrap();
        if seen_before < fail {
            return Err(ReconcileError::OnPurpose(fail - seen_before));
        }
    }
    let ns = cm.metadata.namespace.as_deref().unwrap();
    let name = cm.metadata.name.as_deref().unwrap();
    let secrets = Client::<Secret>::namespaced(ctx.rest.clone(), ns);
    let child = format!("{name}-child");
    if secrets
        .get_opt(&child, &GetOptions::default())
        .await?
        .is_none()
    {
        let secret = Secret {
            metadata: ObjectMeta {
                name: Some(child.into()),
                owner_references: Some(vec![controller_reference(cm).unwrap()]),
                ..Default::default()
            },
            ..Default::default()
        };
        secrets.create(&secret, &CreateOptions::default()).await?;
    }
    Ok(if annotations.contains_key("requeue") {
        Action::Requeue(Duration::from_millis(100))
    } else {
        Action::AwaitChange
    })
}

/// Whether the Secret `name` exists.
async fn exists(secrets: &Client<Secret>, name: &str) -> bool {
    secrets
        .get_opt(name, &GetOptions::default())
        .await
        .unwrap()
        .is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_controller_reconciles_its_kind_and_the_owners_of_what_it_owns() {
    let rest = admin();
    let ns = test_namespace(&rest, "controller").await;
    let cms = Client::<ConfigMap>::namespaced(rest.clone(), &ns);
    let secrets = Client::<Secret>::namespaced(rest.clone(), &ns);
    for i in 0..6 {
        cms.create(
            &parent(&format!("{PREFIX}{i}"), &[]),
            &CreateOptions::default(),
        )
        .await
        .unwrap();
    }
    let factory = InformerFactory::with_options(
        rest.clone(),
        Duration::ZERO,
        FactoryOptions::new().namespace(&ns),
    );
    let controller = Controller::<ConfigMap>::new(&factory, "e2e-configmaps")
        .unwrap()
        .owns::<Secret>()
        .unwrap()
        .concurrency(3);
    let queue = controller.queue().clone();
    let ctx = Arc::new(Ctx {
        rest: rest.clone(),
        seen: Mutex::default(),
    });
    let cancel = CancellationToken::new();
    factory.start();
    let run = tokio::spawn(controller.run(
        reconcile,
        |_, _, ctx: &Arc<Ctx>| {
            ctx.seen.lock().unwrap().errors += 1;
            Action::Backoff
        },
        Arc::clone(&ctx),
        cancel.clone(),
    ));

    // Every ConfigMap gets its Secret, controlled by it.
    eventually(
        Duration::from_secs(30),
        "every parent to have its child",
        || {
            let secrets = secrets.clone();
            async move {
                let mut all = true;
                for i in 0..6 {
                    let child = secrets
                        .get_opt(&format!("{PREFIX}{i}-child"), &GetOptions::default())
                        .await
                        .unwrap();
                    all &= child.is_some_and(|s| {
                        controller_of(&s.metadata).is_some_and(|r| r.name == format!("{PREFIX}{i}"))
                    });
                }
                all
            }
        },
    )
    .await;

    // An owned Secret deleted behind the controller's back comes back.
    let before = ctx.count("parent-2");
    secrets
        .delete("parent-2-child", &DeleteOptions::default())
        .await
        .unwrap();
    eventually(
        Duration::from_secs(30),
        "the deleted child to be put back",
        || exists(&secrets, "parent-2-child"),
    )
    .await;
    assert!(ctx.count("parent-2") > before);

    // An error is retried with backoff until it passes; a requeue comes back
    // without any change.
    cms.create(
        &parent("parent-fails", &[("fail", "2")]),
        &CreateOptions::default(),
    )
    .await
    .unwrap();
    cms.create(
        &parent("parent-requeues", &[("requeue", "")]),
        &CreateOptions::default(),
    )
    .await
    .unwrap();
    eventually(
        Duration::from_secs(30),
        "the failing parent to get its child",
        || exists(&secrets, "parent-fails-child"),
    )
    .await;
    // Two failures through the policy, then success (and maybe one more
    // reconcile: the child's creation is a change the owner hears of).
    assert_eq!(ctx.seen.lock().unwrap().errors, 2);
    assert!(ctx.count("parent-fails") >= 3);
    let ctx_ = Arc::clone(&ctx);
    eventually(
        Duration::from_secs(30),
        "the requeueing parent to come back",
        move || {
            let n = ctx_.count("parent-requeues");
            async move { n >= 4 }
        },
    )
    .await;

    // Shutdown: the run returns, the queue takes nothing more.
    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("the controller stops within 30 s")
        .unwrap()
        .unwrap();
    assert!(queue.shutting_down());
    assert!(
        !ctx.seen.lock().unwrap().overlapped,
        "a key ran on two workers at once"
    );
    factory.shutdown().await;
    drop_namespace(&rest, &ns).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_finalizer_holds_a_deletion_until_its_cleanup_ran() {
    const FINALIZER: &str = "e2e.kubegen.dev/cleanup";
    let rest = admin();
    let ns = test_namespace(&rest, "finalizer").await;
    let cms = Client::<ConfigMap>::namespaced(rest.clone(), &ns);
    let factory = InformerFactory::with_options(
        rest.clone(),
        Duration::ZERO,
        FactoryOptions::new().namespace(&ns),
    );
    let controller = Controller::<ConfigMap>::new(&factory, "e2e-finalizer").unwrap();
    let ctx = Arc::new(Ctx {
        rest: rest.clone(),
        seen: Mutex::default(),
    });
    let cancel = CancellationToken::new();
    factory.start();
    let run = tokio::spawn(controller.run(
        |cm: Arc<ConfigMap>, ctx: Arc<Ctx>| async move {
            if !cm
                .metadata
                .name
                .as_deref()
                .unwrap_or_default()
                .starts_with(PREFIX)
            {
                return Ok(Action::AwaitChange);
            }
            finalizer(&ctx.rest.clone(), FINALIZER, cm, |event| async {
                if let FinalizerEvent::Cleanup(cm) = event {
                    let name = cm.metadata.name.as_deref().unwrap().to_owned();
                    *ctx.seen.lock().unwrap().cleaned.entry(name).or_default() += 1;
                }
                Ok::<_, kubegen_runtime::Error>(Action::AwaitChange)
            })
            .await
        },
        |_, _, _| Action::Backoff,
        Arc::clone(&ctx),
        cancel.clone(),
    ));

    // One with other finalizers already, one with none.
    let mut held = parent("parent-held", &[]);
    held.metadata.finalizers = Some(vec!["e2e.kubegen.dev/other".into()]);
    cms.create(&held, &CreateOptions::default()).await.unwrap();
    cms.create(&parent("parent-free", &[]), &CreateOptions::default())
        .await
        .unwrap();
    for (name, want) in [
        ("parent-held", vec!["e2e.kubegen.dev/other", FINALIZER]),
        ("parent-free", vec![FINALIZER]),
    ] {
        eventually(
            Duration::from_secs(30),
            &format!("{name} to carry the finalizer"),
            || {
                let cms = cms.clone();
                let want = want.clone();
                async move {
                    let cm = cms.get(name, &GetOptions::default()).await.unwrap();
                    cm.metadata.finalizers.unwrap_or_default() == want
                }
            },
        )
        .await;
    }

    // Deleting one runs the cleanup once, then the server deletes it.
    cms.delete("parent-free", &DeleteOptions::default())
        .await
        .unwrap();
    eventually(Duration::from_secs(30), "parent-free to be deleted", || {
        let cms = cms.clone();
        async move {
            cms.get_opt("parent-free", &GetOptions::default())
                .await
                .unwrap()
                .is_none()
        }
    })
    .await;
    assert_eq!(
        ctx.seen.lock().unwrap().cleaned.get("parent-free"),
        Some(&1)
    );
    // The other keeps the finalizer it did not add.
    cms.delete("parent-held", &DeleteOptions::default())
        .await
        .unwrap();
    eventually(
        Duration::from_secs(30),
        "parent-held to lose only our finalizer",
        || {
            let cms = cms.clone();
            async move {
                let cm = cms
                    .get("parent-held", &GetOptions::default())
                    .await
                    .unwrap();
                cm.metadata.finalizers.unwrap_or_default() == ["e2e.kubegen.dev/other"]
            }
        },
    )
    .await;
    assert_eq!(
        ctx.seen.lock().unwrap().cleaned.get("parent-held"),
        Some(&1)
    );

    cancel.cancel();
    run.await.unwrap().unwrap();
    // Let the namespace go: drop the other finalizer.
    let mut last = cms
        .get("parent-held", &GetOptions::default())
        .await
        .unwrap();
    last.metadata.finalizers = None;
    cms.update(&last, &Default::default()).await.unwrap();
    factory.shutdown().await;
    drop_namespace(&rest, &ns).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_leader_reconciles_and_a_successor_takes_over() {
    let rest = admin();
    let ns = test_namespace(&rest, "controller-lease").await;
    let cms = Client::<ConfigMap>::namespaced(rest.clone(), &ns);
    cms.create(&parent("parent-0", &[]), &CreateOptions::default())
        .await
        .unwrap();
    let start = |identity: &str| {
        let factory = InformerFactory::with_options(
            rest.clone(),
            Duration::ZERO,
            FactoryOptions::new().namespace(&ns),
        );
        let config = LeaderElectionConfig {
            lease_duration: Duration::from_secs(4),
            renew_deadline: Duration::from_secs(3),
            retry_period: Duration::from_millis(500),
            release_on_cancel: true,
            ..Default::default()
        };
        let lock = LeaseLock::new(rest.clone(), &ns, "e2e-controller", identity);
        let controller = Controller::<ConfigMap>::new(&factory, "e2e-lease")
            .unwrap()
            .leader_election(config, lock);
        let ctx = Arc::new(Ctx {
            rest: rest.clone(),
            seen: Mutex::default(),
        });
        let cancel = CancellationToken::new();
        factory.start();
        let run = tokio::spawn(controller.run(
            reconcile,
            |_, _, _| Action::Backoff,
            Arc::clone(&ctx),
            cancel.clone(),
        ));
        (factory, ctx, cancel, run)
    };
    let (factory_a, a, cancel_a, run_a) = start("a");
    let a_ = Arc::clone(&a);
    eventually(
        Duration::from_secs(30),
        "a to lead and reconcile",
        move || {
            let n = a_.count("parent-0");
            async move { n > 0 }
        },
    )
    .await;
    let (factory_b, b, cancel_b, run_b) = start("b");
    factory_b.wait_for_cache_sync().await;
    cms.create(&parent("parent-1", &[]), &CreateOptions::default())
        .await
        .unwrap();
    let a_ = Arc::clone(&a);
    eventually(
        Duration::from_secs(30),
        "a to reconcile the new one",
        move || {
            let n = a_.count("parent-1");
            async move { n > 0 }
        },
    )
    .await;
    assert_eq!(
        b.seen.lock().unwrap().count.len(),
        0,
        "b reconciled while a led"
    );

    // a stops and releases the lease; b takes over with what it queued meanwhile.
    cancel_a.cancel();
    run_a.await.unwrap().unwrap();
    let b_ = Arc::clone(&b);
    eventually(
        Duration::from_secs(30),
        "b to lead and reconcile both",
        move || {
            let done = b_.count("parent-0") > 0 && b_.count("parent-1") > 0;
            async move { done }
        },
    )
    .await;
    cancel_b.cancel();
    run_b.await.unwrap().unwrap();
    factory_a.shutdown().await;
    factory_b.shutdown().await;
    drop_namespace(&rest, &ns).await;
}

#[tokio::test]
async fn await_condition_sees_the_change_it_waits_for_and_a_deletion() {
    let rest = admin();
    let ns = test_namespace(&rest, "await").await;
    let cms = Client::<ConfigMap>::namespaced(rest.clone(), &ns);
    let ready = |cm: Option<&ConfigMap>| {
        cm.and_then(|c| c.data.as_ref())
            .is_some_and(|d| d.get("ready").is_some_and(|v| v == "true"))
    };
    // Not there yet: the wait starts on an absent object.
    let waiter = tokio::spawn({
        let cms = cms.clone();
        async move { await_condition(&cms, "parent-w", ready).await }
    });
    cms.create(&parent("parent-w", &[]), &CreateOptions::default())
        .await
        .unwrap();
    assert!(!waiter.is_finished());
    let mut cm = cms.get("parent-w", &GetOptions::default()).await.unwrap();
    cm.data
        .get_or_insert_default()
        .insert("ready".into(), "true".into());
    let updated = cms.update(&cm, &Default::default()).await.unwrap();
    let seen = tokio::time::timeout(Duration::from_secs(30), waiter)
        .await
        .expect("the condition is seen within 30 s")
        .unwrap()
        .unwrap()
        .expect("the object exists when it is ready");
    assert_eq!(
        seen.metadata.resource_version,
        updated.metadata.resource_version
    );
    // Already true: returns at once.
    let now = await_condition(&cms, "parent-w", ready).await.unwrap();
    assert!(now.is_some());
    // Deletion.
    let gone = tokio::spawn({
        let cms = cms.clone();
        async move { await_condition(&cms, "parent-w", |cm| cm.is_none()).await }
    });
    cms.delete("parent-w", &DeleteOptions::default())
        .await
        .unwrap();
    let gone = tokio::time::timeout(Duration::from_secs(30), gone)
        .await
        .expect("the deletion is seen within 30 s")
        .unwrap()
        .unwrap();
    assert!(gone.is_none());
    drop_namespace(&rest, &ns).await;
}
