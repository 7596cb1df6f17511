//! The `generate` pipeline: load, build, emit, write.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::diagnostics::Diagnostics;
use crate::emit::{self, EmitOptions, Files};
use crate::error::{Error, Result};
use crate::model::{self, BuildOptions, Model};
use crate::spec;

/// What to generate.
#[derive(Clone, Debug, Default)]
pub struct GenerateOptions {
    /// OpenAPI documents: `swagger.json`, a v3 document, or a directory of v3
    /// documents.
    pub specs: Vec<PathBuf>,
    /// CRD manifests: files or directories.
    pub crds: Vec<PathBuf>,
    /// Also read the OpenAPI documents a live cluster serves.
    pub from_cluster: Option<spec::ClusterSource>,
    /// Output crate directory.
    pub out: PathBuf,
    /// Keep only these API groups.
    pub groups: Vec<String>,
    /// Keep only these resources.
    pub resources: Vec<String>,
    /// Skip broken inputs instead of failing.
    pub keep_going: bool,
    /// Package name (default `kubegen-api` for specs, `kubegen-crds` for CRDs alone).
    pub crate_name: Option<String>,
    /// Write a workspace-member Cargo.toml.
    pub in_workspace: bool,
    /// A kubegen checkout whose runtime crates and kubegen-api a standalone
    /// crate depends on by path (default: the crates.io releases).
    pub kubegen_path: Option<std::path::PathBuf>,
    /// Print progress to stderr.
    pub progress: bool,
    /// Types only: no clientset.
    pub no_clientset: bool,
    /// The protobuf schema of built-in kinds: `.proto` files and `presence.tsv`.
    pub proto: Option<PathBuf>,
}

/// What `generate` did.
#[derive(Debug, Default)]
pub struct Report {
    /// Types emitted.
    pub types: usize,
    /// Resources with a typed client.
    pub resources: usize,
    /// Group/version modules.
    pub modules: usize,
    /// Files written because they changed.
    pub written: usize,
    /// Files left alone because they were already up to date.
    pub unchanged: usize,
    /// Stale generated files removed.
    pub removed: usize,
    /// What `--keep-going` skipped.
    pub skipped: Vec<Error>,
}

fn progress(on: bool, start: Instant, msg: &str) {
    if on {
        eprintln!("[{:>6.2}s] {msg}", start.elapsed().as_secs_f64());
    }
}

/// Loads all inputs and builds the model.
pub fn load_model(opts: &GenerateOptions) -> Result<Model> {
    let start = Instant::now();
    // A broken input stops the run, or with --keep-going is left out and
    // listed at the end.
    let mut diag = Diagnostics::keep_going(opts.keep_going);
    let mut docs = Vec::new();
    for s in &opts.specs {
        match spec::openapi::load(s) {
            Ok(d) => docs.extend(d),
            Err(e) => diag.fail_or_skip(e)?,
        }
    }
    let mut cluster_label = None;
    let mut crd_versions = Default::default();
    if let Some(src) = &opts.from_cluster {
        let fetched = fetch_cluster(src)?;
        crd_versions = fetched.crd_versions;
        let fetched = fetched.docs;
        cluster_label = Some(match &src.context {
            Some(c) => format!("the cluster of context {c}"),
            None => "the current cluster".to_owned(),
        });
        progress(
            opts.progress,
            start,
            &format!(
                "fetched {} OpenAPI document(s) from the cluster",
                fetched.len()
            ),
        );
        docs.extend(fetched);
    }
    progress(
        opts.progress,
        start,
        &format!("loaded {} OpenAPI document(s)", docs.len()),
    );
    let mut crds = Vec::new();
    for c in &opts.crds {
        crds.extend(spec::crd::load_with(c, &mut diag)?);
    }
    if !opts.crds.is_empty() {
        progress(
            opts.progress,
            start,
            &format!("loaded {} CRD(s)", crds.len()),
        );
    }
    if docs.is_empty() && crds.is_empty() {
        return Err(Error::Usage(
            "nothing to generate: give at least one --spec or --crd input".into(),
        ));
    }
    let inputs: Vec<String> = opts
        .specs
        .iter()
        .chain(&opts.crds)
        .chain(&opts.proto)
        .map(|p| relative_to(&opts.out, p).display().to_string())
        .chain(cluster_label)
        .collect();
    let mut model = model::build(
        &docs,
        &crds,
        &BuildOptions {
            groups: opts.groups.clone(),
            resources: opts.resources.clone(),
            inputs,
        },
        &mut diag,
    )?;
    diag.checkpoint()?;
    model.skipped = diag.into_skipped();
    for r in &mut model.resources {
        if let Some(v) = crd_versions.get(&(r.group.clone(), r.version.clone(), r.kind.clone())) {
            r.storage = v.storage;
            r.schema = v.schema.clone();
        }
    }
    progress(
        opts.progress,
        start,
        &format!(
            "model: {} types, {} resources",
            model.types.len(),
            model.resources.len()
        ),
    );
    Ok(model)
}

