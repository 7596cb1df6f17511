//! Same input, same bytes: whatever the order inputs are given in a directory
//! and however often generation runs.

mod common;

use kubegen::GenerateOptions;

#[test]
fn full_spec_generation_is_byte_identical_across_runs() {
    let opts = GenerateOptions {
        specs: vec![common::v137_swagger()],
        ..Default::default()
    };
    let a = kubegen::emit_files(&kubegen::load_model(&opts).unwrap(), &opts).unwrap();
    let b = kubegen::emit_files(&kubegen::load_model(&opts).unwrap(), &opts).unwrap();
    assert_eq!(a.len(), b.len());
    for (path, text) in &a {
        assert!(
            b.get(path) == Some(text),
            "{} differs between runs",
            path.display()
        );
    }
}

#[test]
fn crd_generation_does_not_depend_on_file_order() {
    // The same CRDs copied into directories whose listing order differs give
    // the same files (the loader sorts paths).
    let d = tempfile::tempdir().unwrap();
    let (x, y) = (d.path().join("x"), d.path().join("y"));
    std::fs::create_dir_all(&x).unwrap();
    std::fs::create_dir_all(&y).unwrap();
    let files = kubegen::spec::files_under(&common::fixtures_dir(), &["yaml"]).unwrap();
    assert!(files.len() >= 3, "CRD fixtures: {files:?}");
    for (i, f) in files.iter().enumerate() {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        std::fs::copy(f, x.join(&name)).unwrap();
        // Reverse creation order in y.
        let g = &files[files.len() - 1 - i];
        std::fs::copy(g, y.join(g.file_name().unwrap())).unwrap();
    }
    let gen_from = |dir: &std::path::Path| {
        let opts = GenerateOptions {
            crds: vec![dir.to_owned()],
            ..Default::default()
        };
        let mut m = kubegen::load_model(&opts).unwrap();
        m.inputs = vec!["crds".into()];
        kubegen::emit_files(&m, &opts).unwrap()
    };
    assert_eq!(gen_from(&x), gen_from(&y));
}
