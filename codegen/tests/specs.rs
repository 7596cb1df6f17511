//! The v1.37 spec (in the repository) generates, from v2 and from v3 inputs,
//! with the resources, verbs and subresources the server serves. Every
//! release in ../shared is tests/release_compile.rs's.

mod common;

use kubegen::GenerateOptions;

#[test]
fn v137_v2_and_v3_inputs_agree_on_resources() {
    let v2 = common::generate_in_memory(vec![common::v137_swagger()]);
    let v3 = common::generate_in_memory(vec![
        common::workspace_root().join("openapi-specs/v1.37/v3"),
    ]);
    assert_eq!(v2.0, v3.0, "resources with types from swagger.json vs v3/");
}

#[test]
fn v137_resources_have_the_verbs_and_subresources_the_server_serves() {
    let opts = GenerateOptions {
        specs: vec![common::v137_swagger()],
        ..Default::default()
    };
    let model = kubegen::load_model(&opts).unwrap();
    let find = |g: &str, p: &str| {
        model
            .resources
            .iter()
            .find(|r| r.group == g && r.plural == p)
            .unwrap_or_else(|| panic!("no {g}/{p}"))
    };
    use kubegen::model::Verb::*;
    let pods = find("", "pods");
    assert!(pods.namespaced);
    assert!(pods.strategic_merge_patch);
    for v in [
        Get,
        List,
        Watch,
        Create,
        Update,
        Patch,
        Delete,
        DeleteCollection,
    ] {
        assert!(pods.verbs.contains(&v), "pods lacks {v:?}");
    }
    for s in [
        "status",
        "log",
        "eviction",
        "binding",
        "exec",
        "attach",
        "portforward",
        "ephemeralcontainers",
        "resize",
        "proxy",
    ] {
        assert!(
            pods.subresources.contains_key(s),
            "pods lacks subresource {s}"
        );
    }
    assert_eq!(
        pods.subresources["eviction"].type_id.as_deref(),
        Some("io.k8s.api.policy.v1.Eviction")
    );
    let deploy = find("apps", "deployments");
    assert_eq!(
        deploy.subresources["scale"].type_id.as_deref(),
        Some("io.k8s.api.autoscaling.v1.Scale")
    );
    assert_eq!(
        find("", "serviceaccounts").subresources["token"]
            .type_id
            .as_deref(),
        Some("io.k8s.api.authentication.v1.TokenRequest")
    );
    assert!(!find("", "nodes").namespaced);
    // Review kinds are create-only.
    let tr = find("authentication.k8s.io", "tokenreviews");
    assert_eq!(tr.verbs.iter().copied().collect::<Vec<_>>(), vec![Create]);
    // Strategic merge patch is offered where the spec says so, not everywhere.
    assert!(find("apps", "deployments").strategic_merge_patch);
    assert!(
        !find("", "serviceaccounts").subresources["token"]
            .verbs
            .contains(&Patch)
    );
}

#[test]
fn group_and_resource_filters_keep_only_what_the_resources_reach() {
    let opts = GenerateOptions {
        specs: vec![common::v137_swagger()],
        groups: vec!["apps".into()],
        resources: vec!["deployments".into()],
        ..Default::default()
    };
    let model = kubegen::load_model(&opts).unwrap();
    let plurals: Vec<&str> = model.resources.iter().map(|r| r.plural.as_str()).collect();
    assert_eq!(plurals, vec!["deployments"]);
    let has = |id: &str| model.types.contains_key(id);
    assert!(has("io.k8s.api.apps.v1.Deployment") && has("io.k8s.api.apps.v1.DeploymentList"));
    assert!(
        has("io.k8s.api.core.v1.PodSpec"),
        "reached through the pod template"
    );
    assert!(
        has("io.k8s.api.autoscaling.v1.Scale"),
        "reached through the scale subresource"
    );
    assert!(!has("io.k8s.api.batch.v1.Job") && !has("io.k8s.api.apps.v1.StatefulSet"));
    let files = kubegen::emit_files(&model, &opts).unwrap();
    assert!(files.contains_key(std::path::Path::new("src/apps/v1/deployment.rs")));
    assert!(!files.contains_key(std::path::Path::new("src/batch/v1/job.rs")));
}

/// The `connect` subresources with a client (exec, attach, portforward) become
/// verb markers on the kinds whose spec serves them: pods only in v1.37.
/// `nodes/proxy` and `services/proxy` are connect operations too, without one.
#[test]
fn v137_connect_subresources_become_markers_on_pods_only() {
    let opts = GenerateOptions {
        specs: vec![common::v137_swagger()],
        ..Default::default()
    };
    let model = kubegen::load_model(&opts).unwrap();
    let files = kubegen::emit_files(&model, &opts).unwrap();
    for verb in ["Exec", "Attach", "PortForward"] {
        let needle = format!("impl kubegen_core::verbs::{verb} for ");
        let kinds: Vec<String> = files
            .values()
            .flat_map(|text| {
                text.match_indices(&needle)
                    .map(|(i, _)| i + needle.len())
                    .map(move |i| text[i..].split(' ').next().unwrap_or("").to_owned())
            })
            .collect();
        assert_eq!(kinds, ["Pod"], "kinds with verbs::{verb}");
    }
}
