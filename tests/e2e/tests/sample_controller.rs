//! The sample-controller port (`examples/sample-controller`) against the real
//! cluster, run in-process as a Tokio task that a `CancellationToken` stops.
//!
//! Each test installs the Foo CRD (idempotent), starts one controller whose
//! informers watch only the test's own namespace, and checks the behaviour of
//! Kubernetes' sample-controller end to end:
//!
//! - a Foo gets a Deployment with its replicas and a controller owner
//!   reference; changing the Foo's replicas updates the Deployment; the Foo's
//!   status is written through the status subresource (by the controller's
//!   field manager: there is no kubelet, so `availableReplicas` stays 0); a
//!   `Synced` event is recorded; deleting the Foo lets the garbage collector
//!   (kube-controller-manager) delete the Deployment;
//! - a Deployment deleted behind the controller's back is recreated (the
//!   Deployment handler finds its Foo through the owner reference);
//! - a Deployment of the same name that the Foo does not control is left
//!   alone and an `ErrResourceExists` warning is recorded;
//! - the controller stops gracefully when cancelled.
//!
//! All waits are bounded polls ([`eventually`]), 30 s at most.

// `foo` is the name of this kind's objects here, not a placeholder.
#![allow(clippy::disallowed_names)]

use std::time::Duration;

use kubegen_api::apps::v1::Deployment;
use kubegen_api::core::v1::Event;
use kubegen_e2e::{admin, apply_crd, drop_namespace, eventually, is_gone, test_namespace};
use kubegen_runtime::cache::{FactoryOptions, InformerFactory};
use kubegen_runtime::{
    Client, CreateOptions, GetOptions, ListOptions, Patch, PatchOptions, RestClient,
};
use sample_controller::controller::{
    CONTROLLER_AGENT_NAME, ERR_RESOURCE_EXISTS, MESSAGE_RESOURCE_SYNCED, SUCCESS_SYNCED,
    new_deployment,
};
use sample_controller::foo_api::samplecontroller::v1alpha1::{Foo, FooSpec};
use sample_controller::{Controller, RunError, derived, foo_api};
use serde_json::json;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(30);
/// The garbage collector learns of a newly installed CRD only at its next
/// discovery resync (every 30 s in kube-controller-manager), so it may take
/// that long before it even watches Foos.
const GC_WAIT: Duration = Duration::from_secs(120);

/// Apply the Foo CRD that `sample-controller --print-crd` prints (the derived
/// one, equal to the checked-in `foo-crd.yaml`) and wait until it is established.
async fn install_foo_crd(rest: &RestClient) {
    let crd = derived::crd().unwrap_or_else(|e| panic!("the derived Foo CRD: {e}"));
    let name = crd.metadata.name.clone().expect("the CRD has a name");
    apply_crd(rest, &name, &crd, "kubegen-e2e-sample-controller").await;
}

/// A controller running in the background on informers limited to `namespace`.
struct Running {
    cancel: CancellationToken,
    task: JoinHandle<Result<(), RunError>>,
    informers: InformerFactory,
}

impl Running {
    async fn start(rest: &RestClient, namespace: &str) -> Running {
        let kube = kubegen_api::Clientset::from_rest(rest.clone());
        let sample = foo_api::Clientset::from_rest(rest.clone());
        let informers = InformerFactory::with_options(
            rest.clone(),
            Duration::from_secs(30),
            FactoryOptions::new().namespace(namespace),
        );
        let controller = Controller::new(kube, sample, &informers)
            .unwrap_or_else(|e| panic!("Controller::new: {e}"));
        informers.start();
        let cancel = CancellationToken::new();
        let task = tokio::spawn(controller.run(2, cancel.clone()));
        Running {
            cancel,
            task,
            informers,
        }
    }

    /// Cancel, and check the controller stops gracefully and promptly.
    async fn stop(self) {
        self.cancel.cancel();
        let stopped = tokio::time::timeout(Duration::from_secs(15), self.task)
            .await
            .expect("the controller stops within 15 s of being cancelled")
            .expect("the controller task did not panic");
        assert!(stopped.is_ok(), "the controller failed: {stopped:?}");
        self.informers.shutdown().await;
    }
}

fn foo(name: &str, deployment_name: &str, replicas: i32) -> Foo {
    let mut foo = Foo {
        spec: FooSpec {
            deployment_name: deployment_name.into(),
            replicas: replicas.into(),
        },
        ..Foo::default()
    };
    foo.metadata.name = Some(name.into());
    foo
}

