//! Which groups, versions and resources the server serves (client-go's
//! `discovery`), and a [`RestMapper`] between kinds and resources.
//!
//! [`Discovery::run`] first asks for aggregated discovery
//! (`apidiscovery.k8s.io/v2`, then `v2beta1`: one request each for `/api` and
//! `/apis`). A server that answers with the legacy documents instead
//! (`APIVersions`, `APIGroupList`) is read the legacy way, one
//! `APIResourceList` per group/version. The result is cached until
//! [`Discovery::invalidate`]. Subresources (`pods/status`) are listed on their
//! parent, not as resources of their own.

use std::collections::BTreeMap;
use std::sync::Arc;

use http::Method;
use serde::Deserialize;
use tokio::sync::RwLock;

use crate::RestClient;
use kubegen_core::error::{Error, Result};
use kubegen_core::resource::{ApiResource, Scope};

const AGGREGATED_ACCEPT: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,\
application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

/// What `GET /version` says (apimachinery's `version.Info`). Fields the
/// server leaves out are empty.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ServerVersion {
    /// Major version, e.g. `"1"`.
    pub major: String,
    /// Minor version, e.g. `"37"` (some distributions add a `+`).
    pub minor: String,
    /// The major version the server emulates, when it emulates an older one.
    pub emulation_major: String,
    /// The minor version the server emulates.
    pub emulation_minor: String,
    /// The oldest major version the server stays compatible with.
    pub min_compatibility_major: String,
    /// The oldest minor version the server stays compatible with.
    pub min_compatibility_minor: String,
    /// The full version, e.g. `"v1.37.2"`.
    pub git_version: String,
    /// The commit built.
    pub git_commit: String,
    /// `"clean"` or `"dirty"`.
    pub git_tree_state: String,
    /// When it was built (RFC 3339).
    pub build_date: String,
    /// The Go release it was built with.
    pub go_version: String,
    /// The Go compiler, e.g. `"gc"`.
    pub compiler: String,
    /// `os/arch`, e.g. `"linux/amd64"`.
    pub platform: String,
}

/// One API group with its versions, preferred first.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiGroup {
    /// Group name; empty for the core group.
    pub name: String,
    /// Versions in the server's order of preference.
    pub versions: Vec<ApiGroupVersion>,
}

impl ApiGroup {
    /// The server's preferred version.
    pub fn preferred_version(&self) -> Option<&ApiGroupVersion> {
        self.versions.first()
    }
}

/// One version of a group and its resources.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiGroupVersion {
    /// Version, e.g. `v1`.
    pub version: String,
    /// Resources served at this version.
    pub resources: Vec<DiscoveredResource>,
}

/// A resource as discovery describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct DiscoveredResource {
    /// Location and kind.
    pub resource: ApiResource,
    /// Verbs the server supports (`get`, `list`, `watch`, ...).
    pub verbs: Vec<String>,
    /// Short names (`po`, `deploy`).
    pub short_names: Vec<String>,
    /// The singular name (`pod`); the lowercased kind when the server gives none.
    pub singular: String,
    /// Categories it belongs to (`all`, ...).
    pub categories: Vec<String>,
    /// Subresources (`status`, `scale`, `log`, ...).
    pub subresources: Vec<String>,
}

impl DiscoveredResource {
    /// Whether the server supports `verb` on it.
    pub fn supports(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }
}

/// A cached discovery client.
#[derive(Clone, Debug)]
pub struct Discovery {
    rest: RestClient,
    /// The groups and their mapper, built once per fetch.
    cache: Arc<RwLock<Option<Cached>>>,
}

#[derive(Clone, Debug)]
struct Cached {
    groups: Arc<Vec<ApiGroup>>,
    mapper: Arc<RestMapper>,
}

impl Discovery {
    /// A discovery client over `rest`; nothing is fetched until [`Self::run`].
    pub fn new(rest: RestClient) -> Self {
        Self {
            rest,
            cache: Arc::new(RwLock::new(None)),
        }
    }

    /// Every group the server serves (cached after the first call).
    pub async fn run(&self) -> Result<Arc<Vec<ApiGroup>>> {
        Ok(self.cached().await?.groups)
    }

