//! Bad input gives an error that names the file and the JSON pointer (and the
//! CRD and version), never a panic; `--keep-going` generates everything else.

use std::path::{Path, PathBuf};

use kubegen::GenerateOptions;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn err_of(opts: GenerateOptions) -> String {
    match kubegen::load_model(&opts) {
        Ok(m) => panic!(
            "expected an error, got a model with {} types",
            m.types.len()
        ),
        Err(e) => e.to_string(),
    }
}

const GOOD_CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer, format: int32}
"#;

#[test]
fn malformed_json_names_file_and_line() {
    let d = tempfile::tempdir().unwrap();
    let f = write(
        d.path(),
        "swagger.json",
        "{\"swagger\": \"2.0\", \"definitions\": {",
    );
    let e = err_of(GenerateOptions {
        specs: vec![f.clone()],
        ..Default::default()
    });
    assert!(
        e.contains(&f.display().to_string()) && e.contains("line 1"),
        "{e}"
    );
}

#[test]
fn malformed_yaml_names_file_and_document() {
    let d = tempfile::tempdir().unwrap();
    let f = write(
        d.path(),
        "crds.yaml",
        &format!("{GOOD_CRD}\n---\nkind: [unclosed\n"),
    );
    let e = err_of(GenerateOptions {
        crds: vec![f.clone()],
        ..Default::default()
    });
    assert!(
        e.contains(&f.display().to_string()) && e.contains("document 1"),
        "{e}"
    );
}

#[test]
fn dangling_ref_names_the_pointer() {
    let d = tempfile::tempdir().unwrap();
    let f = write(
        d.path(),
        "swagger.json",
        r##"{"swagger":"2.0","definitions":{"io.example.v1.A":{"type":"object","properties":{"b":{"$ref":"#/definitions/io.example.v1.Missing"}}}}}"##,
    );
    let e = err_of(GenerateOptions {
        specs: vec![f.clone()],
        ..Default::default()
    });
    assert!(e.contains(&f.display().to_string()), "{e}");
    assert!(
        e.contains("#/definitions/io.example.v1.A/properties/b/$ref"),
        "{e}"
    );
    assert!(
        e.contains("dangling $ref") && e.contains("io.example.v1.Missing"),
        "{e}"
    );
}

#[test]
fn cyclic_ref_is_an_error_naming_the_chain() {
    let d = tempfile::tempdir().unwrap();
    let f = write(
        d.path(),
        "swagger.json",
        r##"{"swagger":"2.0","definitions":{
            "io.example.v1.A":{"$ref":"#/definitions/io.example.v1.B"},
            "io.example.v1.B":{"$ref":"#/definitions/io.example.v1.A"}}}"##,
    );
    let e = err_of(GenerateOptions {
        specs: vec![f.clone()],
        ..Default::default()
    });
    assert!(
        e.contains("cyclic $ref")
            && e.contains("io.example.v1.A -> io.example.v1.B -> io.example.v1.A"),
        "{e}"
    );
    assert!(e.contains("#/definitions/io.example.v1.A"), "{e}");
}

#[test]
fn recursive_struct_is_not_an_error_but_boxed() {
    let d = tempfile::tempdir().unwrap();
    let f = write(
        d.path(),
        "swagger.json",
        r##"{"swagger":"2.0","definitions":{
            "io.example.v1.Node":{"type":"object","properties":{"next":{"$ref":"#/definitions/io.example.v1.Node"},"kids":{"type":"array","items":{"$ref":"#/definitions/io.example.v1.Node"}}}}}}"##,
    );
    let m = kubegen::load_model(&GenerateOptions {
        specs: vec![f],
        ..Default::default()
    })
    .unwrap();
    let kubegen::model::TypeKind::Struct(s) = &m.types["io.example.v1.Node"].kind else {
        panic!()
    };
    let by_name = |n: &str| s.fields.iter().find(|f| f.json_name == n).unwrap();
    assert!(
        by_name("next").boxed,
        "a by-value self reference needs a Box"
    );
    assert!(!by_name("kids").boxed, "Vec already gives indirection");
}

