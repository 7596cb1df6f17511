//! Request options, mirroring client-go's `metav1.*Options` (field names in
//! snake_case), with builder methods.
//!
//! Every option type knows how to render itself as URL query parameters
//! (`to_query`); [`DeleteOptions`] is sent as a JSON body, as the API expects.
//! Unset fields are not sent, so the server's defaults apply.

use std::fmt;

use serde::Serialize;

/// `dryRun=All`: the server validates and admits but does not persist.
const DRY_RUN_ALL: &str = "All";

/// How `resourceVersion` is interpreted on list (`metav1.ResourceVersionMatch`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResourceVersionMatch {
    /// Served at exactly the given version.
    Exact,
    /// Served at the given version or newer.
    NotOlderThan,
}

impl ResourceVersionMatch {
    fn as_str(self) -> &'static str {
        match self {
            Self::Exact => "Exact",
            Self::NotOlderThan => "NotOlderThan",
        }
    }
}

/// Whether unknown or duplicate fields are rejected (`fieldValidation`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldValidation {
    /// Silently drop them.
    Ignore,
    /// Accept, and report each as a `Warning:` header.
    Warn,
    /// Fail the request.
    Strict,
}

impl FieldValidation {
    fn as_str(self) -> &'static str {
        match self {
            Self::Ignore => "Ignore",
            Self::Warn => "Warn",
            Self::Strict => "Strict",
        }
    }
}

/// Query parameters as pairs, in a stable order.
pub type Query = Vec<(&'static str, String)>;

/// Options of `get` (`metav1.GetOptions`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GetOptions {
    /// Serve from the cache at this version or newer (`"0"`: any cached version).
    pub resource_version: Option<String>,
}

impl GetOptions {
    /// Set `resourceVersion`.
    pub fn resource_version(mut self, rv: impl Into<String>) -> Self {
        self.resource_version = Some(rv.into());
        self
    }

    /// The query parameters these options become.
    pub fn to_query(&self) -> Query {
        let mut q = Query::new();
        push(&mut q, "resourceVersion", self.resource_version.clone());
        q
    }
}

/// Options of `list` and `watch` (`metav1.ListOptions`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListOptions {
    /// Label selector, e.g. `app=web,tier in (a,b)`.
    pub label_selector: Option<String>,
    /// Field selector, e.g. `metadata.name=x`; see [`FieldSelector`](crate::fields::FieldSelector).
    pub field_selector: Option<String>,
    /// Maximum items per response (list only); the server then sets `continue`.
    pub limit: Option<i64>,
    /// Continue token from the previous page's `ListMeta`.
    pub continue_: Option<String>,
    /// List at / watch from this resource version.
    pub resource_version: Option<String>,
    /// How `resource_version` is matched on list.
    pub resource_version_match: Option<ResourceVersionMatch>,
    /// Server-side timeout of the call (for watch, how long it stays open).
    pub timeout_seconds: Option<i64>,
    /// Ask for `BOOKMARK` events on watch.
    pub allow_watch_bookmarks: bool,
    /// Watch starts with synthetic `ADDED` events for the current state, then a
    /// bookmark annotated `k8s.io/initial-events-end` (watch-list).
    pub send_initial_events: Option<bool>,
}

impl ListOptions {
    /// Set the label selector: a string, or a typed
    /// [`Selector`](crate::selector::Selector) (anything that displays as one).
    pub fn label_selector(mut self, selector: impl fmt::Display) -> Self {
        self.label_selector = Some(selector.to_string());
        self
    }
    /// Set the field selector: a string or a typed
    /// [`FieldSelector`](crate::fields::FieldSelector).
    pub fn field_selector(mut self, selector: impl fmt::Display) -> Self {
        self.field_selector = Some(selector.to_string());
        self
    }
    /// Set the page size.
    pub fn limit(mut self, limit: i64) -> Self {
        self.limit = Some(limit);
        self
    }
    /// Set the continue token.
    pub fn continue_token(mut self, token: impl Into<String>) -> Self {
        self.continue_ = Some(token.into());
        self
    }
    /// Set `resourceVersion`.
    pub fn resource_version(mut self, rv: impl Into<String>) -> Self {
        self.resource_version = Some(rv.into());
        self
    }
    /// Set `resourceVersionMatch`.
    pub fn resource_version_match(mut self, m: ResourceVersionMatch) -> Self {
        self.resource_version_match = Some(m);
        self
    }
    /// Set `timeoutSeconds`.
    pub fn timeout_seconds(mut self, seconds: i64) -> Self {
        self.timeout_seconds = Some(seconds);
        self
    }
    /// Set `allowWatchBookmarks`.
    pub fn allow_watch_bookmarks(mut self, allow: bool) -> Self {
        self.allow_watch_bookmarks = allow;
        self
    }
    /// Set `sendInitialEvents`.
    pub fn send_initial_events(mut self, send: bool) -> Self {
        self.send_initial_events = Some(send);
        self
    }

