//! kubegen-cache: the cache machinery controllers live on, one file per
//! concept as in client-go's `tools/cache`, and the [`workqueue`].
//!
//! Data flows one way:
//!
//! ```text
//! API server --list/watch--> Reflector --deltas--> DeltaFifo --pop--> SharedIndexInformer
//!                                                                     |-> Indexer (cache) <- Lister
//!                                                                     '-> handlers (one buffer each)
//! ```
//!
//! - [`ListerWatcher`] ([`listwatch`]): the list + watch calls a reflector
//!   makes; implemented by [`Client<K>`](kubegen_client::Client) and by fakes.
//! - [`Reflector`] ([`reflector`]): keeps a [`Store`] equal to the server
//!   (list, then watch; relist on 410; backoff; watch-list streaming).
//! - [`DeltaFifo`] ([`delta_fifo`]): per-key change lists between reflector
//!   and consumer; tombstones for deletions missed while disconnected.
//! - [`Indexer`] ([`store`], [`index`]): the thread-safe indexed cache.
//! - [`SharedIndexInformer`] ([`shared_informer`]): reflector + FIFO + indexer
//!   + fan-out to many event handlers.
//! - [`Lister`] ([`lister`]): typed read access to an indexer.
//! - [`InformerFactory`] ([`factory`]): one shared informer per kind.
//! - [`transform`]: ready-made transforms (drop managedFields, keep metadata only).

#![deny(missing_docs)]

pub mod backoff;
pub mod delta_fifo;
pub mod factory;
pub mod index;
pub mod lister;
pub mod listwatch;
pub mod reflector;
pub mod shared_informer;
pub mod store;
mod thread_safe_store;
pub mod transform;
pub mod workqueue;

#[cfg(test)]
pub(crate) mod testing;

pub use backoff::Backoff;
pub use delta_fifo::{
    DeletedFinalStateUnknown, Delta, DeltaFifo, DeltaFifoOptions, DeltaObject, DeltaType, Deltas,
    FifoClosed, Transformer,
};
pub use factory::{FactoryOptions, InformerFactory, ResourceInformer};
pub use index::{
    IndexError, IndexFunc, Indexers, NAMESPACE_INDEX, default_indexers, label_index_func,
    namespace_index_func, owner_uid_index_func,
};
pub use lister::{Lister, NamespaceLister};
pub use listwatch::{ListerWatcher, TweakFn, TweakListOptions};
pub use reflector::{Reflector, ShouldResyncFn, WatchErrorHandler};
pub use shared_informer::{
    EventHandlerFuncs, InformerBuilder, InformerError, InformerSynced, ResourceEventHandler,
    ResourceEventHandlerRegistration, SharedIndexInformer, wait_for_cache_sync,
};
pub use store::{Indexer, KeyListerGetter, Store};
