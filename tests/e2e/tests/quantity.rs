//! `Quantity::canonical` against the real API server: quantities written
//! into a ResourceQuota come back in the server's canonical form, which must
//! be the one kubegen computes (after the milli rounding the server applies
//! to every core/v1 resource list, `round_up(-3)`).

use kubegen_api::core::v1::{ResourceQuota, ResourceQuotaSpec};
use kubegen_e2e::{admin, drop_namespace, test_namespace};
use kubegen_runtime::meta::{ObjectMeta, Quantity};
use kubegen_runtime::{Client, CreateOptions, SortedMap};

/// Quota keys whose values may be any non-negative quantity.
const KEYS: [&str; 7] = [
    "requests.cpu",
    "limits.cpu",
    "requests.memory",
    "limits.memory",
    "requests.storage",
    "requests.ephemeral-storage",
    "limits.ephemeral-storage",
];

const INPUTS: &[&str] = &[
    "0", "1", "1.5", "1.5Gi", "1000m", "1001m", "0.1", "0.1m", "0.1n", "1n", "1u", "1000", "1024",
    "1Ki", "1024Ki", "1025Ki", "0.5Ki", "0.5Mi", "1.1Ki", "1E", "1e3", "1E3", "1e-3", "1.5e3",
    "100e-3", "12e6", "1000e0", ".5", "5.", "007", "2048Mi", "3Gi", "129e6", "250M", "0.25", "+1",
    "1.5Mi", "0.001", "3e-2", "7Ti", "1.0", "10Ki", "4096", "1500k", "2.5E2",
];

#[tokio::test]
async fn the_server_canonicalizes_quantities_as_kubegen_does() {
    let rest = admin();
    let ns = test_namespace(&rest, "quantity").await;
    let quotas = Client::<ResourceQuota>::namespaced(rest.clone(), &ns);
    let mut compared = 0;
    for (n, chunk) in INPUTS.chunks(KEYS.len()).enumerate() {
        let hard: SortedMap<_, _> = KEYS
            .iter()
            .zip(chunk)
            .map(|(k, v)| ((*k).into(), Quantity((*v).into())))
            .collect();
        let quota = ResourceQuota {
            metadata: ObjectMeta {
                name: Some(format!("q{n}").into()),
                ..Default::default()
            },
            spec: Some(ResourceQuotaSpec {
                hard: Some(hard),
                ..Default::default()
            }),
            ..Default::default()
        };
        let stored = quotas
            .create(&quota, &CreateOptions::default())
            .await
            .unwrap();
        let back = stored.spec.unwrap().hard.unwrap();
        for (key, input) in KEYS.iter().zip(chunk) {
            let server = &back[*key];
            let ours = Quantity((*input).into()).round_up(-3).unwrap();
            assert_eq!(&ours, server, "{input}");
            // What the server answers is canonical already.
            assert_eq!(&server.canonical().unwrap(), server);
            compared += 1;
        }
    }
    assert_eq!(compared, INPUTS.len());
    drop_namespace(&rest, &ns).await;
}
