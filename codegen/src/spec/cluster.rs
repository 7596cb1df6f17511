//! Reading the OpenAPI documents a live cluster serves, so aggregated APIs
//! and installed CRDs come along.
//!
//! `/openapi/v3` lists one document per group/version; each is fetched and
//! read like a file. A server without it (404) is read through `/openapi/v2`
//! instead. OpenAPI does not say which version of a CRD is stored, so the
//! cluster's CRDs are listed for that (a user who may not list them gets no
//! storage marks, nothing else changes). Connection, kubeconfig and auth are
//! kubegen-runtime's, the same as any client of the generated crate uses.
//! Behind the `cluster` feature (on by default), so a generator built without
//! it needs no HTTP stack.

use std::path::PathBuf;

use bytes::Bytes;
use serde_json::Value;

use super::{ClusterInputs, ClusterSource, OpenApiDoc};
use crate::error::{Error, Result};

fn cluster_err(step: &str, e: impl std::fmt::Display) -> Error {
    Error::Cluster {
        step: step.to_owned(),
        message: e.to_string(),
    }
}

async fn config(src: &ClusterSource) -> Result<kubegen_client::Config> {
    use kubegen_client::Config;
    let cfg = match &src.kubeconfig {
        Some(path) => Config::from_kubeconfig(path, src.context.as_deref()),
        None => Config::infer_context(src.context.as_deref()).await,
    };
    cfg.map_err(|e| cluster_err("loading the kubeconfig", e))
}

async fn get_json(
    rest: &kubegen_client::RestClient,
    path: &str,
) -> std::result::Result<Value, kubegen_core::Error> {
    let req = http::Request::get(path)
        .header("Accept", "application/json")
        .body(Bytes::new())
        .map_err(|e| kubegen_core::Error::Config(format!("bad request path {path}: {e}")))?;
    rest.request::<Value>(req).await
}

/// Whether an `/openapi/v3` entry is a group/version document
/// (`api/v1`, `apis/apps/v1`), not a group or discovery index.
fn is_group_version(path: &str) -> bool {
    let segs: Vec<&str> = path.split('/').collect();
    matches!(segs.as_slice(), ["api", _] | ["apis", _, _])
}

/// Reads the cluster's OpenAPI documents and its CRDs' versions.
pub async fn fetch(src: &ClusterSource) -> Result<ClusterInputs> {
    let cfg = config(src).await?;
    let rest = kubegen_client::RestClient::new(cfg).map_err(|e| cluster_err("connecting", e))?;
    let docs = fetch_docs(&rest).await?;
    let crd_versions = match get_json(
        &rest,
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
    )
    .await
    {
        Ok(list) => crd_versions(&list),
        Err(_) => Default::default(),
    };
    Ok(ClusterInputs { docs, crd_versions })
}

fn crd_versions(
    list: &Value,
) -> std::collections::BTreeMap<(String, String, String), super::ClusterCrdVersion> {
    let mut out = std::collections::BTreeMap::new();
    for crd in list
        .get("items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(spec) = crd.get("spec") else {
            continue;
        };
        let (Some(group), Some(kind)) = (
            spec.get("group").and_then(Value::as_str),
            spec.pointer("/names/kind").and_then(Value::as_str),
        ) else {
            continue;
        };
        for v in spec
            .get("versions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(name) = v.get("name").and_then(Value::as_str) else {
                continue;
            };
            out.insert(
                (group.to_owned(), name.to_owned(), kind.to_owned()),
                super::ClusterCrdVersion {
                    storage: v.get("storage") == Some(&Value::Bool(true)),
                    schema: v.pointer("/schema/openAPIV3Schema").cloned(),
                },
            );
        }
    }
    out
}

/// The cluster's OpenAPI documents. Each document's `source` is the URL it
/// came from, so errors name it.
async fn fetch_docs(rest: &kubegen_client::RestClient) -> Result<Vec<OpenApiDoc>> {
    let base = rest.base_url().to_string();
    let base = base.trim_end_matches('/');
    match get_json(rest, "/openapi/v3").await {
        Ok(index) => {
            let Some(paths) = index.get("paths").and_then(Value::as_object) else {
                return Err(cluster_err(
                    "reading /openapi/v3",
                    "the index has no \"paths\" object",
                ));
            };
            let mut docs = Vec::new();
            // The index is a JSON object, so paths come sorted.
            for (path, entry) in paths.iter().filter(|(p, _)| is_group_version(p)) {
                let url = entry
                    .get("serverRelativeURL")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("/openapi/v3/{path}"));
                let doc = get_json(rest, &url)
                    .await
                    .map_err(|e| cluster_err(&format!("fetching {url}"), e))?;
                docs.push(OpenApiDoc::from_value(
                    &PathBuf::from(format!("{base}/openapi/v3/{path}")),
                    doc,
                )?);
            }
            Ok(docs)
        }
        Err(e) if e.is_not_found() => {
            let doc = get_json(rest, "/openapi/v2")
                .await
                .map_err(|e| cluster_err("fetching /openapi/v2", e))?;
            Ok(vec![OpenApiDoc::from_value(
                &PathBuf::from(format!("{base}/openapi/v2")),
                doc,
            )?])
        }
        Err(e) => Err(cluster_err("fetching /openapi/v3", e)),
    }
}

/// [`fetch`] on a private single-threaded runtime, for callers that are not
/// async (the CLI).
pub fn fetch_blocking(src: &ClusterSource) -> Result<ClusterInputs> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| cluster_err("starting the I/O runtime", e))?;
    rt.block_on(fetch(src))
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_group_version_documents_are_read() {
        assert!(super::is_group_version("api/v1"));
        assert!(super::is_group_version("apis/apps/v1"));
        assert!(!super::is_group_version("apis/apps"));
        assert!(!super::is_group_version("apis"));
        assert!(!super::is_group_version(".well-known/openid-configuration"));
        assert!(!super::is_group_version("version"));
    }

    #[test]
    fn storage_versions_and_schemas_come_from_the_crd_list() {
        let schema = serde_json::json!({"type": "object"});
        let list = serde_json::json!({"items": [
            {"spec": {"group": "g.io", "names": {"kind": "A"}, "versions": [
                {"name": "v1", "storage": false},
                {"name": "v2", "storage": true, "schema": {"openAPIV3Schema": schema}}]}},
            {"spec": {"group": "g.io", "names": {"kind": "Broken"}}},
            {"not": "a crd"}
        ]});
        let got: Vec<_> = super::crd_versions(&list)
            .into_iter()
            .map(|((g, v, k), c)| (g, v, k, c.storage, c.schema))
            .collect();
        let a = |v: &str, storage, schema| {
            (
                "g.io".to_owned(),
                v.to_owned(),
                "A".to_owned(),
                storage,
                schema,
            )
        };
        assert_eq!(
            got,
            [a("v1", false, None), a("v2", true, Some(schema.clone()))]
        );
    }

    #[test]
    fn a_failed_fetch_is_a_cluster_error_naming_its_step() {
        let src = super::ClusterSource {
            kubeconfig: Some("/nonexistent/kubegen/kubeconfig".into()),
            context: Some("prod".into()),
        };
        match super::fetch_blocking(&src) {
            Err(crate::Error::Cluster { step, message }) => {
                assert_eq!(step, "loading the kubeconfig");
                assert!(
                    message.contains("/nonexistent/kubegen/kubeconfig"),
                    "{message}"
                );
            }
            other => panic!("{:?}", other.map(|d| d.docs.len())),
        }
    }
}