    async fn cached(&self) -> Result<Cached> {
        if let Some(c) = self.cache.read().await.as_ref() {
            return Ok(c.clone());
        }
        let mut cache = self.cache.write().await;
        if let Some(c) = cache.as_ref() {
            return Ok(c.clone());
        }
        let groups = self.fetch().await?;
        let c = Cached {
            mapper: Arc::new(RestMapper::new(&groups)),
            groups: Arc::new(groups),
        };
        *cache = Some(c.clone());
        Ok(c)
    }

    /// Forget the cached result; the next `run` asks the server again.
    pub async fn invalidate(&self) {
        *self.cache.write().await = None;
    }

    /// The server's build and version (`GET /version`, client-go's
    /// `ServerVersion`); never cached.
    pub async fn server_version(&self) -> Result<ServerVersion> {
        self.rest.request(get("/version")?).await
    }

    /// The OpenAPI v3 documents the server publishes, one per group/version
    /// (`GET /openapi/v3`, client-go's `openapi3` client): each path
    /// (`api/v1`, `apis/apps/v1`) with the URL to fetch it from, which
    /// carries the document's hash. Never cached.
    pub async fn openapi_v3_paths(&self) -> Result<BTreeMap<String, String>> {
        #[derive(Deserialize)]
        struct Paths {
            #[serde(default)]
            paths: BTreeMap<String, PathEntry>,
        }
        #[derive(Deserialize)]
        struct PathEntry {
            #[serde(rename = "serverRelativeURL")]
            server_relative_url: String,
        }
        let paths: Paths = self.rest.request(get("/openapi/v3")?).await?;
        Ok(paths
            .paths
            .into_iter()
            .map(|(path, entry)| (path, entry.server_relative_url))
            .collect())
    }

    /// The OpenAPI v3 document of one group/version path from
    /// [`openapi_v3_paths`](Self::openapi_v3_paths), e.g. `apis/apps/v1`.
    pub async fn openapi_v3(&self, path: &str) -> Result<serde_json::Value> {
        let paths = self.openapi_v3_paths().await?;
        let url = paths.get(path.trim_matches('/')).ok_or_else(|| {
            Error::InvalidRequest(format!(
                "the server publishes no OpenAPI v3 document for {path:?}"
            ))
        })?;
        self.rest.request(get(url)?).await
    }

    /// A REST mapper over the (cached) discovery result, built once per fetch.
    pub async fn rest_mapper(&self) -> Result<Arc<RestMapper>> {
        Ok(self.cached().await?.mapper)
    }

    /// The resource `arg` names ([`RestMapper::resolve`]); when the cached
    /// discovery does not know it (a CRD installed since), the server is
    /// asked once more, as client-go's `DeferredDiscoveryRESTMapper` does.
    pub async fn resolve(&self, arg: &str) -> Result<DiscoveredResource> {
        if let Some(found) = self.rest_mapper().await?.resolve(arg) {
            return Ok(found.clone());
        }
        self.invalidate().await;
        self.rest_mapper()
            .await?
            .resolve(arg)
            .cloned()
            .ok_or_else(|| {
                Error::InvalidRequest(format!("the server has no resource type {arg:?}"))
            })
    }

    async fn fetch(&self) -> Result<Vec<ApiGroup>> {
        let mut groups = Vec::new();
        for root in ["/api", "/apis"] {
            let req = http::Request::builder()
                .method(Method::GET)
                .uri(root)
                .header(http::header::ACCEPT, AGGREGATED_ACCEPT)
                .body(bytes::Bytes::new())
                .map_err(|e| Error::InvalidRequest(format!("GET {root}: {e}")))?;
            let v: serde_json::Value = self.rest.request(req).await?;
            match v.get("kind").and_then(|k| k.as_str()) {
                Some("APIGroupDiscoveryList") => groups.extend(parse_aggregated(root, v)?),
                Some("APIVersions") => groups.push(self.legacy_core(v).await?),
                Some("APIGroupList") => groups.extend(self.legacy_groups(v).await?),
                other => {
                    return Err(Error::Decode {
                        request: format!("GET {root}"),
                        path: "kind".into(),
                        message: format!("unexpected discovery document kind {other:?}"),
                    });
                }
            }
        }
        Ok(groups)
    }

    async fn legacy_core(&self, v: serde_json::Value) -> Result<ApiGroup> {
        let doc: LegacyVersions = from_value("GET /api", v)?;
        let mut versions = Vec::new();
        for ver in doc.versions {
            versions.push(self.legacy_resources("", &ver).await?);
        }
        Ok(ApiGroup {
            name: String::new(),
            versions,
        })
    }

