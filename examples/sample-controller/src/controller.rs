//! The Foo controller: sample-controller's `controller.go` on kubegen's
//! controller runtime.
//!
//! For every Foo it makes sure a Deployment named `spec.deploymentName`
//! exists in the Foo's namespace, is controlled by the Foo (a controller
//! owner reference, so the garbage collector deletes it with the Foo), and
//! runs `spec.replicas` replicas; then it copies the Deployment's
//! `availableReplicas` into the Foo's status and records a `Synced` event.
//!
//! The Go original wires informers, event handlers, a rate-limited
//! workqueue, workers and the owner lookup by hand; here
//! [`kubegen_runtime::controller::Controller`] does: the Foo informer and
//! the Deployment informer (`owns`: a Deployment's event enqueues the Foo
//! that controls it) feed its queue, and its workers call [`sync_handler`]
//! with the cached Foo. The handler reads only from caches and writes
//! through the typed clients; on error the Foo is retried with per-key
//! backoff (sample-controller's limiter: 5 ms doubling to 1000 s, and an
//! overall 50 qps, burst 300).
//!
//! Cached objects are `Arc`s shared with the informer: the controller clones
//! a Foo before changing its status (Go's "NEVER modify objects from the
//! store" rule, enforced here by the type system).

use std::sync::Arc;

use kubegen_api::Clientset;
use kubegen_api::apps::v1::{Deployment, DeploymentSpec};
use kubegen_api::core::v1::{Container, PodSpec, PodTemplateSpec};
use kubegen_api::meta::v1::LabelSelector;
use kubegen_runtime::cache::{InformerError, InformerFactory, Lister};
use kubegen_runtime::controller::{
    self, Action, ObjectRef, controller_reference, is_controlled_by,
};
use kubegen_runtime::meta::ObjectMeta;
use kubegen_runtime::record::{
    ClientEventSink, EVENT_TYPE_NORMAL, EVENT_TYPE_WARNING, EventBroadcaster, EventRecorder,
    event_source,
};
use kubegen_runtime::workqueue::MaxOfRateLimiter;
use kubegen_runtime::{CreateOptions, SortedMap, UpdateOptions};
use sample_controller_foo_api::Clientset as SampleClientset;
use sample_controller_foo_api::samplecontroller::v1alpha1::{Foo, FooStatus};
use tokio_util::sync::CancellationToken;

/// Name of the controller: the event source, the field manager, the queue.
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

/// Why one sync of a Foo failed; the Foo is retried with backoff.
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

pub use kubegen_runtime::controller::RunError;

/// What every sync needs: the clients, the Deployment cache, the recorder.
pub struct Context {
    kubeclientset: Clientset,
    sampleclientset: SampleClientset,
    deployments: Lister<Deployment>,
    recorder: EventRecorder,
}

/// The controller for Foo resources; see the [module docs](self).
pub struct Controller {
    runtime: controller::Controller<Foo>,
    context: Arc<Context>,
    broadcaster: EventBroadcaster,
}

impl std::fmt::Debug for Controller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controller")
            .field("runtime", &self.runtime)
            .finish_non_exhaustive()
    }
}

impl Controller {
    /// Builds the controller on `factory`'s Foo and Deployment informers
    /// (the caller starts the factory). Starts writing events through
    /// `kubeclientset`, so it must be called inside a Tokio runtime.
    pub fn new(
        kubeclientset: Clientset,
        sampleclientset: SampleClientset,
        factory: &InformerFactory,
    ) -> Result<Self, InformerError> {
        let broadcaster = EventBroadcaster::new();
        broadcaster.start_structured_logging();
        broadcaster.start_recording_to_sink(ClientEventSink::new(kubeclientset.rest().clone()));
        let recorder = broadcaster.new_recorder(event_source(CONTROLLER_AGENT_NAME));
        let runtime = controller::Controller::<Foo>::with_rate_limiter(
            factory,
            CONTROLLER_AGENT_NAME,
            foo_rate_limiter(),
        )?
        .owns::<Deployment>()?;
        let context = Arc::new(Context {
            kubeclientset,
            sampleclientset,
            deployments: factory.resource_informer::<Deployment>().lister(),
            recorder,
        });
        Ok(Controller {
            runtime,
            context,
            broadcaster,
        })
    }

    /// Waits for the caches to sync, runs `workers` workers until `cancel`
    /// fires, lets the syncs under way finish, then flushes the recorded
    /// events. The informers' factory is started (and shut down) by the
    /// caller, as in the Go original.
    pub async fn run(self, workers: usize, cancel: CancellationToken) -> Result<(), RunError> {
        tracing::info!("starting Foo controller");
        let result = self
            .runtime
            .concurrency(workers)
            .run(
                |foo: Arc<Foo>, ctx: Arc<Context>| async move {
                    sync_handler(&foo, &ctx).await.map(|()| Action::AwaitChange)
                },
                |foo, e: &SyncError, _| {
                    tracing::error!(foo = %ObjectRef::of(foo.as_ref()).map(|k| k.to_string()).unwrap_or_default(), error = %e, "error syncing; requeuing");
                    Action::Backoff
                },
                self.context,
                cancel,
            )
            .await;
        self.broadcaster.shutdown().await;
        result
    }
}

