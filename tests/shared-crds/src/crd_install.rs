//! Installing a chosen CRD into the test cluster (through kubegen-api's typed
//! client), and raw JSON requests for the custom objects.

use std::time::Duration;

use bytes::Bytes;
use kubegen_api::apiextensions::v1::CustomResourceDefinition;
use kubegen_runtime::{Client, CreateOptions, DeleteOptions, GetOptions, RestClient};
use serde::Deserialize;
use serde_json::Value;

use crate::Chosen;

/// Sends a JSON request and decodes the JSON answer (raw, so nothing typed
/// shapes what the server sees or says).
pub async fn send(
    rest: &RestClient,
    method: http::Method,
    path: &str,
    body: Option<&Value>,
) -> kubegen_runtime::Result<Value> {
    let req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("Accept", "application/json")
        .header("Content-Type", "application/json")
        .body(
            body.map(|b| Bytes::from(serde_json::to_vec(b).expect("JSON encodes")))
                .unwrap_or_default(),
        )
        .expect("a valid request");
    rest.request::<Value>(req).await
}

/// The CRD document of `c.kind` in its file (a file may hold several).
pub fn crd_document(c: &Chosen) -> Result<Value, String> {
    let path = crate::shared_crds_dir().join(c.file);
    let text =
        std::fs::read_to_string(&path).map_err(|e| format!("read {}: {e}", path.display()))?;
    for doc in serde_yaml_ng::Deserializer::from_str(&text) {
        let v = serde_json::to_value(
            serde_yaml_ng::Value::deserialize(doc)
                .map_err(|e| format!("{}: {e}", path.display()))?,
        )
        .map_err(|e| format!("{}: {e}", path.display()))?;
        if v.pointer("/spec/names/kind").and_then(Value::as_str) == Some(c.kind) {
            return Ok(v);
        }
    }
    Err(format!(
        "{} holds no CRD of kind {}",
        path.display(),
        c.kind
    ))
}

/// Creates the CRD unless it exists; true when this call created it.
pub async fn install(rest: &RestClient, crd: &Value) -> Result<bool, String> {
    let mut crd: CustomResourceDefinition = serde_json::from_value(crd.clone())
        .map_err(|e| format!("the CRD does not decode into CustomResourceDefinition: {e}"))?;
    crd.status = None;
    let name = crd.metadata.name.clone().ok_or("the CRD has no name")?;
    let crds = Client::<CustomResourceDefinition>::cluster(rest.clone());
    // A CRD an earlier test deleted may still be terminating: wait until it is
    // gone and create it again, or its objects would be refused.
    let mut created = None;
    for _ in 0..240 {
        match crds.create(&crd, &CreateOptions::default()).await {
            Ok(_) => created = Some(true),
            Err(e) if e.is_already_exists() => {
                match crds.get(&name, &GetOptions::default()).await {
                    Ok(existing) if existing.metadata.deletion_timestamp.is_some() => {}
                    Ok(_) => created = Some(false),
                    Err(e) if e.is_not_found() => {}
                    Err(e) => return Err(format!("get CRD {name}: {e}")),
                }
            }
            Err(e) => return Err(format!("the server refused CRD {name}: {e}")),
        }
        if created.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let created = created.ok_or(format!("CRD {name} was still terminating after 60 s"))?;
    for _ in 0..240 {
        let got = crds
            .get(&name, &GetOptions::default())
            .await
            .map_err(|e| format!("get CRD {name}: {e}"))?;
        let established = got.status.as_ref().is_some_and(|s| {
            s.conditions
                .iter()
                .flatten()
                .any(|c| c.type_ == "Established" && c.status == "True")
        });
        if established {
            return Ok(created);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Err(format!("CRD {name} was not Established within 60 s"))
}

/// Deletes the CRD (and so every object of it).
pub async fn uninstall(rest: &RestClient, crd: &Value) {
    if let Some(name) = crd["metadata"]["name"].as_str() {
        let crds = Client::<CustomResourceDefinition>::cluster(rest.clone());
        let _ = crds.delete(name, &DeleteOptions::default()).await;
    }
}