    async fn legacy_groups(&self, v: serde_json::Value) -> Result<Vec<ApiGroup>> {
        let doc: LegacyGroupList = from_value("GET /apis", v)?;
        let mut out = Vec::new();
        for g in doc.groups {
            let mut names: Vec<String> = g.versions.iter().map(|v| v.version.clone()).collect();
            if let Some(p) = &g.preferred_version
                && let Some(i) = names.iter().position(|n| *n == p.version)
            {
                let pv = names.remove(i);
                names.insert(0, pv);
            }
            let mut versions = Vec::new();
            for ver in names {
                versions.push(self.legacy_resources(&g.name, &ver).await?);
            }
            out.push(ApiGroup {
                name: g.name,
                versions,
            });
        }
        Ok(out)
    }

    async fn legacy_resources(&self, group: &str, version: &str) -> Result<ApiGroupVersion> {
        let path = if group.is_empty() {
            format!("/api/{version}")
        } else {
            format!("/apis/{group}/{version}")
        };
        let list: LegacyResourceList = self.rest.request(get(&path)?).await?;
        let mut resources: Vec<DiscoveredResource> = Vec::new();
        let mut subs: Vec<(String, String)> = Vec::new();
        for r in list.resources {
            if let Some((parent, sub)) = r.name.split_once('/') {
                subs.push((parent.to_owned(), sub.to_owned()));
                continue;
            }
            resources.push(DiscoveredResource {
                singular: singular_or_kind(r.singular_name, &r.kind),
                resource: ApiResource {
                    group: r.group.unwrap_or_else(|| group.to_owned()),
                    version: r.version.unwrap_or_else(|| version.to_owned()),
                    kind: r.kind,
                    plural: r.name,
                    scope: if r.namespaced {
                        Scope::Namespaced
                    } else {
                        Scope::Cluster
                    },
                },
                verbs: r.verbs,
                short_names: r.short_names,
                categories: r.categories,
                subresources: Vec::new(),
            });
        }
        for (parent, sub) in subs {
            if let Some(p) = resources.iter_mut().find(|r| r.resource.plural == parent) {
                p.subresources.push(sub);
            }
        }
        Ok(ApiGroupVersion {
            version: version.to_owned(),
            resources,
        })
    }
}

/// A `GET` of `path` (relative to the server) without a body.
fn get(path: &str) -> Result<http::Request<bytes::Bytes>> {
    http::Request::get(path)
        .body(bytes::Bytes::new())
        .map_err(|e| Error::InvalidRequest(format!("GET {path}: {e}")))
}

fn from_value<T: serde::de::DeserializeOwned>(what: &str, v: serde_json::Value) -> Result<T> {
    serde_path_to_error::deserialize(v).map_err(|e| Error::decode(what, e))
}

fn parse_aggregated(root: &str, v: serde_json::Value) -> Result<Vec<ApiGroup>> {
    let doc: AggregatedList = from_value(&format!("GET {root}"), v)?;
    let mut out = Vec::new();
    for g in doc.items {
        let name = g.metadata.name.unwrap_or_default().to_string();
        let mut versions = Vec::new();
        for v in g.versions {
            let resources = v
                .resources
                .into_iter()
                .map(|r| {
                    let (group, version, kind) = match r.response_kind {
                        Some(rk) => (
                            rk.group.unwrap_or_else(|| name.clone()),
                            rk.version.unwrap_or_else(|| v.version.clone()),
                            rk.kind.unwrap_or_default(),
                        ),
                        None => (name.clone(), v.version.clone(), String::new()),
                    };
                    // Group and version of the responseKind may differ from the
                    // URL's (e.g. autoscaling Scale); the URL location is what a client needs.
                    let _ = (group, version);
                    DiscoveredResource {
                        singular: singular_or_kind(r.singular_resource, &kind),
                        resource: ApiResource {
                            group: name.clone(),
                            version: v.version.clone(),
                            kind,
                            plural: r.resource,
                            scope: if r.scope == "Cluster" {
                                Scope::Cluster
                            } else {
                                Scope::Namespaced
                            },
                        },
                        verbs: r.verbs,
                        short_names: r.short_names,
                        categories: r.categories,
                        subresources: r.subresources.into_iter().map(|s| s.subresource).collect(),
                    }
                })
                .collect();
            versions.push(ApiGroupVersion {
                version: v.version,
                resources,
            });
        }
        out.push(ApiGroup { name, versions });
    }
    Ok(out)
}

