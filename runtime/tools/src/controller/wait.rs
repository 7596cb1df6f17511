//! Waiting for one object to reach a condition (kube-runtime's
//! `await_condition`, client-go's `tools/watch.UntilWithSync`).

use futures::StreamExt;

use kubegen_client::{Client, WatchEvent};
use kubegen_core::error::Result;
use kubegen_core::options::ListOptions;
use kubegen_core::resource::Object;
use kubegen_core::verbs;

/// Waits until `condition` holds for the object `name` of `client` (`None`
/// while it does not exist), and returns the object as it was then.
///
/// Reads the object's current state with a list, then watches it from
/// there; a watch that ends is resumed from the last version seen, and one
/// whose version expired (410) starts over with a list, so no change is
/// missed and none is waited for twice. There is no deadline: wrap the call
/// in `tokio::time::timeout` to have one.
pub async fn await_condition<K>(
    client: &Client<K>,
    name: &str,
    condition: impl Fn(Option<&K>) -> bool,
) -> Result<Option<K>>
where
    K: Object + verbs::List + verbs::Watch,
{
    let by_name = ListOptions::default().field_selector(format_args!("metadata.name={name}"));
    'relist: loop {
        let list = client.list(&by_name).await?;
        let mut version = list.resource_version().unwrap_or_default().to_owned();
        let mut current = list.items.into_iter().next();
        if condition(current.as_ref()) {
            return Ok(current);
        }
        loop {
            let opts = by_name
                .clone()
                .resource_version(version.clone())
                .allow_watch_bookmarks(true);
            let mut events = match client.watch(&opts).await {
                Err(e) if e.is_resource_expired() => continue 'relist,
                other => other?,
            };
            while let Some(event) = events.next().await {
                let seen = match event? {
                    WatchEvent::Added(o) | WatchEvent::Modified(o) => {
                        version = rv(&o);
                        current = Some(o);
                        true
                    }
                    WatchEvent::Deleted(o) => {
                        version = rv(&o);
                        current = None;
                        true
                    }
                    WatchEvent::Bookmark(b) => {
                        version = b.resource_version;
                        false
                    }
                    WatchEvent::Error(status) if status.code == Some(410) => continue 'relist,
                    error @ WatchEvent::Error(_) => {
                        // Always an error: the watch's Status as `Error::Api`.
                        error.into_result(&format!("watch {name}"))?;
                        false
                    }
                };
                if seen && condition(current.as_ref()) {
                    return Ok(current);
                }
            }
        }
    }
}

fn rv<K: Object>(o: &K) -> String {
    o.metadata()
        .resource_version
        .as_deref()
        .unwrap_or_default()
        .to_owned()
}
