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

/// The emitted `widget_spec.rs` of [`GOOD_CRD`] with `extra` (YAML lines at
/// the indentation of its spec's properties) added to the spec.
fn widget_spec_with(extra: &str) -> String {
    let d = tempfile::tempdir().unwrap();
    let size = "size: {type: integer, format: int32}";
    let f = write(
        d.path(),
        "w.yaml",
        &GOOD_CRD.replace(size, &format!("{size}{extra}")),
    );
    let opts = GenerateOptions {
        crds: vec![f],
        ..Default::default()
    };
    let model = kubegen::load_model(&opts).unwrap();
    let mut files = kubegen::emit_files(&model, &opts).unwrap();
    files
        .remove(std::path::Path::new("src/example/v1/widget_spec.rs"))
        .unwrap()
}

#[test]
fn odd_property_names_get_distinct_identifiers() {
    let spec = widget_spec_with(
        "\n              type: {type: string}\n              $ref: {type: string}\n              foo-bar: {type: string}\n              foo_bar: {type: string}\n              3d: {type: boolean}\n              x-kubernetes-thing: {type: string}",
    );
    for want in [
        "pub type_: Option<kubegen_core::CompactString>",
        "rename = \"type\"",
        "pub ref_: Option<kubegen_core::CompactString>",
        "rename = \"$ref\"",
        "pub foo_bar: Option<kubegen_core::CompactString>",
        "rename = \"foo-bar\"",
        "pub foo_bar_2: Option<kubegen_core::CompactString>",
        "rename = \"foo_bar\"",
        "pub f3d: Option<bool>",
        "pub x_kubernetes_thing: Option<kubegen_core::CompactString>",
    ] {
        assert!(spec.contains(want), "missing {want:?} in\n{spec}");
    }
}

// Names the API server accepts but that are not Rust identifiers. The server
// validates a CRD's plural and singular as DNS-1035 labels (`[a-z]([-a-z0-9]*[a-z0-9])?`)
// and its kind and listKind as DNS-1035 labels once lower-cased, so a kind may
// hold `-` and digits but cannot start with a digit; version names are
// DNS-1035 labels too. Property names are free-form.
const ODD_NAMES_CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: foo-bars.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Foo-Bar, plural: foo-bars, singular: foo-bar, listKind: Foo-BarList}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [2fa-code]
            properties:
              2fa-code: {type: string}
              type: {type: string}
              fooBar: {type: string}
              foo_bar: {type: string}
              sub-item:
                type: object
                properties:
                  x-y: {type: integer}
  - name: v2-beta1
    served: true
    storage: false
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: foobars.example.com}
spec:
  group: example.com
  scope: Cluster
  names: {kind: FooBar, plural: foobars}
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
              size: {type: integer}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: x9-things.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {kind: X9-2Thing, plural: x9-things}
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
              size: {type: integer}
"#;

/// Every emitted `.rs` file parses as Rust.
fn assert_all_parse(files: &kubegen::emit::Files) {
    for (path, text) in files {
        if path.extension().is_some_and(|e| e == "rs")
            && let Err(e) = syn::parse_file(text)
        {
            panic!("{} does not parse: {e}\n{text}", path.display());
        }
    }
}

fn file<'f>(files: &'f kubegen::emit::Files, path: &str) -> &'f str {
    files
        .get(Path::new(path))
        .unwrap_or_else(|| panic!("no {path} in {:?}", files.keys().collect::<Vec<_>>()))
}

