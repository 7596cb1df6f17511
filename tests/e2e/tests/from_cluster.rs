//! `kubegen generate --from-cluster` end to end: the test cluster gets a
//! multi-version CRD of the shared corpus (cluster-api's IPAddress: v1alpha1,
//! v1beta1 and v1beta2 served, v1beta2 stored; read in place from
//! ../shared/crds) and an aggregated API (an APIService for
//! `agg.kubegen.test/v1`, backed by the small server in
//! tests/cluster/cmd/aggregated, which serves discovery, an OpenAPI v3
//! document and a list of its cluster-scoped kind Gizmo). The generator reads
//! the cluster's OpenAPI v3 (the API server merges the aggregated server's
//! document into its own), keeping those two groups; every served version of
//! the CRD gets a module, the storage version's type says it is; and a program of its own on the generated crate
//! lists the aggregated kind through the API server and creates, updates,
//! reads (at another served version) and deletes the custom kind.
//!
//! The program builds in `target/outside-crate`, shared with outside_crate.rs.

use std::io::BufRead as _;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use kubegen_e2e::cluster::env;
use kubegen_e2e::outside::cargo_run;
use kubegen_e2e::{
    admin, apply_crd, drop_namespace, eventually, kubeconfig_path, test_namespace, unique,
};
use kubegen_runtime::RestClient;
use kubegen_shared_crds::crd_install::send;
use serde_json::{Value, json};

const GROUP: &str = "agg.kubegen.test";
const APISERVICE: &str = "v1.agg.kubegen.test";
const CRD_FILE: &str = "cluster-api/core/ipam.cluster.x-k8s.io_ipaddresses.yaml";
const CRD_NAME: &str = "ipaddresses.ipam.cluster.x-k8s.io";

const MAIN_RS: &str = r#"use from_cluster::ipam::{v1beta1, v1beta2};
use kubegen_client::Config;
use kubegen_validation::Validate;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (kubeconfig, namespace) = (args.next().unwrap(), args.next().unwrap());
    let clientset = from_cluster::Clientset::new(Config::from_kubeconfig(&kubeconfig, Some("admin"))?)?;

    // The aggregated kind, through the API server.
    for g in clientset.agg_v1().gizmos().list(&Default::default()).await?.items {
        println!("gizmo {} {}", g.metadata.name.unwrap(), g.spec.unwrap().size);
    }
    let beta = clientset.agg_v1().gizmos().get("beta", &Default::default()).await?;
    println!("got gizmo {}", beta.metadata.name.unwrap());

    // The custom kind: create and update at the storage version, read at another.
    let addresses = clientset.ipam_v1beta2().ip_addresses(&namespace);
    let mut ip = v1beta2::IPAddress::default();
    ip.metadata.name = Some("ip-1".into());
    ip.spec = v1beta2::IPAddressSpec {
        address: "10.0.0.5".into(),
        prefix: 24,
        claim_ref: v1beta2::IPAddressSpecClaimRef { name: "claim-1".into() },
        pool_ref: v1beta2::IPAddressSpecPoolRef {
            api_group: "ipam.cluster.x-k8s.io".into(),
            kind: "InClusterIPPool".into(),
            name: "pool-1".into(),
        },
        gateway: None,
    };
    // The CRD's schema came along: an empty address is refused before sending.
    let mut empty = ip.clone();
    empty.spec.address = "".into();
    println!("validate: {} {}", ip.validate().is_valid(), empty.validate());
    let mut created = addresses.create(&ip, &Default::default()).await?;
    created.spec.gateway = Some("10.0.0.1".into());
    let updated = addresses.update(&created, &Default::default()).await?;
    let old: v1beta1::IPAddress = clientset
        .ipam_v1beta1()
        .ip_addresses(&namespace)
        .get("ip-1", &Default::default())
        .await?;
    let old_spec = old.spec.unwrap();
    println!(
        "ipaddress {} {} {} as {}",
        updated.spec.address,
        updated.spec.gateway.unwrap(),
        old_spec.gateway.unwrap(),
        old.api_version.unwrap()
    );
    addresses.delete("ip-1", &Default::default()).await?;
    println!("deleted");
    Ok(())
}
"#;

/// The aggregated API server process and its APIService; both go when dropped.
struct Aggregated {
    child: Child,
    rest: RestClient,
}

impl Aggregated {
    /// Start the server and register it for `agg.kubegen.test/v1` through an
    /// ExternalName service in `ns` (the API server refuses loopback
    /// endpoints, not a name that resolves to one).
    async fn start(rest: &RestClient, ns: &str) -> Self {
        let pki = kubeconfig_path().parent().unwrap().join("pki");
        let mut child = Command::new(env("AGGREGATED_BIN"))
            .arg(pki.join("apiserver.crt"))
            .arg(pki.join("apiserver.key"))
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the aggregated API server");
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let port: u16 = first.trim().parse().expect("the server prints its port");
        let this = Self {
            child,
            rest: rest.clone(),
        };
        send(
            rest,
            http::Method::POST,
            &format!("/api/v1/namespaces/{ns}/services"),
            Some(&json!({
                "metadata": {"name": "aggregated"},
                "spec": {"type": "ExternalName", "externalName": "localhost", "ports": [{"port": port}]}
            })),
        )
        .await
        .expect("create the service");
        send(
            rest,
            http::Method::POST,
            "/apis/apiregistration.k8s.io/v1/apiservices",
            Some(&json!({
                "metadata": {"name": APISERVICE},
                "spec": {
                    "group": GROUP, "version": "v1",
                    "service": {"namespace": ns, "name": "aggregated", "port": port},
                    "insecureSkipTLSVerify": true,
                    "groupPriorityMinimum": 1000, "versionPriority": 15
                }
            })),
        )
        .await
        .expect("create the APIService");
        this
    }
}

