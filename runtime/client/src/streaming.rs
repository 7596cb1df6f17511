//! Streams to and from a pod: logs, exec, attach and port-forward.

use bytes::Bytes;
use futures::Stream;
use http::Method;

use super::paths::{escaped_path, uri_path, with_query};
use super::rest::empty_request;
use super::{AttachedProcess, Client, Portforwarder, exec, portforward, ws};
use kubegen_core::error::{Error, Result};
use kubegen_core::options::{AttachParams, LogOptions, Query};
use kubegen_core::resource::Object;
use kubegen_core::verbs;

impl<K: Object> Client<K> {
    /// `GET pods/{name}/log`, collected into a string.
    pub async fn logs(&self, name: &str, opts: &LogOptions) -> Result<String>
    where
        K: verbs::Log,
    {
        let req = empty_request(
            Method::GET,
            with_query(self.object_path(name, Some("log"))?, &opts.to_query()),
        )?;
        let bytes = self.rest.request_bytes(req).await?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// `GET pods/{name}/log` as a stream of chunks (`follow` keeps it open).
    pub async fn log_stream(
        &self,
        name: &str,
        opts: &LogOptions,
    ) -> Result<impl Stream<Item = Result<Bytes>> + Send + Unpin + 'static>
    where
        K: verbs::Log,
    {
        let req = empty_request(
            Method::GET,
            with_query(self.object_path(name, Some("log"))?, &opts.to_query()),
        )?;
        self.rest.request_stream(req).await
    }

    /// `GET {pods,services,nodes}/{name}/proxy/{path}` (client-go's
    /// `ProxyGet`): the API server forwards the request to the object's
    /// `port` (a number or a port name; `""` for the default) over `scheme`
    /// (`"https"`, or `""` for http), and its answer's body comes back as it
    /// is. `path` keeps its slashes; `query` is passed on.
    pub async fn proxy_get(
        &self,
        scheme: &str,
        name: &str,
        port: &str,
        path: &str,
        query: &Query,
    ) -> Result<Bytes>
    where
        K: verbs::Proxy,
    {
        // apimachinery's `JoinSchemeNamePort`.
        let target = match (scheme, port) {
            ("", "") => name.to_owned(),
            ("", port) => format!("{name}:{port}"),
            (scheme, port) => format!("{scheme}:{name}:{port}"),
        };
        let mut uri = self.object_path(&target, Some("proxy"))?;
        uri.push('/');
        uri.push_str(&escaped_path(path.trim_start_matches('/')));
        let req = empty_request(Method::GET, with_query(uri, query))?;
        self.rest.request_bytes(req).await
    }

    /// `pods/{name}/exec` over WebSocket: run `command` (program and
    /// arguments, no shell) in the pod's container. The handle gives the
    /// streams attached in `params` and the exit status; see
    /// [`AttachedProcess`]. Errors before the process starts (no such pod,
    /// forbidden, pod not yet on a node) are the server's typed [`Error::Api`].
    pub async fn exec<I, S>(
        &self,
        name: &str,
        command: I,
        params: &AttachParams,
    ) -> Result<AttachedProcess>
    where
        K: verbs::Exec,
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let path = self.object_path(name, Some("exec"))?;
        let mut q: Query = command.into_iter().map(|c| ("command", c.into())).collect();
        if q.is_empty() {
            return Err(Error::InvalidRequest(format!(
                "{path}: exec needs a command"
            )));
        }
        q.extend(params.to_query(&path)?);
        self.connect_process(with_query(path, &q), params).await
    }

    /// `pods/{name}/attach` over WebSocket: attach to the running process of
    /// the pod's container (as `kubectl attach`); see [`exec`](Self::exec).
    pub async fn attach(&self, name: &str, params: &AttachParams) -> Result<AttachedProcess>
    where
        K: verbs::Attach,
    {
        let path = self.object_path(name, Some("attach"))?;
        let q = params.to_query(&path)?;
        self.connect_process(with_query(path, &q), params).await
    }

    async fn connect_process(&self, uri: String, params: &AttachParams) -> Result<AttachedProcess> {
        let (ws, protocol) = ws::connect(&self.rest, &uri, exec::PROTOCOLS).await?;
        Ok(exec::start(
            ws,
            protocol,
            format!("GET {}", uri_path(&uri)),
            params.stdin,
            params.stdout,
            params.stderr,
            params.tty,
        ))
    }

    /// `pods/{name}/portforward` over WebSocket: one bidirectional stream per
    /// port of the pod (ports need not be declared in its spec); see
    /// [`Portforwarder`].
    pub async fn portforward(&self, name: &str, ports: &[u16]) -> Result<Portforwarder>
    where
        K: verbs::PortForward,
    {
        let path = self.object_path(name, Some("portforward"))?;
        // Two channels per port, numbered by one byte.
        if ports.is_empty() || ports.len() > 128 {
            return Err(Error::InvalidRequest(format!(
                "{path}: port-forward needs 1 to 128 ports, got {}",
                ports.len()
            )));
        }
        let mut seen = std::collections::HashSet::new();
        if let Some(p) = ports.iter().find(|p| **p == 0 || !seen.insert(**p)) {
            return Err(Error::InvalidRequest(format!(
                "{path}: port {p} is 0 or given twice"
            )));
        }
        let q: Query = ports.iter().map(|p| ("ports", p.to_string())).collect();
        let uri = with_query(path, &q);
        let (ws, _) = ws::connect(&self.rest, &uri, portforward::PROTOCOLS).await?;
        Ok(portforward::start(
            ws,
            ports,
            format!("GET {}", uri_path(&uri)),
        ))
    }
}
