//! The event recorder against the real kube-apiserver.
//!
//! - `recording_twice_makes_one_event_with_count_two`: an event recorded twice
//!   about a real object is one core/v1 Event on the server with count 2 (a
//!   create, then a patch), first and last timestamps kept; a different
//!   reason makes a second Event.
//! - `rejected_events_do_not_stop_the_recorder`: the `limited` user (403 on
//!   events) gets nothing written and the broadcaster still shuts down cleanly.
//!
//! Needs the test cluster: `make cluster-up`, then KUBEGEN_TEST_KUBECONFIG.

use kubegen_api::coordination::v1::Lease;
use kubegen_e2e::lease_named;
use kubegen_runtime::record::{ClientEventSink, Event, EventBroadcaster, event_source};
use kubegen_runtime::{Client, Config, CreateOptions, DeleteOptions, ListOptions, RestClient};

/// A client for `context` of the test cluster's kubeconfig; panics (fails the
/// test) with the reason when the cluster is not there.
fn rest(context: &str) -> RestClient {
    let path = std::env::var("KUBEGEN_TEST_KUBECONFIG").unwrap_or_else(|_| {
        panic!(
            "KUBEGEN_TEST_KUBECONFIG is not set: start the test cluster with `make cluster-up` and export it (make test does both)"
        )
    });
    let config = Config::from_kubeconfig(&path, Some(context)).unwrap_or_else(|e| {
        panic!("cannot load context {context} from {path}: {e} (is the test cluster up? `make cluster-up`)")
    });
    RestClient::new(config).unwrap_or_else(|e| panic!("cannot build a client from {path}: {e}"))
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{prefix}-{}-{nanos}", std::process::id())
}

async fn events_about(rest: &RestClient, name: &str) -> Vec<Event> {
    let events: Client<Event> = Client::namespaced(rest.clone(), "default");
    let selector = format!("involvedObject.name={name}");
    events
        .list(&ListOptions::default().field_selector(&selector))
        .await
        .unwrap_or_else(|e| panic!("listing events about {name}: {e}"))
        .items
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recording_twice_makes_one_event_with_count_two() {
    let rest = rest("admin");
    // A real object to talk about: a Lease.
    let leases: Client<Lease> = Client::namespaced(rest.clone(), "default");
    let name = unique("kubegen-e2e-events");
    let lease = leases
        .create(&lease_named(&name), &CreateOptions::default())
        .await
        .unwrap();

    let broadcaster = EventBroadcaster::new();
    broadcaster.start_recording_to_sink(ClientEventSink::new(rest.clone()));
    let recorder = broadcaster.new_recorder(event_source("kubegen-e2e"));
    recorder.event_for(&lease, "Normal", "Synced", "lease synced");
    recorder.event_for(&lease, "Normal", "Synced", "lease synced");
    recorder.event_for(&lease, "Warning", "Stale", "lease looks stale");
    broadcaster.shutdown().await;

    let mut events = events_about(&rest, &name).await;
    events.sort_by(|a, b| a.reason.cmp(&b.reason));
    assert_eq!(events.len(), 2, "one Event per distinct event: {events:#?}");
    let stale = &events[0];
    let synced = &events[1];
    assert_eq!(synced.reason.as_deref(), Some("Synced"));
    assert_eq!(synced.count, Some(2), "the repeat became a count");
    assert_eq!(synced.type_.as_deref(), Some("Normal"));
    assert_eq!(synced.message.as_deref(), Some("lease synced"));
    assert_eq!(synced.source, Some(event_source("kubegen-e2e")));
    assert_eq!(synced.involved_object.kind.as_deref(), Some("Lease"));
    assert_eq!(synced.involved_object.uid, lease.metadata.uid);
    assert!(synced.first_timestamp.is_some() && synced.last_timestamp >= synced.first_timestamp);
    assert_eq!(stale.reason.as_deref(), Some("Stale"));
    assert_eq!(stale.count, Some(1));
    assert_eq!(stale.type_.as_deref(), Some("Warning"));

    let events: Client<Event> = Client::namespaced(rest.clone(), "default");
    for event in events_about(&rest, &name).await {
        let event_name = event.metadata.name.unwrap_or_default();
        events
            .delete(&event_name, &DeleteOptions::default())
            .await
            .unwrap();
    }
    leases
        .delete(&name, &DeleteOptions::default())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_events_do_not_stop_the_recorder() {
    let name = unique("kubegen-e2e-events-limited");
    let broadcaster = EventBroadcaster::new();
    broadcaster.start_recording_to_sink(ClientEventSink::new(rest("limited")));
    let recorder = broadcaster.new_recorder(event_source("kubegen-e2e"));
    let lease = lease_named(&name);
    recorder.event_for(&lease, "Normal", "Synced", "forbidden to write this");
    // A 403 is a server answer: logged and not retried, so shutdown is prompt.
    tokio::time::timeout(std::time::Duration::from_secs(20), broadcaster.shutdown())
        .await
        .expect("shutdown waits only for writes that can succeed");
    assert!(events_about(&rest("admin"), &name).await.is_empty());
}