    /// Query of a list call: watch-only fields are left out.
    pub fn to_list_query(&self) -> Query {
        let mut q = self.common_query();
        push(&mut q, "limit", self.limit.map(|l| l.to_string()));
        push(&mut q, "continue", self.continue_.clone());
        push(
            &mut q,
            "resourceVersionMatch",
            self.resource_version_match.map(|m| m.as_str().into()),
        );
        q
    }

    /// Query of a watch call: `watch=true`, bookmarks and initial events.
    pub fn to_watch_query(&self) -> Query {
        let mut q = vec![("watch", "true".to_owned())];
        q.extend(self.common_query());
        if self.allow_watch_bookmarks {
            q.push(("allowWatchBookmarks", "true".into()));
        }
        push(
            &mut q,
            "sendInitialEvents",
            self.send_initial_events.map(|b| b.to_string()),
        );
        // The server requires NotOlderThan together with sendInitialEvents.
        push(
            &mut q,
            "resourceVersionMatch",
            self.resource_version_match.map(|m| m.as_str().into()),
        );
        q
    }

    fn common_query(&self) -> Query {
        let mut q = Query::new();
        push(
            &mut q,
            "labelSelector",
            self.label_selector.clone().filter(|s| !s.is_empty()),
        );
        push(
            &mut q,
            "fieldSelector",
            self.field_selector.clone().filter(|s| !s.is_empty()),
        );
        push(&mut q, "resourceVersion", self.resource_version.clone());
        push(
            &mut q,
            "timeoutSeconds",
            self.timeout_seconds.map(|t| t.to_string()),
        );
        q
    }
}

/// Options shared by the write verbs: create, update and patch.
macro_rules! write_options {
    ($(#[$doc:meta])* $name:ident $(, $(#[$flag_doc:meta])* $flag:ident = $param:literal)*) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq)]
        pub struct $name {
            /// Validate and admit, but do not persist (`dryRun=All`).
            pub dry_run: bool,
            /// Name of the actor making the change, recorded in `managedFields`.
            pub field_manager: Option<String>,
            /// How unknown or duplicate fields are handled.
            pub field_validation: Option<FieldValidation>,
            $($(#[$flag_doc])* pub $flag: bool,)*
        }

        impl $name {
            /// Set `dryRun=All` when `dry_run` is true.
            pub fn dry_run(mut self, dry_run: bool) -> Self {
                self.dry_run = dry_run;
                self
            }
            /// Set `fieldManager`.
            pub fn field_manager(mut self, manager: impl Into<String>) -> Self {
                self.field_manager = Some(manager.into());
                self
            }
            /// Set `fieldValidation`.
            pub fn field_validation(mut self, v: FieldValidation) -> Self {
                self.field_validation = Some(v);
                self
            }
            $(
                $(#[$flag_doc])*
                pub fn $flag(mut self, $flag: bool) -> Self {
                    self.$flag = $flag;
                    self
                }
            )*

            /// The query parameters these options become.
            pub fn to_query(&self) -> Query {
                let mut q = Query::new();
                if self.dry_run {
                    q.push(("dryRun", DRY_RUN_ALL.into()));
                }
                push(&mut q, "fieldManager", self.field_manager.clone());
                push(&mut q, "fieldValidation", self.field_validation.map(|v| v.as_str().into()));
                $(
                    if self.$flag {
                        q.push(($param, "true".into()));
                    }
                )*
                q
            }
        }
    };
}

write_options! {
    /// Options of `create` (`metav1.CreateOptions`).
    CreateOptions
}
write_options! {
    /// Options of `update` (`metav1.UpdateOptions`).
    UpdateOptions
}
write_options! {
    /// Options of `patch` (`metav1.PatchOptions`); apply patches need a
    /// field manager.
    PatchOptions,
    /// Apply only: take ownership of fields other managers own.
    force = "force"
}

/// Options of server-side apply: a field manager is required.
#[derive(Clone, Debug, PartialEq)]
pub struct ApplyOptions {
    /// Name of the applier; apply configurations are owned per manager.
    pub field_manager: String,
    /// Take ownership of fields other managers own instead of failing with a conflict.
    pub force: bool,
    /// Validate and admit, but do not persist.
    pub dry_run: bool,
    /// How unknown or duplicate fields are handled.
    pub field_validation: Option<FieldValidation>,
}

impl ApplyOptions {
    /// Apply as `field_manager`.
    pub fn new(field_manager: impl Into<String>) -> Self {
        Self {
            field_manager: field_manager.into(),
            force: false,
            dry_run: false,
            field_validation: None,
        }
    }
    /// Set `force`.
    pub fn force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }
    /// Set `dryRun=All` when `dry_run` is true.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }
    /// Set `fieldValidation`.
    pub fn field_validation(mut self, v: FieldValidation) -> Self {
        self.field_validation = Some(v);
        self
    }

    /// The patch options of an apply (a server-side apply is a patch).
    pub fn to_patch_options(&self) -> PatchOptions {
        PatchOptions {
            dry_run: self.dry_run,
            field_manager: Some(self.field_manager.clone()),
            field_validation: self.field_validation,
            force: self.force,
        }
    }
}

/// What happens to dependents when an owner is deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum PropagationPolicy {
    /// Leave dependents in place.
    Orphan,
    /// Delete the owner now, dependents in the background.
    Background,
    /// Delete dependents first, then the owner.
    Foreground,
}

/// Delete only when the object still has this UID / resource version.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Preconditions {
    /// Required UID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Required resource version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
}

/// Options of `delete` and `delete_collection` (`metav1.DeleteOptions`),
/// sent as the request body.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteOptions {
    /// Seconds before the object is removed; 0 deletes at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grace_period_seconds: Option<i64>,
    /// Conditions the object must meet to be deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preconditions: Option<Preconditions>,
    /// How dependents are handled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub propagation_policy: Option<PropagationPolicy>,
    /// Validate and admit, but do not delete.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dry_run: Vec<String>,
}

