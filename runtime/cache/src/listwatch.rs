//! [`ListerWatcher`]: the two calls a [`Reflector`](super::Reflector) makes
//! (client-go's `ListerWatcher` / `ListWatch`).
//!
//! Implemented by the typed [`Client<K>`](kubegen_client::Client) (for kinds
//! that can list and watch) and by test fakes that script a server's answers.
//! [`TweakListOptions`] wraps another lister-watcher and edits every request's
//! options (label/field selectors), as informer factories' `tweakListOptions`.

use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;

use kubegen_client::{ObjectList, WatchStream};
use kubegen_core::error::Result;
use kubegen_core::options::ListOptions;

/// List and watch one collection of `K`.
///
/// `list` returns one page (honouring `limit`/`continue`); `watch` starts a
/// watch and returns its event stream, which ends when the server closes it.
pub trait ListerWatcher<K>: Send + Sync + 'static {
    /// `GET` the collection with these options.
    fn list(&self, options: &ListOptions) -> impl Future<Output = Result<ObjectList<K>>> + Send;
    /// `GET ...?watch=true` with these options.
    fn watch(&self, options: &ListOptions) -> impl Future<Output = Result<WatchStream<K>>> + Send;
}

/// Object-safe form of [`ListerWatcher`], so informers need not be generic
/// over the lister-watcher type.
pub(crate) trait DynListerWatcher<K>: Send + Sync {
    fn list<'a>(&'a self, options: &'a ListOptions) -> BoxFuture<'a, Result<ObjectList<K>>>;
    fn watch<'a>(&'a self, options: &'a ListOptions) -> BoxFuture<'a, Result<WatchStream<K>>>;
}

impl<K: 'static, L: ListerWatcher<K>> DynListerWatcher<K> for L {
    fn list<'a>(&'a self, options: &'a ListOptions) -> BoxFuture<'a, Result<ObjectList<K>>> {
        Box::pin(ListerWatcher::list(self, options))
    }
    fn watch<'a>(&'a self, options: &'a ListOptions) -> BoxFuture<'a, Result<WatchStream<K>>> {
        Box::pin(ListerWatcher::watch(self, options))
    }
}

/// Edits the options of every list and watch (e.g. adds a label selector).
pub type TweakFn = Arc<dyn Fn(&mut ListOptions) + Send + Sync>;

/// A lister-watcher whose requests pass through a [`TweakFn`] first.
pub struct TweakListOptions<L> {
    inner: L,
    tweak: TweakFn,
}

impl<L> TweakListOptions<L> {
    /// Wrap `inner` so `tweak` edits every request's options.
    pub fn new(inner: L, tweak: TweakFn) -> Self {
        Self { inner, tweak }
    }
}

impl<K, L: ListerWatcher<K>> ListerWatcher<K> for TweakListOptions<L> {
    async fn list(&self, options: &ListOptions) -> Result<ObjectList<K>> {
        let mut options = options.clone();
        (self.tweak)(&mut options);
        self.inner.list(&options).await
    }

    async fn watch(&self, options: &ListOptions) -> Result<WatchStream<K>> {
        let mut options = options.clone();
        (self.tweak)(&mut options);
        self.inner.watch(&options).await
    }
}

/// The typed client lists and watches its collection (its namespace, or all
/// namespaces for `Client::all`).
impl<K> ListerWatcher<K> for kubegen_client::Client<K>
where
    K: kubegen_core::resource::Object + kubegen_core::verbs::List + kubegen_core::verbs::Watch,
{
    async fn list(&self, options: &ListOptions) -> Result<ObjectList<K>> {
        kubegen_client::Client::list(self, options).await
    }

    async fn watch(&self, options: &ListOptions) -> Result<WatchStream<K>> {
        kubegen_client::Client::watch(self, options).await
    }
}
