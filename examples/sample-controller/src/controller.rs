//! The Foo controller: sample-controller's `controller.go` on kubegen.
//!
//! For every Foo it makes sure a Deployment named `spec.deploymentName`
//! exists in the Foo's namespace, is controlled by the Foo (a controller
//! owner reference, so the garbage collector deletes it with the Foo), and
//! runs `spec.replicas` replicas; then it copies the Deployment's
//! `availableReplicas` into the Foo's status and records a `Synced` event.
//!
//! Shape, as in the Go original:
//!
//! - informers (from shared factories) feed event handlers that only enqueue
//!   keys: a Foo's own key on add/update, and for a Deployment the key of the
//!   Foo named by its controller owner reference;
//! - a rate-limited workqueue ([`RateLimitingQueue`] paced by
//!   [`foo_rate_limiter`]) hands keys to `workers` tasks; the queue makes
//!   sure no key is synced by two workers at once;
//! - the sync handler reads only from listers (the informers' caches) and
//!   writes through the typed clients; on error the key is re-added with
//!   backoff, on success its backoff is forgotten.
//!
//! Cached objects are `Arc`s shared with the informer: the controller clones
//! a Foo before changing its status (Go's "NEVER modify objects from the
//! store" rule, enforced here by the type system).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use kubegen_api::Clientset;
use kubegen_api::apps::v1::{
    Deployment, DeploymentInformer, DeploymentLister, DeploymentListerExt, DeploymentSpec,
};
use kubegen_api::core::v1::{Container, PodSpec, PodTemplateSpec};
use kubegen_api::meta::v1::LabelSelector;
use kubegen_runtime::cache::{
    DeltaObject, EventHandlerFuncs, InformerError, ResourceEventHandlerRegistration,
    wait_for_cache_sync,
};
use kubegen_runtime::meta::{ObjectMeta, OwnerReference};
use kubegen_runtime::record::{
    ClientEventSink, EVENT_TYPE_NORMAL, EVENT_TYPE_WARNING, EventBroadcaster, EventRecorder,
    event_source,
};
use kubegen_runtime::workqueue::{
    BucketRateLimiter, ItemExponentialFailureRateLimiter, MaxOfRateLimiter, QueueConfig,
    RateLimitingQueue,
};
use kubegen_runtime::{CreateOptions, Object, Resource, SortedMap, UpdateOptions};
use sample_controller_foo_api::Clientset as SampleClientset;
use sample_controller_foo_api::samplecontroller::v1alpha1::{
    Foo, FooInformer, FooLister, FooListerExt, FooStatus,
};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Name of the controller: the event source and the field manager.
pub const CONTROLLER_AGENT_NAME: &str = "sample-controller";
/// Field manager of every write the controller makes.
pub const FIELD_MANAGER: &str = CONTROLLER_AGENT_NAME;
/// Event reason when a Foo was synced.
pub const SUCCESS_SYNCED: &str = "Synced";
/// Event reason when a Foo cannot sync because a Deployment of the same name
/// exists and is not controlled by it.
pub const ERR_RESOURCE_EXISTS: &str = "ErrResourceExists";
/// Event message when a Foo was synced.
pub const MESSAGE_RESOURCE_SYNCED: &str = "Foo synced successfully";

/// A workqueue key: the namespace and name of a Foo (client-go's
/// `cache.ObjectName`). Displayed as `namespace/name`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ObjectName {
    /// Namespace of the Foo.
    pub namespace: String,
    /// Name of the Foo.
    pub name: String,
}

impl ObjectName {
    /// The key of `obj`, or `None` if the object has no name.
    pub fn of<K: Object>(obj: &K) -> Option<Self> {
        let meta = obj.metadata();
        Some(ObjectName {
            namespace: meta.namespace.as_deref().unwrap_or_default().to_owned(),
            name: meta.name.as_deref().filter(|n| !n.is_empty())?.to_owned(),
        })
    }
}

