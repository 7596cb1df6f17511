//! The verb implementations, ungated: the typed wrappers ([`typed`](super::typed)),
//! subresources and dynamic objects all call these.

use futures::Stream;
use http::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_util::task::AbortOnDropHandle;

use super::list::protobuf_continue_token;
use super::paths::{key_of, uri_path, with_query};
use super::rest::{describe, empty_request, json_request};
use super::{APPLY_PATCH, Client, DeleteResponse, JSON, ObjectList, WatchStream, watch, wire};
use kubegen_core::error::{Error, Result};
use kubegen_core::options::{
    CreateOptions, DeleteOptions, ListOptions, PatchOptions, Query, UpdateOptions,
};
use kubegen_core::resource::Object;

impl<K: Object> Client<K> {
    // Verb implementations, ungated; the public wrappers below gate them.

    pub(crate) async fn do_get<T: DeserializeOwned>(
        &self,
        name: &str,
        sub: Option<&str>,
        q: Query,
    ) -> Result<T> {
        let req = empty_request(Method::GET, with_query(self.object_path(name, sub)?, &q))?;
        self.rest.request(req).await
    }

    /// Sends `req`, whose answer is the object itself: in protobuf when the
    /// kind speaks it, decoded by its content type.
    async fn exchange_object(&self, mut req: http::Request<bytes::Bytes>) -> Result<K> {
        self.accept_object(&mut req, false);
        let what = describe(&req);
        let (body, encoding) = self.rest.request_negotiated(req).await?;
        wire::decode_object(&what, &body, encoding)
    }

    /// `GET .../{name}` of the object itself, in protobuf when the kind speaks it.
    pub(crate) async fn do_get_object(&self, name: &str, q: Query) -> Result<K> {
        let req = empty_request(Method::GET, with_query(self.object_path(name, None)?, &q))?;
        self.exchange_object(req).await
    }

    pub(crate) async fn do_list(&self, opts: &ListOptions) -> Result<ObjectList<K>> {
        let raw = self.fetch_list(opts).await?;
        wire::decode_list(&raw.what, &raw.body, raw.encoding)
    }

    pub(crate) async fn do_watch(&self, opts: &ListOptions) -> Result<WatchStream<K>> {
        let mut req = empty_request(
            Method::GET,
            with_query(self.collection_path()?, &opts.to_watch_query()),
        )?;
        self.accept_object(&mut req, false);
        let what = describe(&req);
        let (body, encoding) = self.rest.request_stream_negotiated(req).await?;
        let framing = match encoding {
            wire::Encoding::Json => watch::Framing::Lines,
            wire::Encoding::Cbor => watch::Framing::Cbor,
            wire::Encoding::Protobuf => watch::Framing::Protobuf(wire::codec::<K>(&what)?),
        };
        Ok(Box::pin(watch::decode_stream::<K, _>(what, body, framing)))
    }

    /// `POST` (create) or `PUT` (replace) of the object itself, in protobuf
    /// or CBOR when the kind speaks it. A server that refuses a CBOR body
    /// (415: its CBOR feature gate is off) gets it again in JSON, and JSON
    /// from then on.
    pub(crate) async fn send_object(
        &self,
        method: Method,
        path: String,
        q: &Query,
        obj: &K,
    ) -> Result<K> {
        let uri = with_query(path, q);
        let what = format!("{method} {}", uri_path(&uri));
        let (bytes, content_type) = self.object_body(&what, obj)?;
        let req = json_request(method.clone(), uri.clone(), bytes, content_type)?;
        match self.exchange_object(req).await {
            Err(e)
                if content_type == kubegen_core::cbor::MEDIA_TYPE
                    && e.is_unsupported_media_type() =>
            {
                self.rest.refuse_cbor();
                let bytes = json_body(&what, obj)?;
                self.exchange_object(json_request(method, uri, bytes, JSON)?)
                    .await
            }
            other => other,
        }
    }

    /// `PATCH .../{name}` of the object itself; the patch is JSON, the
    /// answer protobuf when the kind speaks it.
    pub(crate) async fn do_patch_object<B: Serialize + ?Sized>(
        &self,
        name: &str,
        body: &B,
        content_type: &'static str,
        opts: &PatchOptions,
    ) -> Result<K> {
        check_apply(content_type, opts)?;
        let uri = with_query(self.object_path(name, None)?, &opts.to_query());
        let bytes = json_body(&format!("PATCH {}", uri_path(&uri)), body)?;
        self.exchange_object(json_request(Method::PATCH, uri, bytes, content_type)?)
            .await
    }

