//! Unit tests of the controller on the fake API server, as upstream's
//! `controller_test.go` does on client-go's fake clientsets: a Foo and the
//! objects around it are the starting state, the controller runs, and the
//! requests it made are checked. (Go's test calls `syncHandler` once; here
//! the whole controller runs, so a sync may repeat: the checks are on what
//! was written.)

// `foo` is the name of this kind's objects here, not a placeholder.
#![allow(clippy::disallowed_names)]

use std::time::Duration;

use kubegen_api::apps::v1::Deployment;
use kubegen_api::core::v1::Event;
use kubegen_runtime::cache::InformerFactory;
use kubegen_runtime::controller::CancellationToken;
use kubegen_runtime::fake::{Action, FakeCluster};
use sample_controller::controller::{ERR_RESOURCE_EXISTS, new_deployment};
use sample_controller::foo_api::samplecontroller::v1alpha1::{Foo, FooSpec};
use sample_controller::{Controller, foo_api};

/// The starting state and the controller running on it.
struct Fixture {
    fake: FakeCluster,
    cancel: CancellationToken,
    run: tokio::task::JoinHandle<Result<(), sample_controller::RunError>>,
    informers: InformerFactory,
}

fn foo(name: &str, replicas: i32) -> Foo {
    let mut foo = Foo {
        spec: FooSpec {
            deployment_name: format!("{name}-deploy").into(),
            replicas: replicas.into(),
        },
        ..Foo::default()
    };
    foo.metadata.name = Some(name.into());
    foo.metadata.namespace = Some("default".into());
    foo
}

async fn fake() -> FakeCluster {
    let fake = FakeCluster::start().await.unwrap();
    fake.register_with_status::<Foo>();
    fake.register_with_status::<Deployment>();
    fake.register::<Event>();
    fake
}

impl Fixture {
    fn run(fake: FakeCluster) -> Self {
        let rest = fake.rest();
        let informers = InformerFactory::new(rest.clone(), Duration::ZERO);
        let controller = Controller::new(
            kubegen_api::Clientset::from_rest(rest.clone()),
            foo_api::Clientset::from_rest(rest),
            &informers,
        )
        .unwrap();
        informers.start();
        let cancel = CancellationToken::new();
        let run = tokio::spawn(controller.run(1, cancel.clone()));
        Fixture {
            fake,
            cancel,
            run,
            informers,
        }
    }

    /// Waits until an action matching `want` was made; all actions so far.
    async fn until(&self, what: &str, want: impl Fn(&Action) -> bool) -> Vec<Action> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let actions = self.fake.actions();
            if actions.iter().any(&want) {
                return actions;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no {what} within 10 s; actions: {actions:#?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn stop(self) {
        self.cancel.cancel();
        self.run.await.unwrap().unwrap();
        self.informers.shutdown().await;
    }
}

fn writes(actions: &[Action], resource: &str) -> Vec<(&'static str, Option<String>)> {
    actions
        .iter()
        .filter(|a| a.resource == resource && !matches!(a.verb, "get" | "list" | "watch"))
        .map(|a| (a.verb, a.subresource.clone()))
        .collect()
}

#[tokio::test]
async fn creates_the_deployment_and_writes_the_status() {
    let fake = fake().await;
    let stored = fake.add(&foo("test", 1)).unwrap();
    let fixture = Fixture::run(fake);
    let actions = fixture
        .until("status update", |a| {
            a.subresource.as_deref() == Some("status")
        })
        .await;
    assert_eq!(writes(&actions, "deployments"), [("create", None)]);
    let created = actions
        .iter()
        .find(|a| a.resource == "deployments" && a.verb == "create")
        .and_then(|a| a.body.clone())
        .unwrap();
    let created: Deployment = serde_json::from_value(created).unwrap();
    assert_eq!(created, new_deployment(&stored).unwrap());
    // The status write (repeated, as a no-op, when the Foo's own change and
    // the Deployment's creation bring it back), and nothing else to the Foo.
    let foo_writes = writes(&actions, "foos");
    assert!(!foo_writes.is_empty());
    assert!(
        foo_writes
            .iter()
            .all(|w| *w == ("update", Some("status".to_owned())))
    );
    fixture.stop().await;
}

#[tokio::test]
async fn does_nothing_to_a_deployment_that_is_as_wanted() {
    let fake = fake().await;
    let stored = fake.add(&foo("test", 1)).unwrap();
    fake.add(&new_deployment(&stored).unwrap()).unwrap();
    let fixture = Fixture::run(fake);
    let actions = fixture
        .until("status update", |a| {
            a.subresource.as_deref() == Some("status")
        })
        .await;
    assert_eq!(writes(&actions, "deployments"), []);
    fixture.stop().await;
}

#[tokio::test]
async fn updates_the_deployment_to_the_foos_replicas() {
    let fake = fake().await;
    let stored = fake.add(&foo("test", 2)).unwrap();
    let mut deployment = new_deployment(&stored).unwrap();
    deployment.spec.replicas = Some(1);
    fake.add(&deployment).unwrap();
    let fixture = Fixture::run(fake);
    let actions = fixture
        .until("status update", |a| {
            a.subresource.as_deref() == Some("status")
        })
        .await;
    assert_eq!(writes(&actions, "deployments"), [("update", None)]);
    let updated = actions
        .iter()
        .find(|a| a.resource == "deployments" && a.verb == "update")
        .and_then(|a| a.body.clone())
        .unwrap();
    assert_eq!(updated["spec"]["replicas"], 2);
    fixture.stop().await;
}

#[tokio::test]
async fn leaves_a_deployment_it_does_not_control_and_warns() {
    let fake = fake().await;
    let stored = fake.add(&foo("test", 1)).unwrap();
    let mut deployment = new_deployment(&stored).unwrap();
    deployment.metadata.owner_references = None;
    fake.add(&deployment).unwrap();
    let fixture = Fixture::run(fake);
    let actions = fixture
        .until("warning event", |a| {
            a.resource == "events"
                && a.body
                    .as_ref()
                    .is_some_and(|b| b["reason"] == ERR_RESOURCE_EXISTS)
        })
        .await;
    assert_eq!(writes(&actions, "deployments"), []);
    assert_eq!(writes(&actions, "foos"), []);
    fixture.stop().await;
}