impl fmt::Display for ObjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// Why one sync of a Foo failed; the key is retried with backoff.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// A read or write through the API failed.
    #[error(transparent)]
    Api(#[from] kubegen_runtime::Error),
    /// A Deployment named as the Foo's exists but another object controls it.
    #[error("Resource {deployment:?} already exists and is not managed by Foo")]
    ResourceExists {
        /// Name of the Deployment.
        deployment: String,
    },
    /// The cached Foo lacks what an owner reference needs (never from a real server).
    #[error("Foo {key} has no uid: cannot own a Deployment")]
    NoUid {
        /// `namespace/name` of the Foo.
        key: String,
    },
}

/// Why [`Controller::run`] stopped early.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Cancelled (or an informer stopped) before the caches synced.
    #[error("failed to wait for caches to sync")]
    CacheSync,
}

/// The controller for Foo resources; see the [module docs](self).
pub struct Controller {
    kubeclientset: Clientset,
    sampleclientset: SampleClientset,
    deployments_lister: DeploymentLister,
    foos_lister: FooLister,
    /// The handlers' registrations: synced once each handler has seen the
    /// informer's initial list (stronger than the informer's `HasSynced`).
    deployments_synced: ResourceEventHandlerRegistration,
    foos_synced: ResourceEventHandlerRegistration,
    workqueue: RateLimitingQueue<ObjectName>,
    broadcaster: EventBroadcaster,
    recorder: EventRecorder,
}

impl fmt::Debug for Controller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Controller")
            .field("workqueue", &self.workqueue)
            .finish_non_exhaustive()
    }
}

impl Controller {
    /// Builds the controller and registers its event handlers on the two
    /// informers (which the caller's factories start). Starts writing events
    /// through `kubeclientset`, so it must be called inside a Tokio runtime.
    pub fn new(
        kubeclientset: Clientset,
        sampleclientset: SampleClientset,
        deployment_informer: &DeploymentInformer,
        foo_informer: &FooInformer,
    ) -> Result<Self, InformerError> {
        tracing::debug!("creating event broadcaster");
        let broadcaster = EventBroadcaster::new();
        broadcaster.start_structured_logging();
        broadcaster.start_recording_to_sink(ClientEventSink::new(kubeclientset.rest().clone()));
        let recorder = broadcaster.new_recorder(event_source(CONTROLLER_AGENT_NAME));

        let workqueue =
            RateLimitingQueue::with_config(foo_rate_limiter(), QueueConfig::new("Foos"));
        let foos_lister = foo_informer.lister();

        tracing::info!("setting up event handlers");
        // Foos: enqueue on add and update. Deletion needs no work: the
        // garbage collector removes the Deployment the Foo controlled.
        let (q_add, q_update) = (workqueue.clone(), workqueue.clone());
        let foos_synced = foo_informer.informer().add_event_handler(
            EventHandlerFuncs::new()
                .add_func(move |foo: &Arc<Foo>, _| enqueue_foo(&q_add, foo.as_ref()))
                .update_func(move |_, new: &Arc<Foo>| enqueue_foo(&q_update, new.as_ref())),
        )?;

        // Deployments: enqueue the Foo that controls them, so a Deployment
        // changed or deleted behind the controller's back is put right.
        let owner = OwnerLookup {
            queue: workqueue.clone(),
            foos: foos_lister.clone(),
        };
        let (o_add, o_update, o_delete) = (owner.clone(), owner.clone(), owner);
        let deployments_synced = deployment_informer.informer().add_event_handler(
            EventHandlerFuncs::new()
                .add_func(move |d: &Arc<Deployment>, _| o_add.handle_object(d))
                .update_func(move |old: &Arc<Deployment>, new: &Arc<Deployment>| {
                    // Periodic resyncs send updates with an unchanged object;
                    // two versions of a Deployment always differ in resourceVersion.
                    if old.metadata.resource_version == new.metadata.resource_version {
                        return;
                    }
                    o_update.handle_object(new);
                })
                .delete_func(move |d: &DeltaObject<Deployment>| {
                    // A tombstone's last known state still names the owner.
                    let d = match d {
                        DeltaObject::Object(d) => d,
                        DeltaObject::Tombstone(t) => &t.obj,
                    };
                    o_delete.handle_object(d);
                }),
        )?;

        Ok(Controller {
            kubeclientset,
            sampleclientset,
            deployments_lister: deployment_informer.lister(),
            foos_lister,
            deployments_synced,
            foos_synced,
            workqueue,
            broadcaster,
            recorder,
        })
    }

