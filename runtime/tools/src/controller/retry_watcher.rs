//! A watch that survives its connection (client-go's
//! `tools/watch.RetryWatcher`).

use std::time::Duration;

use futures::StreamExt;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use kubegen_cache::Backoff;
use kubegen_client::{Client, WatchEvent, WatchStream};
use kubegen_core::error::{Error, Result};
use kubegen_core::options::ListOptions;
use kubegen_core::resource::Object;
use kubegen_core::verbs;

/// Watches are opened at most this often, so a server that ends them at
/// once is not hammered (client-go's `minRestartDelay`).
const MIN_RESTART_DELAY: Duration = Duration::from_secs(1);

/// The changes of `client`'s objects after `initial_resource_version`, as
/// one stream that outlives watch connections.
///
/// When the server ends the watch (its timeout, a restart) or the connection
/// breaks, the watch is reopened from the resourceVersion of the last event
/// delivered, so no change is missed or delivered twice. Bookmarks are asked
/// for and advance that version without being delivered; so the stream
/// yields only `Added`, `Modified` and `Deleted`. Watches are opened at most
/// once a second; one that fails to open is retried after a backoff (800 ms
/// doubling to 30 s, starting over once a watch opens); an `ERROR` event
/// other than 410 is retried after the `retryAfterSeconds` it carries.
///
/// The stream yields an error and ends when it cannot go on: the version is
/// gone (410 Gone / "too old resource version": list again, or use an
/// informer, which does), the client may not watch (401, 403), or an event
/// has no resourceVersion to resume from. It ends without one when `cancel`
/// fires, and stops when dropped.
///
/// `options` selects what is watched (label and field selectors, timeout);
/// its `resource_version` and `allow_watch_bookmarks` are set here. The
/// initial version must be a real one, from a list or an object: `""` and
/// `"0"` are refused, as client-go does, since a watch from them starts with
/// a synthetic list of everything.
pub fn retry_watcher<K>(
    client: Client<K>,
    options: ListOptions,
    initial_resource_version: &str,
    cancel: CancellationToken,
) -> Result<WatchStream<K>>
where
    K: Object + verbs::Watch,
{
    if matches!(initial_resource_version, "" | "0") {
        return Err(Error::InvalidRequest(format!(
            "retry watcher: initial resourceVersion {initial_resource_version:?} is not supported; \
             start from the resourceVersion of a list or an object"
        )));
    }
    let watcher = RetryWatcher {
        client,
        options,
        resource_version: initial_resource_version.to_owned(),
        watch: None,
        next_open: Instant::now(),
        backoff: Backoff::default(),
        ended: false,
    };
    let events = futures::stream::unfold(watcher, |mut watcher| async move {
        let event = watcher.next_event().await?;
        Some((event, watcher))
    });
    Ok(Box::pin(events.take_until(cancel.cancelled_owned())))
}

struct RetryWatcher<K> {
    client: Client<K>,
    options: ListOptions,
    /// Where the next watch starts: the last version delivered or bookmarked.
    resource_version: String,
    watch: Option<WatchStream<K>>,
    /// Not before this instant may the next watch open.
    next_open: Instant,
    backoff: Backoff,
    /// A final error was yielded.
    ended: bool,
}

impl<K: Object + verbs::Watch> RetryWatcher<K> {
    /// The next event to deliver, or the error that ends the stream.
    async fn next_event(&mut self) -> Option<Result<WatchEvent<K>>> {
        while !self.ended {
            let Some(watch) = self.watch.as_mut() else {
                if let Err(e) = self.open().await {
                    return self.end(e);
                }
                continue;
            };
            match watch.next().await {
                None => {
                    tracing::debug!(
                        resource_version = self.resource_version,
                        "watch closed: reopening"
                    );
                    self.watch = None;
                }
                Some(Err(e)) => {
                    tracing::warn!(
                        resource_version = self.resource_version,
                        "watch failed, reopening: {e}"
                    );
                    self.watch = None;
                }
                Some(Ok(event)) => {
                    let version = match &event {
                        WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o) => {
                            o.metadata()
                                .resource_version
                                .as_deref()
                                .unwrap_or_default()
                                .to_owned()
                        }
                        WatchEvent::Bookmark(bookmark) => bookmark.resource_version.clone(),
                        WatchEvent::Error(_) => {
                            if let Err(e) = self.after_error(event) {
                                return self.end(e);
                            }
                            continue;
                        }
                    };
                    if version.is_empty() {
                        return self.end(Error::Decode {
                            request: self.request(),
                            path: "object.metadata.resourceVersion".into(),
                            message: "missing: the watch cannot be resumed after this event".into(),
                        });
                    }
                    self.resource_version = version;
                    if !matches!(event, WatchEvent::Bookmark(_)) {
                        return Some(Ok(event));
                    }
                }
            }
        }
        None
    }

    /// Opens the next watch from the last version, waiting first as the
    /// restart rules say; an error is final, others only delay the next try.
    async fn open(&mut self) -> Result<()> {
        tokio::time::sleep_until(self.next_open).await;
        self.next_open = Instant::now() + MIN_RESTART_DELAY;
        let options = self
            .options
            .clone()
            .resource_version(self.resource_version.clone())
            .allow_watch_bookmarks(true);
        match self.client.watch(&options).await {
            Ok(watch) => {
                self.watch = Some(watch);
                self.backoff.reset();
                Ok(())
            }
            Err(e) if e.is_resource_expired() || e.is_forbidden() || e.is_unauthorized() => Err(e),
            Err(e) => {
                let pause = self.backoff.next_backoff();
                tracing::warn!("opening watch failed, retrying in {pause:?}: {e}");
                self.next_open = Instant::now() + pause;
                Ok(())
            }
        }
    }

    /// After an `ERROR` event: a 410 is final (as `Error::Api`); others
    /// reopen the watch after the `retryAfterSeconds` they carry.
    fn after_error(&mut self, event: WatchEvent<K>) -> Result<()> {
        let WatchEvent::Error(status) = &event else {
            return Ok(());
        };
        if status.code == Some(410) {
            // Always an error: the Status as `Error::Api`.
            return event.into_result(&self.request()).map(drop);
        }
        tracing::warn!(
            code = status.code,
            message = status.message.as_deref().unwrap_or_default(),
            "watch ended with an error: reopening"
        );
        let retry_after = status
            .details
            .as_ref()
            .and_then(|d| d.retry_after_seconds)
            .and_then(|s| u64::try_from(s).ok())
            .unwrap_or(0);
        self.next_open = self
            .next_open
            .max(Instant::now() + Duration::from_secs(retry_after));
        self.watch = None;
        Ok(())
    }

    fn request(&self) -> String {
        format!("watch from resourceVersion {}", self.resource_version)
    }

    fn end(&mut self, error: Error) -> Option<Result<WatchEvent<K>>> {
        self.ended = true;
        self.watch = None;
        Some(Err(error))
    }
}
