//! Protobuf from the release's `.proto` files (`--proto`): which types get a
//! `Message` impl, and that a field the `.proto` files lack keeps its type,
//! and every type holding it, JSON-only.

mod common;

use std::path::{Path, PathBuf};

use kubegen::GenerateOptions;

fn proto_dir() -> PathBuf {
    common::workspace_root().join("openapi-specs/v1.37/proto")
}

fn generate(proto: &Path) -> kubegen::Files {
    let opts = GenerateOptions {
        specs: vec![common::v137_swagger()],
        proto: Some(proto.to_owned()),
        ..Default::default()
    };
    let model = kubegen::load_model(&opts).unwrap();
    kubegen::emit_files(&model, &opts).unwrap_or_else(|e| panic!("{e}"))
}

fn file<'a>(files: &'a kubegen::Files, path: &str) -> &'a str {
    files
        .get(Path::new(path))
        .unwrap_or_else(|| panic!("no {path}"))
}

#[test]
fn every_kind_of_k8s_io_api_speaks_protobuf() {
    let files = generate(&proto_dir());
    let mut without = Vec::new();
    for (path, text) in &files {
        if text.contains("impl kubegen_core::Object for") && !text.contains("const PROTOBUF") {
            without.push(path.display().to_string());
        }
    }
    without.sort();
    // Their protobuf lives in other modules (apiextensions-apiserver,
    // kube-aggregator), whose clients speak JSON in client-go too.
    assert_eq!(
        without,
        [
            "src/apiextensions/v1/custom_resource_definition.rs",
            "src/apiregistration/v1/api_service.rs"
        ]
    );
    let probe = file(&files, "src/core/v1/probe.rs");
    // Go's embedded ProbeHandler: inline in JSON, message 1 in protobuf.
    assert!(
        probe.contains("pb::embedded(") && probe.contains("\"handler\""),
        "{probe}"
    );
    assert!(probe.contains("pb::embedded_header("), "{probe}");
    // Non-pointer int32 with omitempty: zero reads as unset.
    assert!(probe.contains("merge_nonzero"), "{probe}");
    // Go's named string slice `Verbs`: a wrapper message.
    let resource = file(&files, "src/meta/v1/api_resource.rs");
    assert!(resource.contains("pb::Items"), "{resource}");
}

#[test]
fn a_field_the_proto_files_lack_keeps_its_type_and_its_holders_json_only() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&proto_dir(), dir.path());
    let core = dir.path().join("k8s.io/api/core/v1/generated.proto");
    let text = std::fs::read_to_string(&core).unwrap();
    // An older .proto: Probe without its timeoutSeconds.
    let older = text.replacen("  optional int32 timeoutSeconds = 3;\n", "", 1);
    assert_ne!(older, text, "the line to remove is there");
    std::fs::write(&core, older).unwrap();
    let files = generate(dir.path());
    for path in [
        "src/core/v1/probe.rs",
        "src/core/v1/container.rs",
        "src/core/v1/pod.rs",
        "src/apps/v1/deployment.rs",
    ] {
        assert!(
            !file(&files, path).contains("proto::Message for"),
            "{path} still has protobuf"
        );
    }
    for path in ["src/core/v1/config_map.rs", "src/core/v1/service.rs"] {
        assert!(
            file(&files, path).contains("const PROTOBUF"),
            "{path} lost protobuf"
        );
    }
}

#[test]
fn a_broken_proto_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&proto_dir(), dir.path());
    let bad = dir.path().join("k8s.io/api/apps/v1/generated.proto");
    std::fs::write(&bad, "message Deployment {\n  optional string = ;\n").unwrap();
    let opts = GenerateOptions {
        specs: vec![common::v137_swagger()],
        proto: Some(dir.path().to_owned()),
        ..Default::default()
    };
    let model = kubegen::load_model(&opts).unwrap();
    let err = kubegen::emit_files(&model, &opts).unwrap_err().to_string();
    assert!(err.contains("apps/v1/generated.proto"), "{err}");
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}