    async fn send_body<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: String,
        q: &Query,
        body: &B,
        content_type: &'static str,
    ) -> Result<T> {
        let uri = with_query(path, q);
        let bytes = json_body(&format!("{method} {}", uri_path(&uri)), body)?;
        self.rest
            .request(json_request(method, uri, bytes, content_type)?)
            .await
    }

    pub(crate) async fn do_create<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        sub: Option<(&str, &str)>,
        body: &B,
        opts: &CreateOptions,
    ) -> Result<T> {
        let path = match sub {
            None => self.collection_path()?,
            Some((name, s)) => self.object_path(name, Some(s))?,
        };
        self.send_body(Method::POST, path, &opts.to_query(), body, JSON)
            .await
    }

    pub(crate) async fn do_replace<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        name: &str,
        sub: Option<&str>,
        body: &B,
        opts: &UpdateOptions,
    ) -> Result<T> {
        self.send_body(
            Method::PUT,
            self.object_path(name, sub)?,
            &opts.to_query(),
            body,
            JSON,
        )
        .await
    }

    pub(crate) async fn do_patch<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        name: &str,
        sub: Option<&str>,
        body: &B,
        content_type: &'static str,
        opts: &PatchOptions,
    ) -> Result<T> {
        check_apply(content_type, opts)?;
        self.send_body(
            Method::PATCH,
            self.object_path(name, sub)?,
            &opts.to_query(),
            body,
            content_type,
        )
        .await
    }

    pub(crate) async fn do_delete(
        &self,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<DeleteResponse<K>> {
        let path = self.object_path(name, None)?;
        let what = format!("DELETE {path}");
        let bytes = json_body(&what, opts)?;
        let mut req = json_request(Method::DELETE, path, bytes, JSON)?;
        self.accept_object(&mut req, false);
        let (body, encoding) = self.rest.request_negotiated(req).await?;
        wire::decode_object_or_status(&what, &body, encoding)
    }

    pub(crate) async fn do_delete_collection(
        &self,
        opts: &DeleteOptions,
        list: &ListOptions,
    ) -> Result<DeleteResponse<ObjectList<K>>> {
        let path = self.collection_path()?;
        let v: serde_json::Value = self
            .send_body(
                Method::DELETE,
                path.clone(),
                &list.to_list_query(),
                opts,
                JSON,
            )
            .await?;
        object_or_status(&format!("DELETE {path}"), v)
    }

    /// The body of one page of a list, not yet decoded.
    async fn fetch_list(&self, opts: &ListOptions) -> Result<RawList> {
        let mut req = empty_request(
            Method::GET,
            with_query(self.collection_path()?, &opts.to_list_query()),
        )?;
        self.accept_object(&mut req, true);
        let what = describe(&req);
        let (body, encoding) = self.rest.request_negotiated(req).await?;
        Ok(RawList {
            what,
            body,
            encoding,
        })
    }

    /// Starts fetching the page after `opts` at `token` in a task of its own,
    /// so the server works on it while this page is decoded and consumed.
    fn prefetch(&self, opts: &ListOptions, token: String) -> Prefetch {
        let mut o = opts.clone();
        o.continue_ = Some(token);
        // A continued list must not repeat the resourceVersion.
        o.resource_version = None;
        o.resource_version_match = None;
        let this = self.clone();
        let fetch = {
            let o = o.clone();
            async move { this.fetch_list(&o).await }
        };
        Prefetch {
            opts: o,
            task: AbortOnDropHandle::new(tokio::spawn(fetch)),
        }
    }

    /// Pages of a list, following `continue` tokens, each page at most
    /// `opts.limit` items (500 when unset, as client-go's pager). The first
    /// page's resource version applies to all (the server guarantees a
    /// consistent snapshot across continue tokens).
    ///
    /// The next page is asked for as soon as this page's token is known: in
    /// protobuf, from the list metadata the server writes before the items,
    /// so the server serves page n+1 while page n is decoded; in JSON, once
    /// page n is decoded, while its consumer works on it. Dropping the stream
    /// cancels the page in flight.
    ///
    /// If a continue token expires mid-way (410: etcd compacted the
    /// snapshot), the rest comes from one unpaged list with the original
    /// options, as client-go's pager falls back, minus the objects already
    /// returned (pages are in key order): every object comes once, the last
    /// page from a newer snapshot.
    pub(crate) fn do_list_pages(
        &self,
        opts: &ListOptions,
    ) -> impl Stream<Item = Result<ObjectList<K>>> + Send + use<K> {
        enum Next {
            First(ListOptions),
            /// A continued page, in flight, and the (namespace, name) of the
            /// last object returned before it.
            Continued(Prefetch, Option<(String, String)>),
        }
        let original = opts.clone();
        let mut first = opts.clone();
        first.limit = Some(first.limit.unwrap_or(500));
        let this = self.clone();
        futures::stream::try_unfold(Some(Next::First(first)), move |next| {
            let this = this.clone();
            let original = original.clone();
            async move {
                let (opts, raw, last) = match next {
                    None => return Ok(None),
                    Some(Next::First(opts)) => {
                        let raw = this.fetch_list(&opts).await?;
                        (opts, raw, None)
                    }
                    Some(Next::Continued(Prefetch { opts, task }, last)) => {
                        let fetched = match task.await {
                            Ok(fetched) => fetched,
                            // The fetch panicked: a bug, passed on as if it were not in a task.
                            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                            Err(e) => Err(Error::Transport {
                                request: "GET (next page of a list)".into(),
                                message: format!("the page's fetch was cancelled: {e}"),
                                source: None,
                            }),
                        };
                        match fetched {
                            Err(e) if e.is_resource_expired() => {
                                tracing::debug!(error = %e, "continue token expired; listing the rest unpaged");
                                let mut full = original.clone();
                                full.limit = None;
                                full.continue_ = None;
                                let mut list = this.do_list(&full).await?;
                                if let Some(last) = &last {
                                    list.items
                                        .retain(|o| key_of(o).as_ref().is_some_and(|k| k > last));
                                }
                                return Ok(Some((list, None)));
                            }
                            other => (opts, other?, last),
                        }
                    }
                };
                let mut prefetch = match raw.encoding {
                    wire::Encoding::Protobuf => {
                        protobuf_continue_token(&raw.body).map(|token| this.prefetch(&opts, token))
                    }
                    _ => None,
                };
                let page = wire::decode_list::<K>(&raw.what, &raw.body, raw.encoding)?;
                if prefetch.is_none() {
                    prefetch = page
                        .continue_token()
                        .map(|token| this.prefetch(&opts, token.to_owned()));
                }
                let last = page.items.last().and_then(key_of).or(last);
                Ok(Some((page, prefetch.map(|p| Next::Continued(p, last)))))
            }
        })
    }
}

