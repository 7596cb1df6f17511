//! A finalizer around a reconcile (kube-runtime's `finalizer`): the object
//! gets the finalizer before anything is applied, so its deletion waits
//! for the cleanup; once the cleanup succeeded the finalizer is removed and
//! the server deletes the object.

use std::future::Future;
use std::sync::Arc;

use kubegen_client::{Client, Patch, RestClient};
use kubegen_core::options::PatchOptions;
use kubegen_core::resource::{Object, Resource, Scope};
use kubegen_core::verbs;
use serde_json::json;

use super::Action;

/// What the reconcile inside [`finalizer`] is asked to do.
#[derive(Debug)]
pub enum FinalizerEvent<K> {
    /// Converge the object (it carries the finalizer).
    Apply(Arc<K>),
    /// The object is being deleted: release what it holds. On success the
    /// finalizer is removed.
    Cleanup(Arc<K>),
}

/// Why [`finalizer`] failed.
#[derive(Debug, thiserror::Error)]
pub enum FinalizerError<E: std::error::Error + 'static> {
    /// The reconcile's apply failed.
    #[error("apply failed: {0}")]
    ApplyFailed(#[source] E),
    /// The reconcile's cleanup failed; the finalizer stays.
    #[error("cleanup failed: {0}")]
    CleanupFailed(#[source] E),
    /// Adding the finalizer failed (a conflict, when the object changed meanwhile).
    #[error("adding finalizer {name}: {source}")]
    AddFinalizer {
        /// The finalizer.
        name: String,
        /// The patch's error.
        #[source]
        source: kubegen_core::Error,
    },
    /// Removing the finalizer failed.
    #[error("removing finalizer {name}: {source}")]
    RemoveFinalizer {
        /// The finalizer.
        name: String,
        /// The patch's error.
        #[source]
        source: kubegen_core::Error,
    },
    /// The object has no name (it never came from a server).
    #[error("the object has no name")]
    UnnamedObject,
}

/// Runs `reconcile` on `obj` under the finalizer `name`:
///
/// - not being deleted and without the finalizer: adds it (a JSON patch that
///   first tests the list it saw) and awaits the change that causes;
/// - not being deleted, with it: `reconcile(Apply(obj))`;
/// - being deleted, with it: `reconcile(Cleanup(obj))`, then removes it
///   (testing it is still where it was);
/// - being deleted, without it: nothing to do.
pub async fn finalizer<K, E, F, Fut>(
    rest: &RestClient,
    name: &str,
    obj: Arc<K>,
    reconcile: F,
) -> Result<Action, FinalizerError<E>>
where
    K: Object + Resource + verbs::Patch,
    E: std::error::Error + 'static,
    F: FnOnce(FinalizerEvent<K>) -> Fut,
    Fut: Future<Output = Result<Action, E>>,
{
    let meta = obj.metadata();
    let object_name = meta
        .name
        .as_deref()
        .filter(|n| !n.is_empty())
        .ok_or(FinalizerError::UnnamedObject)?
        .to_owned();
    let client = match (K::SCOPE, meta.namespace.as_deref()) {
        (Scope::Namespaced, Some(ns)) => Client::<K>::namespaced(rest.clone(), ns),
        _ => Client::<K>::cluster(rest.clone()),
    };
    let finalizers = meta.finalizers.as_deref().unwrap_or_default();
    let at = finalizers.iter().position(|f| f == name);
    let deleting = meta.deletion_timestamp.is_some();
    match (deleting, at) {
        (false, Some(_)) => reconcile(FinalizerEvent::Apply(obj))
            .await
            .map_err(FinalizerError::ApplyFailed),
        (false, None) => {
            let ops = if finalizers.is_empty() {
                json!([
                    {"op": "test", "path": "/metadata/finalizers", "value": null},
                    {"op": "add", "path": "/metadata/finalizers", "value": [name]},
                ])
            } else {
                json!([
                    {"op": "test", "path": "/metadata/finalizers", "value": finalizers},
                    {"op": "add", "path": "/metadata/finalizers/-", "value": name},
                ])
            };
            client
                .patch(&object_name, &Patch::Json(ops), &PatchOptions::default())
                .await
                .map_err(|source| FinalizerError::AddFinalizer {
                    name: name.to_owned(),
                    source,
                })?;
            // The patch is a change: the reconcile comes back with the finalizer on.
            Ok(Action::AwaitChange)
        }
        (true, Some(i)) => {
            reconcile(FinalizerEvent::Cleanup(Arc::clone(&obj)))
                .await
                .map_err(FinalizerError::CleanupFailed)?;
            let path = format!("/metadata/finalizers/{i}");
            let ops = json!([
                {"op": "test", "path": path, "value": name},
                {"op": "remove", "path": path},
            ]);
            client
                .patch(&object_name, &Patch::Json(ops), &PatchOptions::default())
                .await
                .map_err(|source| FinalizerError::RemoveFinalizer {
                    name: name.to_owned(),
                    source,
                })?;
            Ok(Action::AwaitChange)
        }
        (true, None) => Ok(Action::AwaitChange),
    }
}