async fn get_deployment(c: &Client<Deployment>, name: &str) -> Option<Deployment> {
    c.get(name, &GetOptions::default()).await.ok()
}

/// Events in `namespace` about the object with `uid`.
async fn events_about(rest: &RestClient, namespace: &str, uid: &str) -> Vec<Event> {
    Client::<Event>::namespaced(rest.clone(), namespace)
        .list(&ListOptions::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e.involved_object.uid.as_deref() == Some(uid))
        .collect()
}

#[tokio::test]
async fn foo_owns_a_deployment_that_follows_its_replicas_and_is_garbage_collected() {
    let rest = admin();
    install_foo_crd(&rest).await;
    let ns = test_namespace(&rest, "sample-ctl").await;
    let running = Running::start(&rest, &ns).await;
    let foos = foo_api::Clientset::from_rest(rest.clone())
        .samplecontroller_v1alpha1()
        .foos(&ns);
    let deployments = Client::<Deployment>::namespaced(rest.clone(), &ns);

    // Create a Foo -> its Deployment appears, controlled by it.
    let created = foos
        .create(
            &foo("example-foo", "example-foo-deploy", 1),
            &CreateOptions::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("create Foo: {e}"));
    let foo_uid = created.metadata.uid.clone().expect("the server set a uid");
    eventually(WAIT, "the Foo's Deployment with 1 replica", || {
        let deployments = deployments.clone();
        async move {
            get_deployment(&deployments, "example-foo-deploy")
                .await
                .is_some_and(|d| d.spec.replicas == Some(1))
        }
    })
    .await;
    let deployment = get_deployment(&deployments, "example-foo-deploy")
        .await
        .expect("the Deployment exists");
    let owners = deployment
        .metadata
        .owner_references
        .clone()
        .unwrap_or_default();
    assert_eq!(owners.len(), 1, "one owner reference: {owners:?}");
    let owner = &owners[0];
    assert_eq!(
        (
            owner.api_version.as_str(),
            owner.kind.as_str(),
            owner.name.as_str(),
            owner.uid.as_str(),
            owner.controller,
        ),
        (
            "samplecontroller.k8s.io/v1alpha1",
            "Foo",
            "example-foo",
            foo_uid.as_str(),
            Some(true)
        )
    );
    // The pod template the Go controller writes.
    let labels = deployment
        .spec
        .selector
        .match_labels
        .clone()
        .unwrap_or_default();
    assert_eq!(
        labels.get("controller").map(|v| v.as_str()),
        Some("example-foo")
    );
    assert_eq!(
        deployment
            .spec
            .template
            .spec
            .as_ref()
            .map(|s| s.containers[0].name.as_str()),
        Some("nginx")
    );

    // The Foo's status is written through the status subresource, by the
    // controller's field manager (no kubelet: 0 replicas are available).
    eventually(
        WAIT,
        "the Foo's status written by sample-controller",
        || {
            let foos = foos.clone();
            async move {
                let Ok(foo) = foos.get("example-foo", &GetOptions::default()).await else {
                    return false;
                };
                let wrote_status = foo.metadata.managed_fields.iter().flatten().any(|m| {
                    m.manager.as_deref() == Some(CONTROLLER_AGENT_NAME)
                        && m.subresource.as_deref() == Some("status")
                        && m.operation.as_deref() == Some("Update")
                });
                wrote_status && foo.status.is_some_and(|s| s.available_replicas == 0)
            }
        },
    )
    .await;

    // A `Synced` event about the Foo, from sample-controller.
    eventually(WAIT, "a Synced event for the Foo", || {
        let rest = rest.clone();
        let (ns, uid) = (ns.clone(), foo_uid.clone());
        async move {
            events_about(&rest, &ns, &uid).await.iter().any(|e| {
                e.reason.as_deref() == Some(SUCCESS_SYNCED)
                    && e.type_.as_deref() == Some("Normal")
                    && e.message.as_deref() == Some(MESSAGE_RESOURCE_SYNCED)
                    && e.source.as_ref().and_then(|s| s.component.as_deref())
                        == Some(CONTROLLER_AGENT_NAME)
                    && e.involved_object.kind.as_deref() == Some("Foo")
            })
        }
    })
    .await;

    // Change the Foo's replicas -> the Deployment follows.
    foos.patch(
        "example-foo",
        &Patch::Merge(json!({"spec": {"replicas": 3}})),
        &PatchOptions::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("patch Foo replicas: {e}"));
    eventually(
        WAIT,
        "the Deployment to follow the Foo to 3 replicas",
        || {
            let deployments = deployments.clone();
            async move {
                get_deployment(&deployments, "example-foo-deploy")
                    .await
                    .is_some_and(|d| d.spec.replicas == Some(3))
            }
        },
    )
    .await;

    // Delete the Foo -> the garbage collector deletes the Deployment.
    foos.delete("example-foo", &Default::default())
        .await
        .unwrap_or_else(|e| panic!("delete Foo: {e}"));
    eventually(GC_WAIT, "the Deployment to be garbage collected", || {
        let deployments = deployments.clone();
        async move { is_gone(&deployments, "example-foo-deploy").await }
    })
    .await;

    running.stop().await;
    drop_namespace(&rest, &ns).await;
}