/// A list page's body as the server sent it.
struct RawList {
    /// The request, for errors.
    what: String,
    body: bytes::Bytes,
    encoding: wire::Encoding,
}

/// A continued list page being fetched.
struct Prefetch {
    /// The page's options (with its continue token).
    opts: ListOptions,
    task: AbortOnDropHandle<Result<RawList>>,
}

/// `body` as JSON, an encode failure naming the request `what`.
pub(super) fn json_body<B: Serialize + ?Sized>(what: &str, body: &B) -> Result<Vec<u8>> {
    serde_json::to_vec(body).map_err(|source| Error::Encode {
        request: what.to_owned(),
        source,
    })
}

/// Server-side apply needs a field manager; say so before the server does.
fn check_apply(content_type: &str, opts: &PatchOptions) -> Result<()> {
    if content_type == APPLY_PATCH && opts.field_manager.as_deref().is_none_or(str::is_empty) {
        return Err(Error::InvalidRequest(
            "server-side apply needs a field manager".into(),
        ));
    }
    Ok(())
}

pub(super) fn name_of<K: Object>(obj: &K, what: &str) -> Result<String> {
    obj.metadata()
        .name
        .as_deref()
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| Error::InvalidRequest(format!("{what}: the object has no metadata.name")))
}

pub(super) fn object_or_status<T: DeserializeOwned>(
    what: &str,
    v: serde_json::Value,
) -> Result<DeleteResponse<T>> {
    if v.get("kind").and_then(|k| k.as_str()) == Some("Status") {
        let s = serde_path_to_error::deserialize(v).map_err(|e| Error::decode(what, e))?;
        return Ok(DeleteResponse::Status(s));
    }
    let o = serde_path_to_error::deserialize(v).map_err(|e| Error::decode(what, e))?;
    Ok(DeleteResponse::Object(o))
}