#[test]
fn crd_without_schema_names_crd_version_and_pointer() {
    let d = tempfile::tempdir().unwrap();
    let text = GOOD_CRD.replace(
        "    schema:\n      openAPIV3Schema:\n        type: object\n        properties:\n          spec:\n            type: object\n            properties:\n              size: {type: integer, format: int32}\n",
        "",
    );
    let f = write(d.path(), "w.yaml", &text);
    let e = err_of(GenerateOptions {
        crds: vec![f.clone()],
        ..Default::default()
    });
    assert!(e.contains(&f.display().to_string()), "{e}");
    assert!(e.contains("[CRD widgets.example.com v1]"), "{e}");
    assert!(
        e.contains("#/spec/versions/0/schema/openAPIV3Schema"),
        "{e}"
    );
    assert!(e.contains("no schema.openAPIV3Schema"), "{e}");
}

#[test]
fn unsupported_type_names_the_pointer() {
    let d = tempfile::tempdir().unwrap();
    let f = write(
        d.path(),
        "w.yaml",
        &GOOD_CRD.replace(
            "size: {type: integer, format: int32}",
            "size: {type: decimal}",
        ),
    );
    let e = err_of(GenerateOptions {
        crds: vec![f],
        ..Default::default()
    });
    assert!(
        e.contains("/openAPIV3Schema/properties/spec/properties/size/type"),
        "{e}"
    );
    assert!(e.contains("unsupported schema type \"decimal\""), "{e}");
}

#[test]
fn v1beta1_crd_is_rejected_with_advice() {
    let d = tempfile::tempdir().unwrap();
    let f = write(
        d.path(),
        "w.yaml",
        &GOOD_CRD.replace("apiextensions.k8s.io/v1", "apiextensions.k8s.io/v1beta1"),
    );
    let e = err_of(GenerateOptions {
        crds: vec![f],
        ..Default::default()
    });
    assert!(
        e.contains("#/apiVersion") && e.contains("convert it to apiextensions.k8s.io/v1"),
        "{e}"
    );
}

#[test]
fn keep_going_skips_broken_inputs_and_generates_the_rest() {
    let d = tempfile::tempdir().unwrap();
    let crds = d.path().join("crds");
    std::fs::create_dir(&crds).unwrap();
    write(&crds, "a-good.yaml", GOOD_CRD);
    write(&crds, "b-broken.yaml", "kind: [");
    write(
        &crds,
        "c-noschema.yaml",
        &GOOD_CRD
            .replace("widgets", "gadgets")
            .replace("Widget", "Gadget")
            .replace(
                "        type: object\n        properties:\n          spec:",
                "        type: string\n        properties:\n          spec:",
            ),
    );
    let out = d.path().join("out");
    let opts = GenerateOptions {
        crds: vec![crds],
        out: out.clone(),
        keep_going: true,
        ..Default::default()
    };
    let report = kubegen::generate(&opts).unwrap();
    assert_eq!(report.skipped.len(), 2, "{:?}", report.skipped);
    let all = report
        .skipped
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        all.contains("b-broken.yaml") && all.contains("c-noschema.yaml"),
        "{all}"
    );
    assert!(out.join("src/example/v1/widget.rs").is_file());
    assert!(!out.join("src/example/v1/gadget.rs").exists());
    // Without --keep-going the same input fails.
    let opts = GenerateOptions {
        keep_going: false,
        ..opts
    };
    assert!(kubegen::generate(&opts).is_err());
}

#[test]
fn odd_property_names_get_distinct_identifiers() {
    let d = tempfile::tempdir().unwrap();
    let f = write(
        d.path(),
        "w.yaml",
        &GOOD_CRD.replace(
            "size: {type: integer, format: int32}",
            "size: {type: integer, format: int32}\n              type: {type: string}\n              $ref: {type: string}\n              foo-bar: {type: string}\n              foo_bar: {type: string}\n              3d: {type: boolean}\n              x-kubernetes-thing: {type: string}",
        ),
    );
    let opts = GenerateOptions {
        crds: vec![f],
        ..Default::default()
    };
    let model = kubegen::load_model(&opts).unwrap();
    let files = kubegen::emit_files(&model, &opts).unwrap();
    let spec = &files[std::path::Path::new("src/example/v1/widget_spec.rs")];
    for want in [
        "pub type_: Option<String>",
        "rename = \"type\"",
        "pub ref_: Option<String>",
        "rename = \"$ref\"",
        "pub foo_bar: Option<String>",
        "rename = \"foo-bar\"",
        "pub foo_bar_2: Option<String>",
        "rename = \"foo_bar\"",
        "pub f3d: Option<bool>",
        "pub x_kubernetes_thing: Option<String>",
    ] {
        assert!(spec.contains(want), "missing {want:?} in\n{spec}");
    }
}
