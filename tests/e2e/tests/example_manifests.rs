//! `validate()` against the real server on published example manifests:
//! the example and sample objects of two CRD projects, read from their Go
//! modules (fetched through the Go module proxy, as the test cluster's own
//! sources are), with the CRDs of the same module installed. Each object is
//! created with `dryRun=All`; the server's causes (field path and reason)
//! must be exactly `Schema::validate`'s, and an object the server accepts
//! must pass. Metadata (name syntax, labels) is not in a schema and not
//! checked by `validate()`, so the server's `metadata.*` causes are set
//! aside; answers that are not a validation verdict (an existing
//! cluster-scoped name) are counted and not compared.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use kubegen_api::apiextensions::v1::CustomResourceDefinition;
use kubegen_e2e::{
    admin, apply_crd, drop_namespace, eventually, report_verdict, server_verdict, test_namespace,
};
use kubegen_runtime::{Client, DeleteOptions, GetOptions, RestClient};
use kubegen_shared_crds::crd_install::send;
use kubegen_validation::Schema;
use serde::Deserialize as _;
use serde_json::{Value, json};

/// (module, version): versions whose go.mod the machine's Go accepts.
const MODULES: &[(&str, &str)] = &[
    ("sigs.k8s.io/gateway-api", "v1.3.0"),
    (
        "github.com/prometheus-operator/prometheus-operator",
        "v0.85.0",
    ),
];

/// The module's files, from the module cache (downloaded if missing).
fn module_dir(module: &str, version: &str) -> PathBuf {
    let out = std::process::Command::new("go")
        .args(["mod", "download", "-json", &format!("{module}@{version}")])
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "-mod=mod")
        .current_dir(std::env::temp_dir())
        .output()
        .expect("run go mod download");
    let info: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "go mod download {module}@{version}: {e}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    match info["Dir"].as_str() {
        Some(dir) => PathBuf::from(dir),
        None => panic!("go mod download {module}@{version}: {info}"),
    }
}

/// Every YAML document of the module that parses, with its path in the module.
fn documents(dir: &Path) -> Vec<(String, Value)> {
    let files = kubegen::spec::files_under(dir, &["yaml", "yml"])
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
    let mut docs = Vec::new();
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        let name = f.strip_prefix(dir).unwrap().display().to_string();
        for doc in serde_yaml_ng::Deserializer::from_str(&text) {
            if let Ok(v) = Value::deserialize(doc)
                && v.is_object()
            {
                docs.push((name.clone(), v));
            }
        }
    }
    docs
}

/// A served CRD version: its plural, scope and compiled schema.
struct Served {
    crd: String,
    plural: String,
    namespaced: bool,
    schema: Schema,
}

/// Deletes CRD `name` if it is there, and waits until it is gone.
async fn remove_crd(rest: &RestClient, name: &str) {
    let crds = Client::<CustomResourceDefinition>::cluster(rest.clone());
    let _ = crds.delete(name, &DeleteOptions::default()).await;
    eventually(
        Duration::from_secs(60),
        &format!("CRD {name} to be gone"),
        || {
            let crds = crds.clone();
            async move {
                matches!(crds.get(name, &GetOptions::default()).await, Err(e) if e.is_not_found())
            }
        },
    )
    .await;
}

#[derive(Default)]
struct Tally {
    examples: usize,
    compared: usize,
    rejected: usize,
    not_verdicts: Vec<String>,
    disagreements: Vec<String>,
}