/// Compares the Foo's desired state with the Deployment it owns and
/// converges them, then writes the Foo's status.
pub async fn sync_handler(foo: &Arc<Foo>, ctx: &Context) -> Result<(), SyncError> {
    let namespace = foo.metadata.namespace.as_deref().unwrap_or_default();
    let deployment_name = foo.spec.deployment_name.as_str();
    if deployment_name.is_empty() {
        // Not retried: only a change to the Foo (which enqueues it again) can fix it.
        tracing::error!("deployment name must be specified");
        return Ok(());
    }

    let deployments = ctx.kubeclientset.apps_v1().deployments(namespace);
    let deployment = match ctx.deployments.namespaced(namespace).get(deployment_name) {
        Ok(d) => d,
        Err(e) if e.is_not_found() => {
            let created = deployments
                .create(&new_deployment(foo)?, &create_options())
                .await?;
            Arc::new(created)
        }
        Err(e) => return Err(e.into()),
    };

    if !is_controlled_by(&deployment.metadata, &foo.metadata) {
        let err = SyncError::ResourceExists {
            deployment: deployment_name.to_owned(),
        };
        ctx.recorder.event_for(
            foo.as_ref(),
            EVENT_TYPE_WARNING,
            ERR_RESOURCE_EXISTS,
            &err.to_string(),
        );
        return Err(err);
    }

    let deployment = match foo.spec.replicas.value().copied() {
        Some(want) if deployment.spec.replicas != Some(want) => {
            tracing::info!(
                foo_replicas = want,
                deployment_replicas = ?deployment.spec.replicas,
                "updating deployment replicas"
            );
            Arc::new(
                deployments
                    .update(&new_deployment(foo)?, &update_options())
                    .await?,
            )
        }
        _ => deployment,
    };

    update_foo_status(ctx, foo, &deployment).await?;
    ctx.recorder.event_for(
        foo.as_ref(),
        EVENT_TYPE_NORMAL,
        SUCCESS_SYNCED,
        MESSAGE_RESOURCE_SYNCED,
    );
    Ok(())
}

async fn update_foo_status(
    ctx: &Context,
    foo: &Foo,
    deployment: &Deployment,
) -> Result<(), SyncError> {
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
    ctx.sampleclientset
        .samplecontroller_v1alpha1()
        .foos(namespace)
        .update_status(&foo_copy, &update_options())
        .await?;
    Ok(())
}

/// The Go controller's limiter: client-go's default controller shape
/// (per-key exponential backoff 5 ms -> 1000 s, max'ed with an overall token
/// bucket), with the bucket at sample-controller's 50 qps / 300 burst instead
/// of the default 10 / 100.
pub fn foo_rate_limiter() -> MaxOfRateLimiter<ObjectRef> {
    controller::rate_limiter(50.0, 300)
}

fn create_options() -> CreateOptions {
    CreateOptions::default().field_manager(FIELD_MANAGER)
}

fn update_options() -> UpdateOptions {
    UpdateOptions::default().field_manager(FIELD_MANAGER)
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
            owner_references: Some(vec![controller_reference(foo).ok_or_else(|| {
                SyncError::NoUid {
                    key: ObjectRef::of(foo).map_or_else(String::new, |k| k.to_string()),
                }
            })?]),
            ..ObjectMeta::default()
        },
        spec: DeploymentSpec {
            replicas: foo.spec.replicas.value().copied(),
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
    use kubegen_runtime::controller::{controller_of, refers_to};
    use kubegen_runtime::meta::OwnerReference;
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
                replicas: 3.into(),
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
        assert!(refers_to::<Foo>(owner));
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
        assert!(!refers_to::<Foo>(&other));
    }

    #[test]
    fn retries_back_off_per_key_from_5ms_and_forget_resets() {
        use kubegen_runtime::workqueue::RateLimiter;
        let limiter = foo_rate_limiter();
        let (a, b) = (
            ObjectRef::of(&foo(None)).unwrap(),
            ObjectRef::namespaced("ns", "other"),
        );
        let delays: Vec<_> = (0..4).map(|_| limiter.when(&a)).collect();
        let ms = |n| std::time::Duration::from_millis(n);
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
        let key = ObjectRef::of(&foo(None)).unwrap();
        assert_eq!(key.to_string(), "ns/example-foo");
    }
}