/// `path` as seen from `base` (both made absolute against the current
/// directory, without touching the file system), so a crate names its
/// inputs the same way on every machine. Paths without a common root stay
/// as given.
fn relative_to(base: &Path, path: &Path) -> PathBuf {
    let (Ok(base), Ok(full)) = (std::path::absolute(base), std::path::absolute(path)) else {
        return path.to_path_buf();
    };
    let (base, full): (Vec<_>, Vec<_>) = (base.components().collect(), full.components().collect());
    let common = base.iter().zip(&full).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return path.to_path_buf();
    }
    let mut relative = PathBuf::new();
    for _ in common..base.len() {
        relative.push("..");
    }
    relative.extend(&full[common..]);
    relative
}

/// The kubegen checkout this generator was built from, while it still
/// holds the runtime crates: what a standalone crate depends on by default.
pub fn built_from_checkout() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?;
    root.join("runtime/core/Cargo.toml")
        .is_file()
        .then(|| root.to_path_buf())
}

/// Emits the model into files (in memory).
pub fn emit_files(model: &Model, opts: &GenerateOptions) -> Result<Files> {
    let crds_only = opts.specs.is_empty() && opts.from_cluster.is_none();
    let mut e = EmitOptions {
        crate_name: opts.crate_name.clone().unwrap_or_else(|| {
            if crds_only {
                "kubegen-crds".into()
            } else {
                "kubegen-api".into()
            }
        }),
        in_workspace: opts.in_workspace,
        clientset: !opts.no_clientset,
        ..EmitOptions::default()
    };
    e.kubegen_path.clone_from(&opts.kubegen_path);
    if let Some(dir) = &opts.proto {
        e.proto = Some(spec::proto::ProtoSchema::load(dir)?);
    }
    emit::emit(model, &e)
}

/// Runs the whole pipeline and writes the crate to `opts.out`.
pub fn generate(opts: &GenerateOptions) -> Result<Report> {
    let start = Instant::now();
    let model = load_model(opts)?;
    let files = emit_files(&model, opts)?;
    progress(
        opts.progress,
        start,
        &format!("emitted {} files", files.len()),
    );
    let mut report = write_files(&opts.out, &files)?;
    progress(
        opts.progress,
        start,
        &format!(
            "wrote {} changed, {} unchanged, {} removed",
            report.written, report.unchanged, report.removed
        ),
    );
    report.types = model.types.values().filter(|t| t.emitted()).count();
    report.resources = model
        .resources
        .iter()
        .filter(|r| r.type_id.is_some())
        .count();
    report.modules = model.modules().len();
    report.skipped = model.skipped;
    Ok(report)
}

/// Writes files that changed and removes generated files that are no longer
/// produced (only files carrying the kubegen header, so hand-written files in
/// the directory are never touched).
pub fn write_files(out: &Path, files: &Files) -> Result<Report> {
    let mut report = Report::default();
    for (rel, content) in files {
        let path = out.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        if std::fs::read_to_string(&path).is_ok_and(|old| &old == content) {
            report.unchanged += 1;
            continue;
        }
        std::fs::write(&path, content).map_err(|e| Error::io(&path, e))?;
        report.written += 1;
    }
    let src = out.join("src");
    if src.is_dir() {
        for f in spec::files_under(&src, &["rs"])? {
            let rel = f.strip_prefix(out).unwrap_or(&f).to_owned();
            if files.contains_key(&rel) {
                continue;
            }
            let is_ours =
                std::fs::read_to_string(&f).is_ok_and(|t| t.starts_with("// Generated by kubegen"));
            if is_ours {
                std::fs::remove_file(&f).map_err(|e| Error::io(&f, e))?;
                report.removed += 1;
            }
        }
        remove_empty_dirs(&src);
    }
    Ok(report)
}

fn remove_empty_dirs(dir: &Path) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.path().is_dir() {
                remove_empty_dirs(&e.path());
                // Fails (harmlessly) unless empty.
                let _ = std::fs::remove_dir(e.path());
            }
        }
    }
}

#[cfg(feature = "cluster")]
fn fetch_cluster(src: &spec::ClusterSource) -> Result<spec::ClusterInputs> {
    spec::cluster::fetch_blocking(src)
}

#[cfg(not(feature = "cluster"))]
fn fetch_cluster(_: &spec::ClusterSource) -> Result<spec::ClusterInputs> {
    Err(Error::Usage(
        "--from-cluster: this kubegen was built without its `cluster` feature (on by default)"
            .into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::relative_to;
    use std::path::Path;

    #[test]
    fn inputs_are_named_from_the_output_crate() {
        assert_eq!(
            relative_to(
                Path::new("generated"),
                Path::new("openapi-specs/v1.37/swagger.json")
            ),
            Path::new("../openapi-specs/v1.37/swagger.json")
        );
        assert_eq!(
            relative_to(
                Path::new("/tmp/out/crate"),
                Path::new("/home/u/crds/a.yaml")
            ),
            Path::new("../../../home/u/crds/a.yaml")
        );
        assert_eq!(
            relative_to(Path::new("/w/out"), Path::new("/w/out/crds")),
            Path::new("crds")
        );
    }
}
