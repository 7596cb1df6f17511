//! Request paths: a resource's collection and object paths, names and
//! namespaces escaped as one path segment, query strings.

use super::Client;
use kubegen_core::error::{Error, Result};
use kubegen_core::options::Query;
use kubegen_core::resource::{Object, Scope};

impl<K: Object> Client<K> {
    pub(super) fn collection_path(&self) -> Result<String> {
        if self.resource.plural.is_empty() || self.resource.version.is_empty() {
            return Err(Error::InvalidRequest(format!(
                "client for kind {:?} has no resource (plural/version); build DynamicObject clients with \
                 `Client::new_with(rest, api_resource, namespace)`",
                self.resource.kind
            )));
        }
        let mut p = self.resource.group_version_path();
        if let Some(ns) = &self.namespace {
            p.push_str("/namespaces/");
            p.push_str(&path_segment(&self.resource.plural, "namespace", ns)?);
        }
        p.push('/');
        p.push_str(&self.resource.plural);
        Ok(p)
    }

    pub(super) fn object_path(&self, name: &str, sub: Option<&str>) -> Result<String> {
        let name = path_segment(&self.resource.plural, "object name", name)?;
        if self.resource.scope == Scope::Namespaced && self.namespace.is_none() {
            return Err(Error::InvalidRequest(format!(
                "{} {name:?}: a namespaced object needs a namespace (build the client with `namespaced`)",
                self.resource.plural
            )));
        }
        let mut p = format!("{}/{}", self.collection_path()?, name);
        if let Some(s) = sub {
            p.push('/');
            p.push_str(s);
        }
        Ok(p)
    }
}

/// Bytes escaped in a path segment: all but RFC 3986's unreserved characters,
/// so `?`, `#` and spaces in a name cannot reach the query or fragment.
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A name or namespace as one escaped path segment. Rejects what the API
/// server's path validation rejects (empty, `.`, `..`, `/`, `%`), as
/// client-go's `Request.Name` does: such a value could only address another
/// object.
pub(super) fn path_segment(plural: &str, what: &str, value: &str) -> Result<String> {
    if value.is_empty() || value == "." || value == ".." || value.contains(['/', '%']) {
        return Err(Error::InvalidRequest(format!(
            "{plural}: {what} {value:?} is not a valid path segment (empty, \".\", \"..\", or contains '/' or '%')"
        )));
    }
    Ok(percent_encoding::utf8_percent_encode(value, PATH_SEGMENT).to_string())
}

/// A path of several segments (a proxy's `a/b/c`), each escaped as
/// [`path_segment`] escapes one; the slashes between them stay.
pub(super) fn escaped_path(path: &str) -> String {
    path.split('/')
        .map(|segment| percent_encoding::utf8_percent_encode(segment, PATH_SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// The order the server pages in: by namespace, then name.
pub(super) fn key_of<K: Object>(o: &K) -> Option<(String, String)> {
    let m = o.metadata();
    Some((
        m.namespace.as_deref().unwrap_or_default().to_owned(),
        m.name.as_deref()?.to_owned(),
    ))
}

pub(super) fn with_query(path: String, q: &Query) -> String {
    if q.is_empty() {
        return path;
    }
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in q {
        ser.append_pair(k, v);
    }
    format!("{path}?{}", ser.finish())
}

pub(super) fn uri_path(uri: &str) -> &str {
    uri.split_once('?').map_or(uri, |(p, _)| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_is_url_encoded() {
        let q: Query = vec![
            ("labelSelector", "app in (a,b)".into()),
            ("limit", "5".into()),
        ];
        assert_eq!(
            with_query("/api/v1/pods".into(), &q),
            "/api/v1/pods?labelSelector=app+in+%28a%2Cb%29&limit=5"
        );
    }

    #[test]
    fn names_cannot_change_the_path_or_query() {
        let seg = |v: &str| path_segment("configmaps", "object name", v);
        assert_eq!(seg("victim#junk").unwrap(), "victim%23junk");
        assert_eq!(seg("x?dryRun=All").unwrap(), "x%3FdryRun%3DAll");
        assert_eq!(seg("a b").unwrap(), "a%20b");
        assert_eq!(seg("web-0.v1_x~y").unwrap(), "web-0.v1_x~y");
        for bad in ["", ".", "..", "a/b", "vic%74im", "../secrets"] {
            let err = seg(bad).unwrap_err();
            assert!(err.to_string().contains("configmaps"), "{err}");
        }
    }
}