#[tokio::test]
async fn a_deployment_deleted_behind_the_controllers_back_is_recreated() {
    let rest = admin();
    install_foo_crd(&rest).await;
    let ns = test_namespace(&rest, "sample-ctl").await;
    let running = Running::start(&rest, &ns).await;
    let foos = foo_api::Clientset::from_rest(rest.clone())
        .samplecontroller_v1alpha1()
        .foos(&ns);
    let deployments = Client::<Deployment>::namespaced(rest.clone(), &ns);

    foos.create(
        &foo("phoenix", "phoenix-deploy", 2),
        &CreateOptions::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("create Foo: {e}"));
    eventually(WAIT, "the Foo's Deployment", || {
        let deployments = deployments.clone();
        async move {
            get_deployment(&deployments, "phoenix-deploy")
                .await
                .is_some()
        }
    })
    .await;
    let first_uid = get_deployment(&deployments, "phoenix-deploy")
        .await
        .and_then(|d| d.metadata.uid)
        .expect("the Deployment has a uid");

    // Only the Deployment informer sees this; its handler must enqueue the Foo.
    deployments
        .delete("phoenix-deploy", &Default::default())
        .await
        .unwrap_or_else(|e| panic!("delete Deployment: {e}"));
    eventually(WAIT, "a new Deployment for the Foo", || {
        let deployments = deployments.clone();
        let first_uid = first_uid.clone();
        async move {
            get_deployment(&deployments, "phoenix-deploy")
                .await
                .is_some_and(|d| {
                    d.metadata.uid.as_deref() != Some(first_uid.as_str())
                        && d.spec.replicas == Some(2)
                })
        }
    })
    .await;

    running.stop().await;
    drop_namespace(&rest, &ns).await;
}

#[tokio::test]
async fn a_deployment_the_foo_does_not_control_is_left_alone_with_a_warning() {
    let rest = admin();
    install_foo_crd(&rest).await;
    let ns = test_namespace(&rest, "sample-ctl").await;
    let deployments = Client::<Deployment>::namespaced(rest.clone(), &ns);

    // Someone else's Deployment, with the name the Foo will ask for.
    let mut theirs = new_deployment(&{
        let mut f = foo("intruder", "taken", 1);
        f.metadata.namespace = Some(ns.as_str().into());
        f.metadata.uid = Some("not-a-real-owner".into());
        f
    })
    .expect("a Deployment from a Foo with a uid");
    theirs.metadata.owner_references = None;
    deployments
        .create(&theirs, &CreateOptions::default())
        .await
        .unwrap_or_else(|e| panic!("create the unowned Deployment: {e}"));

    let running = Running::start(&rest, &ns).await;
    let foos = foo_api::Clientset::from_rest(rest.clone())
        .samplecontroller_v1alpha1()
        .foos(&ns);
    let created = foos
        .create(&foo("intruder", "taken", 4), &CreateOptions::default())
        .await
        .unwrap_or_else(|e| panic!("create Foo: {e}"));
    let foo_uid = created.metadata.uid.expect("the server set a uid");

    eventually(WAIT, "an ErrResourceExists warning for the Foo", || {
        let rest = rest.clone();
        let (ns, uid) = (ns.clone(), foo_uid.clone());
        async move {
            events_about(&rest, &ns, &uid).await.iter().any(|e| {
                e.reason.as_deref() == Some(ERR_RESOURCE_EXISTS)
                    && e.type_.as_deref() == Some("Warning")
                    && e.message.as_deref()
                        == Some(r#"Resource "taken" already exists and is not managed by Foo"#)
            })
        }
    })
    .await;
    // Not taken over: no owner, replicas untouched.
    let after = get_deployment(&deployments, "taken")
        .await
        .expect("the Deployment still exists");
    assert_eq!(after.metadata.owner_references, None);
    assert_eq!(after.spec.replicas, Some(1));

    running.stop().await;
    drop_namespace(&rest, &ns).await;
}