#[derive(Deserialize)]
struct AggregatedList {
    #[serde(default)]
    items: Vec<AggregatedGroup>,
}

#[derive(Deserialize)]
struct AggregatedGroup {
    #[serde(default)]
    metadata: kubegen_core::meta::ObjectMeta,
    #[serde(default)]
    versions: Vec<AggregatedVersion>,
}

#[derive(Deserialize)]
struct AggregatedVersion {
    version: String,
    #[serde(default)]
    resources: Vec<AggregatedResource>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AggregatedResource {
    resource: String,
    #[serde(default)]
    response_kind: Option<Gvk>,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    verbs: Vec<String>,
    #[serde(default)]
    short_names: Vec<String>,
    #[serde(default)]
    singular_resource: String,
    #[serde(default)]
    categories: Vec<String>,
    #[serde(default)]
    subresources: Vec<AggregatedSubresource>,
}

#[derive(Deserialize)]
struct AggregatedSubresource {
    subresource: String,
}

#[derive(Deserialize)]
struct Gvk {
    #[serde(default)]
    group: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct LegacyVersions {
    #[serde(default)]
    versions: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LegacyGroupList {
    #[serde(default)]
    groups: Vec<LegacyGroup>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LegacyGroup {
    name: String,
    #[serde(default)]
    versions: Vec<LegacyGv>,
    #[serde(default)]
    preferred_version: Option<LegacyGv>,
}

#[derive(Deserialize)]
struct LegacyGv {
    version: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LegacyResourceList {
    #[serde(default)]
    resources: Vec<LegacyResource>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LegacyResource {
    name: String,
    #[serde(default)]
    namespaced: bool,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    group: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    verbs: Vec<String>,
    #[serde(default)]
    short_names: Vec<String>,
    #[serde(default)]
    singular_name: String,
    #[serde(default)]
    categories: Vec<String>,
}

/// The server's singular name, or the lowercased kind as client-go guesses
/// it for servers that leave it out.
fn singular_or_kind(singular: String, kind: &str) -> String {
    if singular.is_empty() {
        kind.to_lowercase()
    } else {
        singular
    }
}

/// Maps kinds to resources and back (client-go's `meta.RESTMapper`), with
/// the server's preferred versions.
#[derive(Clone, Debug, Default)]
pub struct RestMapper {
    /// (group, version, kind) -> resource
    by_gvk: BTreeMap<(String, String, String), DiscoveredResource>,
    /// (group, version, plural) -> resource
    by_gvr: BTreeMap<(String, String, String), DiscoveredResource>,
    /// group -> versions, preferred first
    versions: BTreeMap<String, Vec<String>>,
    /// Each resource once, at the most preferred version serving it, groups
    /// in the server's order: what names and categories resolve against.
    preferred: Vec<DiscoveredResource>,
}

impl RestMapper {
    /// Build from a discovery result.
    pub fn new(groups: &[ApiGroup]) -> Self {
        let mut m = Self::default();
        for g in groups {
            m.versions.insert(
                g.name.clone(),
                g.versions.iter().map(|v| v.version.clone()).collect(),
            );
            for v in &g.versions {
                for r in &v.resources {
                    let ar = &r.resource;
                    if !m
                        .preferred
                        .iter()
                        .any(|p| p.resource.group == ar.group && p.resource.plural == ar.plural)
                    {
                        m.preferred.push(r.clone());
                    }
                    m.by_gvk
                        .entry((ar.group.clone(), ar.version.clone(), ar.kind.clone()))
                        .or_insert_with(|| r.clone());
                    m.by_gvr.insert(
                        (ar.group.clone(), ar.version.clone(), ar.plural.clone()),
                        r.clone(),
                    );
                }
            }
        }
        m
    }

    /// The resource of a kind at a version.
    pub fn resource_for(
        &self,
        group: &str,
        version: &str,
        kind: &str,
    ) -> Option<&DiscoveredResource> {
        self.by_gvk
            .get(&(group.to_owned(), version.to_owned(), kind.to_owned()))
    }

    /// The resource of a kind at the group's preferred version that serves it.
    pub fn preferred_resource_for(&self, group: &str, kind: &str) -> Option<&DiscoveredResource> {
        self.versions
            .get(group)?
            .iter()
            .find_map(|v| self.resource_for(group, v, kind))
    }

    /// The kind (and scope) of a resource.
    pub fn kind_for(
        &self,
        group: &str,
        version: &str,
        plural: &str,
    ) -> Option<&DiscoveredResource> {
        self.by_gvr
            .get(&(group.to_owned(), version.to_owned(), plural.to_owned()))
    }

    /// Versions of a group, preferred first.
    pub fn versions(&self, group: &str) -> &[String] {
        self.versions
            .get(group)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The preferred version of a group.
    pub fn preferred_version(&self, group: &str) -> Option<&str> {
        self.versions(group).first().map(String::as_str)
    }

    /// The resource a name as users type it stands for (`kubectl get
    /// <arg>`): `resource.version.group` exactly, else `resource.group` or
    /// `resource` at the group's preferred version, where `resource` is a
    /// short name (`deploy`), the plural (`deployments`), the singular
    /// (`deployment`) or the kind (`Deployment`), in that precedence, as
    /// client-go's shortcut expander and RESTMapper have it. Without a group,
    /// the first group in the server's order wins (`events` is core/v1's).
    pub fn resolve(&self, arg: &str) -> Option<&DiscoveredResource> {
        if let [resource, version, group] = arg.splitn(3, '.').collect::<Vec<_>>()[..]
            && let Some(found) = self.by_gvr.values().find(|r| {
                r.resource.group == group
                    && r.resource.version == version
                    && names(r).any(|n| n.eq_ignore_ascii_case(resource))
            })
        {
            return Some(found);
        }
        let (resource, group) = match arg.split_once('.') {
            Some((resource, group)) => (resource, Some(group)),
            None => (arg, None),
        };
        let candidates = || {
            self.preferred
                .iter()
                .filter(move |r| group.is_none_or(|g| r.resource.group == g))
        };
        let lower = resource.to_lowercase();
        candidates()
            .find(|r| r.short_names.contains(&lower))
            .or_else(|| candidates().find(|r| r.resource.plural == lower || r.singular == lower))
            .or_else(|| candidates().find(|r| r.resource.kind.eq_ignore_ascii_case(resource)))
    }

    /// The resources in a category (`all`: what `kubectl get all` lists), at
    /// their preferred versions, in the server's order.
    pub fn category(&self, name: &str) -> Vec<&DiscoveredResource> {
        self.preferred
            .iter()
            .filter(|r| r.categories.iter().any(|c| c == name))
            .collect()
    }
}

/// Every name a resource answers to.
fn names(r: &DiscoveredResource) -> impl Iterator<Item = &str> {
    [
        r.resource.plural.as_str(),
        r.singular.as_str(),
        r.resource.kind.as_str(),
    ]
    .into_iter()
    .chain(r.short_names.iter().map(String::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregated_document_maps_kinds_and_resources() {
        let doc = serde_json::json!({
            "kind": "APIGroupDiscoveryList",
            "items": [{
                "metadata": {"name": "apps"},
                "versions": [{
                    "version": "v1",
                    "resources": [{
                        "resource": "deployments", "scope": "Namespaced",
                        "responseKind": {"group": "", "version": "", "kind": "Deployment"},
                        "verbs": ["get", "list"], "shortNames": ["deploy"],
                        "subresources": [{"subresource": "scale"}, {"subresource": "status"}]
                    }]
                }, {"version": "v1beta1", "resources": []}]
            }]
        });
        let groups = parse_aggregated("/apis", doc).unwrap();
        let m = RestMapper::new(&groups);
        let d = m.preferred_resource_for("apps", "Deployment").unwrap();
        assert_eq!(d.resource.plural, "deployments");
        assert_eq!(d.resource.scope, Scope::Namespaced);
        assert_eq!(d.subresources, ["scale", "status"]);
        assert_eq!(
            m.kind_for("apps", "v1", "deployments")
                .unwrap()
                .resource
                .kind,
            "Deployment"
        );
        assert_eq!(m.preferred_version("apps"), Some("v1"));
        assert!(d.supports("list") && !d.supports("delete"));
    }
}
