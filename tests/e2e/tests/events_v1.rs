//! The events.k8s.io/v1 event recorder against the real kube-apiserver.
//!
//! - `recording_twice_makes_one_event_with_a_series_of_two`: an event recorded
//!   twice about a real object is one events.k8s.io/v1 Event on the server
//!   whose series has count 2 (a create, then a patch), with the action,
//!   note, reporting controller and instance, and the object's uid; a
//!   different reason makes a second Event, with no series.
//! - `rejected_events_do_not_stop_the_recorder`: the `limited` user may write
//!   events.k8s.io events in `default` only (a Role the test grants); its
//!   event about an object in `kube-public` is refused (403), and the next
//!   one, about an object in `default`, is still written; shutdown is prompt.
//!
//! Needs the test cluster: `make cluster-up`, then KUBEGEN_TEST_KUBECONFIG.

use std::time::Duration;

use kubegen_api::coordination::v1::Lease;
use kubegen_api::rbac::v1::{Role, RoleBinding};
use kubegen_e2e::{admin, eventually, lease_named, rest, unique};
use kubegen_runtime::events::{
    ClientEventSink, Event, EventBroadcaster, ObjectReference, object_reference,
};
use kubegen_runtime::{Client, CreateOptions, DeleteOptions, GetOptions, ListOptions, RestClient};

const CONTROLLER: &str = "kubegen.example.com/e2e";

async fn events_about(rest: &RestClient, namespace: &str, name: &str) -> Vec<Event> {
    let events: Client<Event> = Client::namespaced(rest.clone(), namespace);
    let selector = format!("regarding.name={name}");
    events
        .list(&ListOptions::default().field_selector(&selector))
        .await
        .unwrap_or_else(|e| panic!("listing events about {name}: {e}"))
        .items
}

