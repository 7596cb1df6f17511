//! Every schema of every CRD in the shared corpus (`<workspace>/../shared/crds`,
//! read in place): read without a panic, and every CEL rule either compiled
//! by the interpreter or reported for a Kubernetes library it lacks (never
//! for a syntax the server accepted and the parser did not). Prints the
//! coverage the README states.

use std::path::{Path, PathBuf};

use kubegen_validation::Schema;
use serde::Deserialize as _;
use serde_json::Value;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/crds")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(p);
        }
    }
}

fn rules(v: &Value) -> usize {
    match v {
        Value::Object(m) => {
            m.get("x-kubernetes-validations")
                .and_then(Value::as_array)
                .map_or(0, Vec::len)
                + m.iter()
                    .filter(|(k, _)| *k != "x-kubernetes-validations")
                    .map(|(_, v)| rules(v))
                    .sum::<usize>()
        }
        Value::Array(a) => a.iter().map(rules).sum(),
        _ => 0,
    }
}

#[test]
fn every_rule_of_the_shared_corpus_compiles_or_is_reported() {
    let dir = corpus();
    assert!(
        dir.join("MANIFEST.tsv").exists(),
        "the shared CRD corpus is missing at {}",
        dir.display()
    );
    let mut paths = Vec::new();
    files(&dir, &mut paths);
    let (mut schemas, mut total, mut library, mut other) = (0, 0, 0, Vec::new());
    for path in &paths {
        let text = std::fs::read_to_string(path).unwrap();
        for doc in serde_yaml_ng::Deserializer::from_str(&text) {
            let Ok(doc) = Value::deserialize(doc) else {
                continue;
            };
            if doc["kind"] != "CustomResourceDefinition" {
                continue;
            }
            for v in doc["spec"]["versions"].as_array().into_iter().flatten() {
                let Some(schema) = v.pointer("/schema/openAPIV3Schema") else {
                    continue;
                };
                schemas += 1;
                total += rules(schema);
                for u in Schema::from_value(schema).unsupported() {
                    if u.why.contains("Kubernetes' CEL libraries") {
                        library += 1;
                    } else if u.check.starts_with("rule") {
                        other.push(format!(
                            "{}: {} at {}: {}",
                            path.display(),
                            u.check,
                            u.field,
                            u.why
                        ));
                    }
                }
            }
        }
    }
    println!(
        "{schemas} schemas, {total} CEL rules: {} compiled, {library} call a Kubernetes library the interpreter lacks, {} fail to compile",
        total - library - other.len(),
        other.len()
    );
    assert!(
        schemas > 100 && total > 100,
        "the corpus holds too few schemas ({schemas}) or rules ({total})"
    );
    assert!(
        other.is_empty(),
        "rules the server accepts that do not compile:\n{}",
        other.join("\n")
    );
}