impl DeleteOptions {
    /// Set `gracePeriodSeconds`.
    pub fn grace_period_seconds(mut self, seconds: i64) -> Self {
        self.grace_period_seconds = Some(seconds);
        self
    }
    /// Set `propagationPolicy`.
    pub fn propagation_policy(mut self, p: PropagationPolicy) -> Self {
        self.propagation_policy = Some(p);
        self
    }
    /// Set `preconditions`.
    pub fn preconditions(mut self, p: Preconditions) -> Self {
        self.preconditions = Some(p);
        self
    }
    /// Set `dryRun=All` when `dry_run` is true.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = if dry_run {
            vec![DRY_RUN_ALL.into()]
        } else {
            Vec::new()
        };
        self
    }
}

fn push(q: &mut Query, key: &'static str, value: Option<String>) {
    if let Some(v) = value {
        q.push((key, v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_query_leaves_out_unset_and_watch_only_fields() {
        let o = ListOptions::default()
            .label_selector("app=web")
            .limit(100)
            .continue_token("abc")
            .allow_watch_bookmarks(true);
        assert_eq!(
            o.to_list_query(),
            vec![
                ("labelSelector", "app=web".into()),
                ("limit", "100".into()),
                ("continue", "abc".into())
            ]
        );
    }

    #[test]
    fn watch_query_has_watch_bookmarks_and_initial_events() {
        let o = ListOptions::default()
            .resource_version("42")
            .allow_watch_bookmarks(true)
            .send_initial_events(true)
            .resource_version_match(ResourceVersionMatch::NotOlderThan)
            .limit(5);
        assert_eq!(
            o.to_watch_query(),
            vec![
                ("watch", "true".into()),
                ("resourceVersion", "42".into()),
                ("allowWatchBookmarks", "true".into()),
                ("sendInitialEvents", "true".into()),
                ("resourceVersionMatch", "NotOlderThan".into()),
            ]
        );
    }

    #[test]
    fn delete_options_serialize_as_the_api_expects() {
        let o = DeleteOptions::default()
            .propagation_policy(PropagationPolicy::Foreground)
            .grace_period_seconds(0)
            .preconditions(Preconditions {
                resource_version: Some("7".into()),
                uid: None,
            })
            .dry_run(true);
        assert_eq!(
            serde_json::to_string(&o).unwrap(),
            r#"{"gracePeriodSeconds":0,"preconditions":{"resourceVersion":"7"},"propagationPolicy":"Foreground","dryRun":["All"]}"#
        );
        assert_eq!(
            serde_json::to_string(&DeleteOptions::default()).unwrap(),
            "{}"
        );
    }

    #[test]
    fn apply_options_force_and_manager_reach_the_query() {
        let q = ApplyOptions::new("mgr")
            .force(true)
            .to_patch_options()
            .to_query();
        assert_eq!(
            q,
            vec![("fieldManager", "mgr".into()), ("force", "true".into())]
        );
    }
}

/// Options of `pods/{name}/log` (`corev1.PodLogOptions`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogOptions {
    /// Container; required when the pod has more than one.
    pub container: Option<String>,
    /// Keep the stream open and follow new output.
    pub follow: bool,
    /// The previous, terminated container instance.
    pub previous: bool,
    /// Only output newer than this many seconds.
    pub since_seconds: Option<i64>,
    /// Only the last N lines.
    pub tail_lines: Option<i64>,
    /// Prefix lines with RFC 3339 timestamps.
    pub timestamps: bool,
    /// Stop after this many bytes.
    pub limit_bytes: Option<i64>,
}

impl LogOptions {
    /// The query parameters these options become.
    pub fn to_query(&self) -> Query {
        let mut q = Query::new();
        push(&mut q, "container", self.container.clone());
        if self.follow {
            q.push(("follow", "true".into()));
        }
        if self.previous {
            q.push(("previous", "true".into()));
        }
        push(
            &mut q,
            "sinceSeconds",
            self.since_seconds.map(|v| v.to_string()),
        );
        push(&mut q, "tailLines", self.tail_lines.map(|v| v.to_string()));
        if self.timestamps {
            q.push(("timestamps", "true".into()));
        }
        push(
            &mut q,
            "limitBytes",
            self.limit_bytes.map(|v| v.to_string()),
        );
        q
    }
}

/// Options of `pods/{name}/exec` and `pods/{name}/attach`
/// (`corev1.PodExecOptions` / `PodAttachOptions`), as kube-rs's `AttachParams`.
///
/// The default attaches stdout and stderr, without stdin or a terminal.
#[derive(Clone, Debug, PartialEq)]
pub struct AttachParams {
    /// Container; required when the pod has more than one.
    pub container: Option<String>,
    /// Attach stdin: the process handle then offers a writer.
    pub stdin: bool,
    /// Attach stdout.
    pub stdout: bool,
    /// Attach stderr (not with `tty`: a terminal merges it into stdout).
    pub stderr: bool,
    /// Allocate a terminal: the process handle then offers a resize sender.
    pub tty: bool,
}

impl Default for AttachParams {
    fn default() -> Self {
        Self {
            container: None,
            stdin: false,
            stdout: true,
            stderr: true,
            tty: false,
        }
    }
}

impl AttachParams {
    /// stdin, stdout and a terminal, no stderr: an interactive shell.
    pub fn interactive_tty() -> Self {
        Self {
            container: None,
            stdin: true,
            stdout: true,
            stderr: false,
            tty: true,
        }
    }
    /// Set the container.
    pub fn container(mut self, name: impl Into<String>) -> Self {
        self.container = Some(name.into());
        self
    }
    /// Attach stdin or not.
    pub fn stdin(mut self, on: bool) -> Self {
        self.stdin = on;
        self
    }
    /// Attach stdout or not.
    pub fn stdout(mut self, on: bool) -> Self {
        self.stdout = on;
        self
    }
    /// Attach stderr or not.
    pub fn stderr(mut self, on: bool) -> Self {
        self.stderr = on;
        self
    }
    /// Allocate a terminal or not.
    pub fn tty(mut self, on: bool) -> Self {
        self.tty = on;
        self
    }

    /// The query, after the checks the server would make (so the mistake is
    /// reported before a connection is opened).
    pub fn to_query(&self, what: &str) -> Result<Query, crate::Error> {
        if !(self.stdin || self.stdout || self.stderr) {
            return Err(crate::Error::InvalidRequest(format!(
                "{what}: attach at least one of stdin, stdout and stderr"
            )));
        }
        if self.tty && self.stderr {
            return Err(crate::Error::InvalidRequest(format!(
                "{what}: stderr cannot be attached with tty (the terminal merges it into stdout)"
            )));
        }
        let mut q = Query::new();
        push(&mut q, "container", self.container.clone());
        for (key, on) in [
            ("stdin", self.stdin),
            ("stdout", self.stdout),
            ("stderr", self.stderr),
            ("tty", self.tty),
        ] {
            q.push((key, on.to_string()));
        }
        Ok(q)
    }
}