#[test]
fn kinds_plurals_and_properties_the_server_accepts_become_identifiers() {
    let d = tempfile::tempdir().unwrap();
    let crds = d.path().join("crds");
    std::fs::create_dir(&crds).unwrap();
    write(&crds, "odd.yaml", ODD_NAMES_CRD);
    let out = d.path().join("out");
    let opts = GenerateOptions {
        crds: vec![crds],
        out: out.clone(),
        ..Default::default()
    };
    let model = kubegen::load_model(&opts).unwrap();
    let files = kubegen::emit_files(&model, &opts).unwrap();
    assert_all_parse(&files);

    // A kind that needs no change keeps its name; `Foo-Bar` becomes
    // `FooBar` where that is free and `FooBar2` where the valid kind has it.
    let v1 = file(&files, "src/example/v1/foo_bar.rs");
    assert!(v1.contains("pub struct FooBar {"), "{v1}");
    assert!(v1.contains("const KIND: &'static str = \"FooBar\""), "{v1}");
    let odd = file(&files, "src/example/v1/foo_bar2.rs");
    for want in [
        "pub struct FooBar2 {",
        "pub struct FooBar2ApplyConfiguration {",
        "pub fn extract_foo_bar2(",
        // The wire names stay the original strings.
        "const KIND: &'static str = \"Foo-Bar\"",
        "const PLURAL: &'static str = \"foo-bars\"",
        "Some(\"Foo-Bar\".to_owned())",
        "pub spec: Option<super::FooBar2Spec>",
    ] {
        assert!(odd.contains(want), "missing {want:?} in\n{odd}");
    }
    let spec = file(&files, "src/example/v1/foo_bar2_spec.rs");
    for want in [
        "pub struct FooBar2Spec {",
        "#[serde(rename = \"2fa-code\")]\n    pub f2fa_code: kubegen_core::CompactString,",
        "pub type_: Option<kubegen_core::CompactString>",
        "rename = \"type\"",
        "pub foo_bar: Option<kubegen_core::CompactString>",
        "rename = \"fooBar\"",
        "pub foo_bar_2: Option<kubegen_core::CompactString>",
        "rename = \"foo_bar\"",
        "pub sub_item: Option<super::FooBar2SpecSubItem>",
        "rename = \"sub-item\"",
        "pub fn with_f2fa_code(",
        "pub fn with_type(",
        "pub fn with_foo_bar_2(",
    ] {
        assert!(spec.contains(want), "missing {want:?} in\n{spec}");
    }
    let item = file(&files, "src/example/v1/foo_bar2_spec_sub_item.rs");
    assert!(item.contains("pub x_y: Option<i64>"), "{item}");
    assert!(item.contains("rename = \"x-y\""), "{item}");

    // No collision in `v2-beta1` (a module `v2_beta1`): plain `FooBar`.
    let v2 = file(&files, "src/example/v2_beta1/foo_bar.rs");
    assert!(v2.contains("pub struct FooBar {"), "{v2}");
    assert!(
        v2.contains("const KIND: &'static str = \"Foo-Bar\""),
        "{v2}"
    );
    assert!(
        v2.contains("const VERSION: &'static str = \"v2-beta1\""),
        "{v2}"
    );

    // Digits after a dash: `X9-2Thing` -> `X92Thing`, plural `x9-things`.
    let x = file(&files, "src/example/v1/x92_thing.rs");
    assert!(x.contains("pub struct X92Thing {"), "{x}");
    assert!(
        x.contains("const PLURAL: &'static str = \"x9-things\""),
        "{x}"
    );

    // Accessors: the valid plural keeps `foo_bars`, `foo-bars` gets the suffix.
    let client = file(&files, "src/example/v1/client.rs");
    for want in [
        "pub fn foo_bars(&self) -> kubegen_client::Client<super::FooBar>",
        "pub fn foo_bars_(&self, namespace: &str) -> kubegen_client::Client<super::FooBar2>",
        "pub fn x9_things(",
        "kubegen_client::Client<super::X92Thing>",
    ] {
        assert!(client.contains(want), "missing {want:?} in\n{client}");
    }
    let client = file(&files, "src/example/v2_beta1/client.rs");
    assert!(
        client.contains("pub fn foo_bars(&self, namespace: &str)"),
        "{client}"
    );
    let informers = file(&files, "src/example/v1/informers.rs");
    for want in [
        "pub type FooBar2Informer",
        "pub type FooBar2Lister",
        "pub trait FooBar2ListerExt",
        "pub fn foo_bars_(&self) -> FooBar2Informer",
        "pub fn foo_bars(&self) -> FooBarInformer",
        "fn foo_bars_(\n",
    ] {
        assert!(informers.contains(want), "missing {want:?} in\n{informers}");
    }
    let lib = file(&files, "src/lib.rs");
    assert!(lib.contains("pub mod example;"), "{lib}");
    let cargo = file(&files, "Cargo.toml");
    assert!(cargo.contains("example_v2_beta1 = []"), "{cargo}");

    // The same input written to disk twice gives the same bytes.
    kubegen::generate(&opts).unwrap();
    let again = kubegen::emit_files(&kubegen::load_model(&opts).unwrap(), &opts).unwrap();
    assert_eq!(files, again);
}