impl Drop for Aggregated {
    fn drop(&mut self) {
        let rest = self.rest.clone();
        // Drop runs inside the test's runtime: delete from a thread of its own.
        let _ = std::thread::spawn(move || {
            tokio::runtime::Runtime::new().unwrap().block_on(async {
                let path = format!("/apis/apiregistration.k8s.io/v1/apiservices/{APISERVICE}");
                let _ = send(&rest, http::Method::DELETE, &path, None).await;
            })
        })
        .join();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether the APIService's `Available` condition is true.
async fn available(rest: &RestClient) -> bool {
    let path = format!("/apis/apiregistration.k8s.io/v1/apiservices/{APISERVICE}");
    send(rest, http::Method::GET, &path, None)
        .await
        .is_ok_and(|s| {
            s.pointer("/status/conditions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Available" && c["status"] == "True")
        })
}

/// Whether the cluster's OpenAPI v3 discovery lists `path`.
async fn openapi_lists(rest: &RestClient, path: &str) -> bool {
    send(rest, http::Method::GET, "/openapi/v3", None)
        .await
        .is_ok_and(|d| d["paths"].get(path).is_some())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crate_generated_from_the_cluster_reaches_its_crds_and_aggregated_apis() {
    let rest = admin();
    let ns = test_namespace(&rest, "from-cluster").await;
    let aggregated = Aggregated::start(&rest, &ns).await;
    let crd: Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(kubegen_shared_crds::shared_crds_dir().join(CRD_FILE)).unwrap(),
    )
    .unwrap();
    apply_crd(&rest, CRD_NAME, &crd, "kubegen-e2e-from-cluster").await;
    // The aggregator proxies to an APIService only once it is Available.
    eventually(
        Duration::from_secs(60),
        "the APIService Available, it and the CRD in /openapi/v3",
        || {
            let rest = rest.clone();
            async move {
                available(&rest).await
                    && openapi_lists(&rest, "apis/agg.kubegen.test/v1").await
                    && openapi_lists(&rest, "apis/ipam.cluster.x-k8s.io/v1beta2").await
            }
        },
    )
    .await;

    let home = std::env::temp_dir().join(unique("kubegen-from-cluster"));
    let (generated, app) = (home.join("from-cluster"), home.join("app"));
    let options = kubegen::GenerateOptions {
        from_cluster: Some(kubegen::spec::ClusterSource {
            kubeconfig: Some(kubeconfig_path()),
            context: Some("admin".into()),
        }),
        groups: vec![GROUP.into(), "ipam.cluster.x-k8s.io".into()],
        out: generated.clone(),
        crate_name: Some("from-cluster".into()),
        kubegen_path: kubegen::built_from_checkout(),
        progress: false,
        ..Default::default()
    };
    // The generator runs a runtime of its own to read the cluster.
    let report = std::thread::spawn(move || kubegen::generate(&options))
        .join()
        .unwrap()
        .unwrap_or_else(|e| panic!("generate --from-cluster: {e}"));
    // Every served version of the CRD, and the aggregated group.
    for module in ["agg/v1", "ipam/v1alpha1", "ipam/v1beta1", "ipam/v1beta2"] {
        assert!(
            generated.join("src").join(module).join("mod.rs").exists(),
            "no module {module}"
        );
    }
    assert_eq!((report.resources, report.modules), (4, 4));
    // OpenAPI does not say which version is stored; the cluster's CRDs do.
    let stored = |v: &str| {
        std::fs::read_to_string(generated.join(format!("src/ipam/{v}/ip_address.rs")))
            .unwrap()
            .contains("The storage version")
    };
    assert_eq!(
        (stored("v1alpha1"), stored("v1beta1"), stored("v1beta2")),
        (false, false, true)
    );

    let run = cargo_run(
        &app,
        r#"from-cluster = { path = "../from-cluster", features = ["ipam_v1beta1", "ipam_v1beta2"] }"#,
        MAIN_RS,
        &[kubeconfig_path().as_os_str(), ns.as_ref()],
    );
    drop(aggregated);
    drop_namespace(&rest, &ns).await;
    let _ = std::fs::remove_dir_all(&home);
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert!(
        run.status.success(),
        "cargo run failed:\n{stderr}\n{stdout}"
    );
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        [
            "gizmo alpha 1",
            "gizmo beta 2",
            "gizmo gamma 3",
            "got gizmo beta",
            "validate: true spec.address: Invalid value: \"\": spec.address in body should be at least 1 chars long",
            "ipaddress 10.0.0.5 10.0.0.1 10.0.0.1 as ipam.cluster.x-k8s.io/v1beta1",
            "deleted",
        ],
        "{stderr}"
    );
    // The APIService is gone with the test (other tests' discovery stays whole).
    let gone = send(
        &rest,
        http::Method::GET,
        &format!("/apis/apiregistration.k8s.io/v1/apiservices/{APISERVICE}"),
        None,
    )
    .await;
    assert!(gone.is_err_and(|e| e.is_not_found()));
}
