//! Clients: the untyped [`RestClient`] and the typed [`Client<K>`], with the
//! list and watch shapes they return.

mod list;
mod watch;

pub use list::ObjectList;
pub use watch::{Bookmark, INITIAL_EVENTS_END_ANNOTATION, WatchEvent, WatchStream};