#[tokio::test]
async fn validate_agrees_with_the_server_on_published_examples() {
    let rest = admin();
    let ns = test_namespace(&rest, "examples").await;
    let mut tallies = Vec::new();
    for (module, version) in MODULES {
        let docs = documents(&module_dir(module, version));
        // The module's CRDs (the first of a name, in path order), and the
        // examples of the kinds they serve.
        let mut crds: BTreeMap<String, Value> = BTreeMap::new();
        for (_, d) in &docs {
            if d["kind"] == "CustomResourceDefinition"
                && d["apiVersion"] == "apiextensions.k8s.io/v1"
                && let Some(name) = d["metadata"]["name"].as_str()
            {
                crds.entry(name.to_owned()).or_insert_with(|| d.clone());
            }
        }
        let mut served: BTreeMap<(String, String), Served> = BTreeMap::new();
        for (name, crd) in &crds {
            let spec = &crd["spec"];
            for v in spec["versions"].as_array().into_iter().flatten() {
                let (Some(group), Some(kind), Some(version), Some(schema)) = (
                    spec["group"].as_str(),
                    spec["names"]["kind"].as_str(),
                    v["name"].as_str(),
                    v.pointer("/schema/openAPIV3Schema"),
                ) else {
                    continue;
                };
                if v["served"] == false {
                    continue;
                }
                served.insert(
                    (format!("{group}/{version}"), kind.to_owned()),
                    Served {
                        crd: name.clone(),
                        plural: spec["names"]["plural"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        namespaced: spec["scope"] == "Namespaced",
                        schema: Schema::from_value(schema),
                    },
                );
            }
        }
        let examples: Vec<(&String, &Value, &Served)> = docs
            .iter()
            .filter(|(path, _)| path.contains("example") || path.contains("samples"))
            .filter_map(|(path, d)| {
                let key = (
                    d["apiVersion"].as_str()?.to_owned(),
                    d["kind"].as_str()?.to_owned(),
                );
                Some((path, d, served.get(&key)?))
            })
            .collect();
        let needed: BTreeSet<&str> = examples.iter().map(|(_, _, s)| s.crd.as_str()).collect();
        for name in &needed {
            remove_crd(&rest, name).await;
            apply_crd(&rest, name, &crds[*name], "kubegen-e2e-examples").await;
        }

        let mut tally = Tally {
            examples: examples.len(),
            ..Default::default()
        };
        for (path, example, s) in &examples {
            let mut body = (*example).clone();
            let api_version = body["apiVersion"].as_str().unwrap_or_default().to_owned();
            let collection = if s.namespaced {
                body["metadata"]["namespace"] = json!(ns);
                format!("/apis/{api_version}/namespaces/{ns}/{}", s.plural)
            } else {
                format!("/apis/{api_version}/{}", s.plural)
            };
            let what = format!("{path} ({} {})", body["kind"], body["metadata"]["name"]);
            let mut answer = send(
                &rest,
                http::Method::POST,
                &format!("{collection}?dryRun=All"),
                Some(&body),
            )
            .await;
            // A new CRD's handler may lag a moment behind Established.
            for _ in 0..40 {
                match &answer {
                    Err(e) if e.is_not_found() => {
                        tokio::time::sleep(Duration::from_millis(250)).await;
                        answer = send(
                            &rest,
                            http::Method::POST,
                            &format!("{collection}?dryRun=All"),
                            Some(&body),
                        )
                        .await;
                    }
                    _ => break,
                }
            }
            let Some(mut server) = server_verdict(&answer) else {
                tally
                    .not_verdicts
                    .push(format!("{what}: {}", answer.unwrap_err()));
                continue;
            };
            server.retain(|(f, _)| !f.starts_with("metadata."));
            let report = s.schema.validate(&body);
            let ours = report_verdict(&report);
            tally.compared += 1;
            tally.rejected += usize::from(!server.is_empty());
            if server != ours {
                tally.disagreements.push(format!(
                    "{what}: server {server:?}, validate() {ours:?}; server said {}",
                    answer
                        .err()
                        .map(|e| e.to_string())
                        .unwrap_or_else(|| "OK".into())
                ));
            }
        }
        for name in &needed {
            remove_crd(&rest, name).await;
        }
        tallies.push((module, version, tally));
    }
    drop_namespace(&rest, &ns).await;

    let mut disagreements = Vec::new();
    for (module, version, t) in &tallies {
        println!(
            "{module}@{version}: {} example objects of its CRDs; {} compared ({} rejected by the server), {} agree; {} not a validation verdict",
            t.examples,
            t.compared,
            t.rejected,
            t.compared - t.disagreements.len(),
            t.not_verdicts.len()
        );
        for n in &t.not_verdicts {
            println!("  not compared: {n}");
        }
        disagreements.extend(t.disagreements.iter().cloned());
    }
    let compared: usize = tallies.iter().map(|(_, _, t)| t.compared).sum();
    assert!(compared >= 100, "only {compared} example objects compared");
    assert!(
        disagreements.is_empty(),
        "validate() disagrees with the server on {} example(s):\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}