    /// Waits for the caches to sync, runs `workers` workers until `cancel`
    /// fires, then shuts the queue down, waits for the workers and flushes
    /// the recorded events. Runs once: the queue and the recorder are closed
    /// afterwards. The informers' factories are started (and shut down) by
    /// the caller, as in the Go original.
    pub async fn run(
        self: Arc<Self>,
        workers: usize,
        cancel: CancellationToken,
    ) -> Result<(), RunError> {
        let result = self.run_workers(workers, &cancel).await;
        // Every exit path: stop handing out keys, then flush events.
        self.workqueue.shut_down();
        self.broadcaster.shutdown().await;
        result
    }

    async fn run_workers(
        self: &Arc<Self>,
        workers: usize,
        cancel: &CancellationToken,
    ) -> Result<(), RunError> {
        tracing::info!("starting Foo controller");
        tracing::info!("waiting for informer caches to sync");
        let synced =
            wait_for_cache_sync(cancel, &[&self.deployments_synced, &self.foos_synced]).await;
        if !synced {
            return Err(RunError::CacheSync);
        }

        tracing::info!(count = workers, "starting workers");
        let mut tasks = JoinSet::new();
        for _ in 0..workers {
            let this = Arc::clone(self);
            let cancel = cancel.clone();
            tasks.spawn(async move { while this.process_next_work_item(&cancel).await {} });
        }
        tracing::info!("started workers");
        cancel.cancelled().await;
        tracing::info!("shutting down workers");
        self.workqueue.shut_down();
        while let Some(joined) = tasks.join_next().await {
            if let Err(e) = joined {
                tracing::error!(error = %e, "worker failed");
            }
        }
        Ok(())
    }

    /// Takes one key off the queue and syncs it; false once the queue is shut down.
    async fn process_next_work_item(&self, cancel: &CancellationToken) -> bool {
        let Some(key) = self.workqueue.get().await else {
            return false;
        };
        // Cancellation abandons an in-flight sync, as a cancelled context
        // aborts the Go controller's requests; the key is simply not retried.
        let outcome = tokio::select! {
            biased;
            _ = cancel.cancelled() => None,
            r = self.sync_handler(&key) => Some(r),
        };
        match outcome {
            Some(Ok(())) => {
                // Success: reset the key's backoff.
                self.workqueue.forget(&key);
                tracing::info!(%key, "successfully synced");
            }
            Some(Err(e)) => {
                // Transient or not, retry later with per-key backoff.
                tracing::error!(%key, error = %e, "error syncing; requeuing");
                self.workqueue.add_rate_limited(key.clone());
            }
            None => {}
        }
        self.workqueue.done(&key);
        true
    }

