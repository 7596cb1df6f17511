//! Installing a chosen CRD into the test cluster, over raw JSON requests.

use std::time::Duration;

use bytes::Bytes;
use kubegen_runtime::RestClient;
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

/// The CRD collection.
pub const CRDS: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

/// Creates the CRD unless it exists; true when this call created it.
pub async fn install(rest: &RestClient, crd: &Value) -> Result<bool, String> {
    let name = crd["metadata"]["name"]
        .as_str()
        .ok_or("the CRD has no name")?
        .to_owned();
    let mut body = crd.clone();
    if let Some(m) = body.as_object_mut() {
        m.remove("status");
    }
    // A CRD an earlier test deleted may still be terminating: wait until it is
    // gone and create it again, or its objects would be refused.
    let mut created = None;
    for _ in 0..240 {
        match send(rest, http::Method::POST, CRDS, Some(&body)).await {
            Ok(_) => created = Some(true),
            Err(e) if e.is_already_exists() => {
                let got = send(rest, http::Method::GET, &format!("{CRDS}/{name}"), None).await;
                match got {
                    Ok(existing) if existing.pointer("/metadata/deletionTimestamp").is_some() => {}
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
        let got = send(rest, http::Method::GET, &format!("{CRDS}/{name}"), None)
            .await
            .map_err(|e| format!("get CRD {name}: {e}"))?;
        let established = got
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .is_some_and(|cs| {
                cs.iter()
                    .any(|c| c["type"] == "Established" && c["status"] == "True")
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
        let _ = send(rest, http::Method::DELETE, &format!("{CRDS}/{name}"), None).await;
    }
}