#[test]
fn groups_and_versions_that_join_to_one_feature_get_distinct_modules() {
    // `a.example.com` `b-v1` and `a-b.example.com` `v1` would both be the
    // feature and clientset accessor `a_b_v1`; `informers` and `start` are
    // names the crate and the informer factory use themselves.
    let crd = |group: &str, version: &str, kind: &str, plural: &str| {
        GOOD_CRD
            .replace("widgets.example.com", &format!("{plural}.{group}"))
            .replace("group: example.com", &format!("group: {group}"))
            .replace(
                "{kind: Widget, plural: widgets}",
                &format!("{{kind: {kind}, plural: {plural}}}"),
            )
            .replace("- name: v1", &format!("- name: {version}"))
    };
    let text = [
        crd("a.example.com", "b-v1", "Thing", "things"),
        crd("a-b.example.com", "v1", "Thing", "things"),
        crd("informers.example.com", "v1", "Gadget", "gadgets"),
        crd("start.example.com", "v1", "Widget", "widgets"),
    ]
    .join("---\n");
    let d = tempfile::tempdir().unwrap();
    let f = write(d.path(), "crds.yaml", &text);
    let opts = GenerateOptions {
        crds: vec![f],
        ..Default::default()
    };
    let model = kubegen::load_model(&opts).unwrap();
    let files = kubegen::emit_files(&model, &opts).unwrap();
    assert_all_parse(&files);
    let first = file(&files, "src/a/b_v1/thing.rs");
    assert!(
        first.contains("const VERSION: &'static str = \"b-v1\""),
        "{first}"
    );
    let second = file(&files, "src/a_b/v1_2/thing.rs");
    assert!(
        second.contains("const GROUP: &'static str = \"a-b.example.com\""),
        "{second}"
    );
    assert!(
        second.contains("const VERSION: &'static str = \"v1\""),
        "{second}"
    );
    let clientset = file(&files, "src/clientset.rs");
    for want in [
        "pub fn a_b_v1(&self) -> crate::a::b_v1::ABV1Client",
        "pub fn a_b_v1_2(&self) -> crate::a_b::v1_2::ABV12Client",
        "pub fn informers_v1(&self)",
        "pub fn start_v1(&self)",
    ] {
        assert!(clientset.contains(want), "missing {want:?} in\n{clientset}");
    }
    let lib = file(&files, "src/lib.rs");
    assert!(
        lib.contains("pub mod informers_;") && lib.contains("pub mod informers;"),
        "{lib}"
    );
    let factory = file(&files, "src/informers.rs");
    for want in [
        "pub fn start_(&self) -> StartInformers<'_>",
        "pub fn start(&self)",
        "pub fn informers_(&self) -> InformersInformers<'_>",
    ] {
        assert!(factory.contains(want), "missing {want:?} in\n{factory}");
    }
}

#[test]
fn packages_that_join_to_one_feature_are_an_error_naming_both() {
    let d = tempfile::tempdir().unwrap();
    let obj = r#"{"type":"object","properties":{"a":{"type":"string"}}}"#;
    let f = write(
        d.path(),
        "swagger.json",
        &format!(
            r#"{{"swagger":"2.0","definitions":{{"io.x.x.v1.Bar":{obj},"io.x.x_v1.Foo":{obj}}}}}"#
        ),
    );
    let e = err_of(GenerateOptions {
        specs: vec![f.clone()],
        ..Default::default()
    });
    assert!(e.contains(&f.display().to_string()), "{e}");
    assert!(e.contains("#/definitions/io.x.x_v1.Foo"), "{e}");
    assert!(e.contains("io.x.x.v1.Bar"), "{e}");
    assert!(e.contains("\"x_v1\""), "{e}");

    let f = write(
        d.path(),
        "swagger2.json",
        &format!(
            r#"{{"swagger":"2.0","definitions":{{"io.x.y.v1.Bar":{obj},"io.x.y.Foo":{obj}}}}}"#
        ),
    );
    let e = err_of(GenerateOptions {
        specs: vec![f],
        ..Default::default()
    });
    assert!(
        e.contains("#/definitions/io.x.y.Foo") && e.contains("io.x.y.v1.Bar"),
        "{e}"
    );
    assert!(e.contains("also the package of"), "{e}");
}

#[test]
fn number_fields_write_whole_values_as_go_does() {
    // A `number` field is an `f64`; its whole values must go back as `2`,
    // not `2.0`, or a read-modify-write rewrites the object.
    let spec = widget_spec_with("\n              ratio: {type: number}");
    assert!(
        spec.contains("serialize_with = \"kubegen_core::serde_support::optional_number\"")
            && spec.contains("pub ratio: Option<f64>"),
        "{spec}"
    );
}