    /// Compares the Foo's desired state with the Deployment it owns and
    /// converges them, then writes the Foo's status.
    pub async fn sync_handler(&self, key: &ObjectName) -> Result<(), SyncError> {
        let foo = match self.foos_lister.foos(&key.namespace).get(&key.name) {
            Ok(foo) => foo,
            // Deleted since it was queued: nothing left to do.
            Err(e) if e.is_not_found() => {
                tracing::info!(%key, "Foo referenced by item in work queue no longer exists");
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };

        let deployment_name = foo.spec.deployment_name.as_str();
        if deployment_name.is_empty() {
            // Not retried: only a change to the Foo (which enqueues it again) can fix it.
            tracing::error!(%key, "deployment name must be specified");
            return Ok(());
        }

        let deployments = self.kubeclientset.apps_v1().deployments(&key.namespace);
        let deployment = match self
            .deployments_lister
            .deployments(&key.namespace)
            .get(deployment_name)
        {
            Ok(d) => d,
            Err(e) if e.is_not_found() => {
                let created = deployments
                    .create(&new_deployment(&foo)?, &create_options())
                    .await?;
                Arc::new(created)
            }
            Err(e) => return Err(e.into()),
        };

        if !is_controlled_by(&deployment.metadata, &foo.metadata) {
            let err = SyncError::ResourceExists {
                deployment: deployment_name.to_owned(),
            };
            self.recorder.event_for(
                foo.as_ref(),
                EVENT_TYPE_WARNING,
                ERR_RESOURCE_EXISTS,
                &err.to_string(),
            );
            return Err(err);
        }

        let deployment = match foo.spec.replicas {
            Some(want) if deployment.spec.replicas != Some(want) => {
                tracing::info!(
                    %key,
                    foo_replicas = want,
                    deployment_replicas = ?deployment.spec.replicas,
                    "updating deployment replicas"
                );
                Arc::new(
                    deployments
                        .update(&new_deployment(&foo)?, &update_options())
                        .await?,
                )
            }
            _ => deployment,
        };

        self.update_foo_status(&foo, &deployment).await?;
        self.recorder.event_for(
            foo.as_ref(),
            EVENT_TYPE_NORMAL,
            SUCCESS_SYNCED,
            MESSAGE_RESOURCE_SYNCED,
        );
        Ok(())
    }

    async fn update_foo_status(&self, foo: &Foo, deployment: &Deployment) -> Result<(), SyncError> {
        // A copy: the cached Foo is shared with the informer and other readers.
        let mut foo_copy = foo.clone();
        foo_copy.status = Some(FooStatus {
            available_replicas: deployment
                .status
                .as_ref()
                .and_then(|s| s.available_replicas)
                .unwrap_or(0),
        });
        let namespace = foo.metadata.namespace.as_deref().unwrap_or_default();
        self.sampleclientset
            .samplecontroller_v1alpha1()
            .foos(namespace)
            .update_status(&foo_copy, &update_options())
            .await?;
        Ok(())
    }
}

/// The Go controller's limiter: client-go's default controller shape
/// (per-key exponential backoff 5 ms -> 1000 s, max'ed with an overall token
/// bucket), with the bucket at sample-controller's 50 qps / 300 burst instead
/// of the default 10 / 100.
pub fn foo_rate_limiter() -> MaxOfRateLimiter<ObjectName> {
    MaxOfRateLimiter::new(vec![
        Box::new(ItemExponentialFailureRateLimiter::new(
            Duration::from_millis(5),
            Duration::from_secs(1000),
        )),
        Box::new(BucketRateLimiter::new(50.0, 300)),
    ])
}

fn create_options() -> CreateOptions {
    CreateOptions::default().field_manager(FIELD_MANAGER)
}

fn update_options() -> UpdateOptions {
    UpdateOptions::default().field_manager(FIELD_MANAGER)
}

/// Puts a Foo's key on the queue (Go's `enqueueFoo`).
fn enqueue_foo(queue: &RateLimitingQueue<ObjectName>, foo: &Foo) {
    match ObjectName::of(foo) {
        Some(key) => queue.add(key),
        None => tracing::error!("Foo without a name: not queued"),
    }
}

/// What the Deployment handlers need to find and enqueue a Deployment's Foo.
#[derive(Clone)]
struct OwnerLookup {
    queue: RateLimitingQueue<ObjectName>,
    foos: FooLister,
}

impl OwnerLookup {
    /// Enqueues the Foo that controls `object`, if it is one we know (Go's
    /// `handleObject`). Objects controlled by something else are ignored.
    fn handle_object(&self, object: &Deployment) {
        let meta = object.metadata();
        let Some(owner) = controller_of(meta) else {
            return;
        };
        if !refers_to_foo(owner) {
            return;
        }
        let namespace = meta.namespace.as_deref().unwrap_or_default();
        match self.foos.foos(namespace).get(&owner.name) {
            Ok(foo) => enqueue_foo(&self.queue, &foo),
            Err(_) => tracing::debug!(
                namespace,
                name = meta.name.as_deref().unwrap_or_default(),
                foo = owner.name.as_str(),
                "ignoring orphaned object"
            ),
        }
    }
}

/// Whether an owner reference names a Foo of this API group (any version).
fn refers_to_foo(owner: &OwnerReference) -> bool {
    let group = owner.api_version.split_once('/').map_or("", |(g, _)| g);
    owner.kind == Foo::KIND && group == Foo::GROUP
}

/// The owner reference with `controller: true`, if any (apimachinery's
/// `metav1.GetControllerOf`).
pub fn controller_of(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .as_deref()?
        .iter()
        .find(|r| r.controller == Some(true))
}

/// Whether `owner` (by uid) is the controller of `object` (apimachinery's
/// `metav1.IsControlledBy`).
pub fn is_controlled_by(object: &ObjectMeta, owner: &ObjectMeta) -> bool {
    match (controller_of(object), owner.uid.as_deref()) {
        (Some(r), Some(uid)) => r.uid == uid,
        _ => false,
    }
}

/// A controller owner reference to `foo` (apimachinery's `metav1.NewControllerRef`):
/// the garbage collector deletes the owned object with the Foo, and
/// foreground deletion of the Foo waits for it.
pub fn new_controller_ref(foo: &Foo) -> Result<OwnerReference, SyncError> {
    let uid = foo.metadata.uid.clone().ok_or_else(|| SyncError::NoUid {
        key: ObjectName::of(foo).map_or_else(String::new, |k| k.to_string()),
    })?;
    Ok(OwnerReference {
        api_version: Foo::API_VERSION.into(),
        kind: Foo::KIND.into(),
        name: foo.metadata.name.clone().unwrap_or_default(),
        uid,
        controller: Some(true),
        block_owner_deletion: Some(true),
    })
}

/// The Deployment a Foo wants: `spec.replicas` nginx pods, labelled with the
/// Foo's name, controlled by the Foo (Go's `newDeployment`).
pub fn new_deployment(foo: &Foo) -> Result<Deployment, SyncError> {
    let foo_name = foo.metadata.name.clone().unwrap_or_default();
    let labels = SortedMap::from([
        ("app".into(), "nginx".into()),
        ("controller".into(), foo_name),
    ]);
    Ok(Deployment {
        metadata: ObjectMeta {
            name: Some(foo.spec.deployment_name.clone()),
            namespace: foo.metadata.namespace.clone(),
            owner_references: Some(vec![new_controller_ref(foo)?]),
            ..ObjectMeta::default()
        },
        spec: DeploymentSpec {
            replicas: foo.spec.replicas,
            selector: LabelSelector {
                match_labels: Some(labels.clone()),
                ..LabelSelector::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    ..ObjectMeta::default()
                }),
                spec: Some(Arc::new(PodSpec {
                    containers: vec![Container {
                        name: "nginx".into(),
                        image: Some("nginx:latest".into()),
                        ..Container::default()
                    }],
                    ..PodSpec::default()
                })),
            },
            ..DeploymentSpec::default()
        },
        ..Deployment::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sample_controller_foo_api::samplecontroller::v1alpha1::FooSpec;

    fn foo(uid: Option<&str>) -> Foo {
        Foo {
            metadata: ObjectMeta {
                name: Some("example-foo".into()),
                namespace: Some("ns".into()),
                uid: uid.map(Into::into),
                ..ObjectMeta::default()
            },
            spec: FooSpec {
                deployment_name: "example-foo-deploy".into(),
                replicas: Some(3),
            },
            ..Foo::default()
        }
    }

    #[test]
    fn new_deployment_is_controlled_by_its_foo_and_runs_its_replicas() {
        let f = foo(Some("uid-1"));
        let d = new_deployment(&f).unwrap();
        assert_eq!(d.metadata.name.as_deref(), Some("example-foo-deploy"));
        assert_eq!(d.metadata.namespace.as_deref(), Some("ns"));
        assert_eq!(d.spec.replicas, Some(3));
        assert!(is_controlled_by(&d.metadata, &f.metadata));
        let owner = controller_of(&d.metadata).unwrap();
        assert_eq!(
            (
                owner.api_version.as_str(),
                owner.kind.as_str(),
                owner.name.as_str()
            ),
            ("samplecontroller.k8s.io/v1alpha1", "Foo", "example-foo")
        );
        assert!(refers_to_foo(owner));
        // The selector matches the pod template, or the server would refuse it.
        let template_labels = d.spec.template.metadata.as_ref().unwrap().labels.clone();
        assert_eq!(d.spec.selector.match_labels, template_labels);
        assert_eq!(
            template_labels
                .unwrap()
                .get("controller")
                .map(|v| v.as_str()),
            Some("example-foo")
        );
    }

    #[test]
    fn a_foo_without_uid_is_an_error_not_a_panic() {
        let err = new_deployment(&foo(None)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Foo ns/example-foo has no uid: cannot own a Deployment"
        );
    }

    #[test]
    fn another_objects_controller_reference_is_not_ours() {
        let f = foo(Some("uid-1"));
        let mut d = new_deployment(&f).unwrap();
        // Same name, other uid: a different Foo (e.g. deleted and recreated).
        d.metadata.owner_references.as_mut().unwrap()[0].uid = "uid-2".into();
        assert!(!is_controlled_by(&d.metadata, &f.metadata));
        // A non-controller reference does not count.
        d.metadata.owner_references.as_mut().unwrap()[0].controller = Some(false);
        assert!(controller_of(&d.metadata).is_none());
        // Nor does a controller of another kind or group.
        let other = OwnerReference {
            api_version: "apps/v1".into(),
            kind: "Foo".into(),
            ..controller_of(&new_deployment(&f).unwrap().metadata)
                .unwrap()
                .clone()
        };
        assert!(!refers_to_foo(&other));
    }

    #[test]
    fn retries_back_off_per_key_from_5ms_and_forget_resets() {
        use kubegen_runtime::workqueue::RateLimiter;
        let limiter = foo_rate_limiter();
        let (a, b) = (
            ObjectName::of(&foo(None)).unwrap(),
            ObjectName {
                namespace: "ns".into(),
                name: "other".into(),
            },
        );
        let delays: Vec<_> = (0..4).map(|_| limiter.when(&a)).collect();
        let ms = |n| Duration::from_millis(n);
        assert_eq!(delays, [ms(5), ms(10), ms(20), ms(40)]);
        assert_eq!(limiter.num_requeues(&a), 4);
        // Another key has its own backoff.
        assert_eq!(limiter.when(&b), ms(5));
        limiter.forget(&a);
        assert_eq!(limiter.num_requeues(&a), 0);
        assert_eq!(limiter.when(&a), ms(5));
    }

    #[test]
    fn error_messages_match_the_go_controller() {
        let err = SyncError::ResourceExists {
            deployment: "web".into(),
        };
        assert_eq!(
            err.to_string(),
            r#"Resource "web" already exists and is not managed by Foo"#
        );
        let key = ObjectName::of(&foo(None)).unwrap();
        assert_eq!(key.to_string(), "ns/example-foo");
    }
}
