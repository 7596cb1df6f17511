//! Resources from an OpenAPI document's paths.
//!
//! Kubernetes paths have a fixed grammar:
//! `/api/{version}/...` (core) or `/apis/{group}/{version}/...`, then optional
//! `namespaces/{namespace}/`, then `{plural}`, `{plural}/{name}` or
//! `{plural}/{name}/{subresource}`; the deprecated `watch/` prefix marks watch
//! paths. Verbs come from each operation's `x-kubernetes-action`, so a
//! resource gets exactly the verbs the server serves.

use std::collections::BTreeMap;

use super::{Gvk, Resource, Subresource, Verb};
use crate::spec::Operation;

struct ParsedPath {
    group: String,
    version: String,
    namespaced: bool,
    plural: String,
    item: bool,
    subresource: Option<String>,
    watch_prefix: bool,
}

fn parse_path(path: &str) -> Option<ParsedPath> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, mut rest) = match segs.as_slice() {
        ["api", v, rest @ ..] => (String::new(), (*v).to_owned(), rest),
        ["apis", g, v, rest @ ..] => ((*g).to_owned(), (*v).to_owned(), rest),
        _ => return None,
    };
    let mut watch_prefix = false;
    if let ["watch", r @ ..] = rest {
        watch_prefix = true;
        rest = r;
    }
    let mut namespaced = false;
    if let ["namespaces", "{namespace}", r @ ..] = rest
        && !r.is_empty()
    {
        namespaced = true;
        rest = r;
    }
    match rest {
        [plural] if !plural.is_empty() && !plural.starts_with('{') => Some(ParsedPath {
            group,
            version,
            namespaced,
            plural: (*plural).to_owned(),
            item: false,
            subresource: None,
            watch_prefix,
        }),
        [plural, "{name}", sub @ ..] => Some(ParsedPath {
            group,
            version,
            namespaced,
            plural: (*plural).to_owned(),
            item: true,
            // `proxy/{path}` is the proxy subresource.
            subresource: sub.first().map(|s| (*s).to_owned()),
            watch_prefix,
        }),
        _ => None,
    }
}

fn verb_for(action: &str, item: bool) -> Option<Verb> {
    Some(match (action, item) {
        ("get", true) => Verb::Get,
        ("list" | "get", false) => Verb::List,
        ("watch" | "watchlist", _) => Verb::Watch,
        ("post", _) => Verb::Create,
        ("put", _) => Verb::Update,
        ("patch", _) => Verb::Patch,
        ("delete", true) => Verb::Delete,
        ("deletecollection" | "delete", false) => Verb::DeleteCollection,
        ("connect", _) => Verb::Connect,
        _ => return None,
    })
}

#[derive(Default)]
struct Acc {
    namespaced: bool,
    kind: Option<Gvk>,
    resource: Subresource,
    subresources: BTreeMap<String, Subresource>,
    strategic: bool,
}

/// Groups operations into resources. Types are linked later, by GVK.
pub(crate) fn from_operations<'a>(ops: impl Iterator<Item = &'a Operation>) -> Vec<Resource> {
    let mut acc: BTreeMap<(String, String, String), Acc> = BTreeMap::new();
    for op in ops {
        let Some(p) = parse_path(&op.path) else {
            continue;
        };
        let Some(verb) = op.action.as_deref().and_then(|a| verb_for(a, p.item)) else {
            continue;
        };
        let verb = if p.watch_prefix { Verb::Watch } else { verb };
        let a = acc
            .entry((p.group.clone(), p.version.clone(), p.plural.clone()))
            .or_default();
        a.namespaced |= p.namespaced;
        match &p.subresource {
            None => {
                if a.kind.is_none() {
                    a.kind = op.gvk.clone();
                }
                a.resource.verbs.insert(verb);
                if verb == Verb::Patch
                    && op
                        .consumes
                        .iter()
                        .any(|c| c == "application/strategic-merge-patch+json")
                {
                    a.strategic = true;
                }
            }
            Some(sub) => {
                let s = a.subresources.entry(sub.clone()).or_default();
                s.verbs.insert(verb);
                if s.gvk.is_none() {
                    s.gvk = op.gvk.clone();
                }
            }
        }
    }
    let mut out = Vec::new();
    for ((group, version, plural), mut a) in acc {
        // Subresource-only entries with no kind (e.g. discovery paths) are not
        // resources.
        let Some(kind) = a.kind.take().or_else(|| {
            // A resource with only subresources (none in practice) borrows the
            // kind of its status subresource.
            a.subresources.get("status").and_then(|s| s.gvk.clone())
        }) else {
            continue;
        };
        for s in a.subresources.values_mut() {
            // Subresources speaking the parent's own kind do not name a type.
            if s.gvk
                .as_ref()
                .is_some_and(|g| g.kind == kind.kind && g.group == kind.group)
            {
                s.gvk = None;
            }
        }
        out.push(Resource {
            singular: kind.kind.to_lowercase(),
            list_kind: format!("{}List", kind.kind),
            kind: kind.kind,
            group,
            version,
            plural,
            short_names: Vec::new(),
            categories: Vec::new(),
            namespaced: a.namespaced,
            type_id: None,
            verbs: a.resource.verbs,
            subresources: a.subresources,
            strategic_merge_patch: a.strategic,
            deprecated: false,
            storage: false,
            schema: None,
            from_crd: false,
        });
    }
    out
}