async fn delete_events_about(rest: &RestClient, namespace: &str, name: &str) {
    let events: Client<Event> = Client::namespaced(rest.clone(), namespace);
    for event in events_about(rest, namespace, name).await {
        let event_name = event.metadata.name.unwrap_or_default();
        events
            .delete(&event_name, &DeleteOptions::default())
            .await
            .unwrap_or_else(|e| panic!("deleting event {event_name}: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recording_twice_makes_one_event_with_a_series_of_two() {
    let rest = admin();
    let leases: Client<Lease> = Client::namespaced(rest.clone(), "default");
    let name = unique("kubegen-e2e-events-v1");
    let lease = leases
        .create(&lease_named(&name), &CreateOptions::default())
        .await
        .expect("create the Lease the events are about");
    let regarding = object_reference(&lease);

    let broadcaster = EventBroadcaster::new();
    broadcaster.start_recording_to_sink(ClientEventSink::new(rest.clone()));
    let recorder = broadcaster.new_recorder(CONTROLLER, "e2e-0");
    let held_by = ObjectReference {
        kind: Some("Pod".into()),
        name: Some("holder-0".into()),
        namespace: Some("default".into()),
        api_version: Some("v1".into()),
        ..ObjectReference::default()
    };
    for _ in 0..2 {
        recorder.eventf(
            &regarding,
            Some(&held_by),
            "Normal",
            "Renewed",
            "Renew",
            "lease renewed",
        );
    }
    recorder.eventf(
        &regarding,
        None,
        "Warning",
        "Stale",
        "Check",
        "lease looks stale",
    );
    broadcaster.shutdown().await;

    let mut events = events_about(&rest, "default", &name).await;
    events.sort_by(|a, b| a.reason.cmp(&b.reason));
    assert_eq!(events.len(), 2, "one Event per distinct event: {events:#?}");
    let (renewed, stale) = (&events[0], &events[1]);
    assert_eq!(renewed.reason.as_deref(), Some("Renewed"));
    let series = renewed.series.as_ref().expect("the repeat made a series");
    assert_eq!(series.count, 2);
    assert!(series.last_observed_time >= renewed.event_time);
    assert_eq!(renewed.type_.as_deref(), Some("Normal"));
    assert_eq!(renewed.action.as_deref(), Some("Renew"));
    assert_eq!(renewed.note.as_deref(), Some("lease renewed"));
    assert_eq!(renewed.reporting_controller.as_deref(), Some(CONTROLLER));
    assert_eq!(renewed.reporting_instance.as_deref(), Some("e2e-0"));
    let about = renewed.regarding.as_ref().expect("regarding");
    assert_eq!(about.kind.as_deref(), Some("Lease"));
    assert_eq!(about.uid, lease.metadata.uid);
    assert_eq!(renewed.related.as_ref(), Some(&held_by));

    assert_eq!(stale.reason.as_deref(), Some("Stale"));
    assert_eq!(stale.type_.as_deref(), Some("Warning"));
    assert_eq!(stale.series, None);
    assert_eq!(stale.related, None);

    delete_events_about(&rest, "default", &name).await;
    leases
        .delete(&name, &DeleteOptions::default())
        .await
        .expect("delete the Lease");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_events_do_not_stop_the_recorder() {
    let admin = admin();
    // The limited user may write events.k8s.io events in `default`, and get
    // them (to see when the grant is in force); nothing elsewhere.
    let grant = unique("kubegen-e2e-events-writer");
    let role: Role = serde_json::from_value(serde_json::json!({
        "metadata": {"name": grant},
        "rules": [{"apiGroups": ["events.k8s.io"], "resources": ["events"],
                   "verbs": ["create", "patch", "get"]}]
    }))
    .expect("a Role");
    let binding: RoleBinding = serde_json::from_value(serde_json::json!({
        "metadata": {"name": grant},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": grant},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                      "name": "kubegen-limited"}]
    }))
    .expect("a RoleBinding");
    let roles: Client<Role> = Client::namespaced(admin.clone(), "default");
    let bindings: Client<RoleBinding> = Client::namespaced(admin.clone(), "default");
    roles
        .create(&role, &CreateOptions::default())
        .await
        .expect("create Role");
    bindings
        .create(&binding, &CreateOptions::default())
        .await
        .expect("create RoleBinding");
    let limited = rest("limited");
    let as_limited: Client<Event> = Client::namespaced(limited.clone(), "default");
    eventually(Duration::from_secs(30), "the grant to be in force", || {
        let as_limited = as_limited.clone();
        async move {
            matches!(
                as_limited.get("no-such-event", &GetOptions::default()).await,
                Err(e) if e.is_not_found()
            )
        }
    })
    .await;

    let name = unique("kubegen-e2e-events-v1-limited");
    let elsewhere = ObjectReference {
        namespace: Some("kube-public".into()),
        ..object_reference(&lease_named(&name))
    };
    let here = object_reference(&lease_named(&name));
    let broadcaster = EventBroadcaster::new();
    broadcaster.start_recording_to_sink(ClientEventSink::new(limited));
    let recorder = broadcaster.new_recorder(CONTROLLER, "e2e-limited");
    recorder.eventf(&elsewhere, None, "Normal", "Refused", "Sync", "forbidden");
    recorder.eventf(&here, None, "Normal", "Allowed", "Sync", "still recorded");
    // A 403 is a server answer: logged and not retried, so shutdown is prompt.
    tokio::time::timeout(Duration::from_secs(20), broadcaster.shutdown())
        .await
        .expect("shutdown waits only for writes that can succeed");

    assert!(events_about(&admin, "kube-public", &name).await.is_empty());
    let written = events_about(&admin, "default", &name).await;
    assert_eq!(written.len(), 1, "{written:#?}");
    assert_eq!(written[0].reason.as_deref(), Some("Allowed"));
    assert_eq!(written[0].note.as_deref(), Some("still recorded"));

    delete_events_about(&admin, "default", &name).await;
    bindings
        .delete(&grant, &DeleteOptions::default())
        .await
        .expect("delete RoleBinding");
    roles
        .delete(&grant, &DeleteOptions::default())
        .await
        .expect("delete Role");
}
