//! The `kubegen` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// kubegen: Kubernetes OpenAPI specs and CRDs in, a typed Rust API crate out
/// (types, resource traits, verb markers, clientset).
#[derive(Parser)]
#[command(name = "kubegen", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a crate from OpenAPI specs and/or CRD manifests.
    ///
    /// Examples:
    ///   kubegen generate --spec openapi-specs/v1.37/swagger.json --out generated --in-workspace
    ///   kubegen generate --crd crds/ --out my-crds --crate-name my-crds
    ///   kubegen generate --from-cluster --context prod --out cluster-api
    #[command(verbatim_doc_comment)]
    Generate(GenerateArgs),
}

#[derive(Args)]
struct GenerateArgs {
    /// OpenAPI input: a swagger.json (v2), one v3 document, or a directory of
    /// v3 documents. Repeatable; schemas from earlier inputs win on name clashes.
    #[arg(long, value_name = "PATH")]
    spec: Vec<PathBuf>,
    /// CRD manifests: a YAML/JSON file (multi-document, Lists allowed) or a
    /// directory searched recursively. Repeatable. With no --spec this makes a
    /// standalone crate for the CRDs.
    #[arg(long, value_name = "PATH")]
    crd: Vec<PathBuf>,
    /// Also read the OpenAPI documents of a live cluster (/openapi/v3, or
    /// /openapi/v2 on old servers), so aggregated APIs and installed CRDs come
    /// along. Uses --kubeconfig/--context, else $KUBECONFIG, ~/.kube/config,
    /// then in-cluster config.
    #[arg(long)]
    from_cluster: bool,
    /// Kubeconfig file for --from-cluster.
    #[arg(long, value_name = "FILE", requires = "from_cluster")]
    kubeconfig: Option<PathBuf>,
    /// Kubeconfig context for --from-cluster.
    #[arg(long, value_name = "NAME", requires = "from_cluster")]
    context: Option<String>,
    /// Output crate directory (created if missing; stale generated files in it
    /// are removed, other files are left alone).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Keep only this API group (`core` for the legacy group). Repeatable.
    #[arg(long, value_name = "GROUP")]
    group: Vec<String>,
    /// Keep only this resource (plural or kind). Repeatable.
    #[arg(long, value_name = "RESOURCE")]
    resource: Vec<String>,
    /// Skip broken definitions, CRDs and files (listed at the end) instead of
    /// stopping at the first; the exit code is still non-zero if any were skipped.
    #[arg(long)]
    keep_going: bool,
    /// Package name of the generated crate [default: kubegen-api, or
    /// kubegen-crds for CRDs alone].
    #[arg(long, value_name = "NAME")]
    crate_name: Option<String>,
    /// Write a Cargo.toml for a member of the kubegen workspace (workspace
    /// dependencies and package fields).
    #[arg(long)]
    in_workspace: bool,
    /// The kubegen checkout a standalone crate depends on by path (its
    /// runtime/core, runtime/client, runtime/cache and, for CRDs that name
    /// built-in types, generated/) [default: the checkout this kubegen was
    /// built from (`cargo install --path codegen`, or `--git`), while it
    /// exists].
    #[arg(long, value_name = "DIR", conflicts_with = "crates_io")]
    kubegen_path: Option<std::path::PathBuf>,
    /// Depend on the crates.io releases of the runtime crates (this
    /// kubegen's version) instead of a checkout.
    #[arg(long)]
    crates_io: bool,
    /// Emit types only, without the clientset.
    #[arg(long)]
    no_clientset: bool,
    /// The protobuf schema of the built-in kinds: a directory of the
    /// generated.proto files of k8s.io/api and k8s.io/apimachinery and their
    /// presence.tsv (openapi-specs/<release>/proto in a kubegen checkout).
    /// The types it describes decode and encode protobuf, which the API
    /// server speaks for built-in kinds; without it they speak JSON only.
    #[arg(long, value_name = "DIR")]
    proto: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Generate(a) => {
            let opts = kubegen::GenerateOptions {
                specs: a.spec,
                crds: a.crd,
                from_cluster: a.from_cluster.then_some(kubegen::spec::ClusterSource {
                    kubeconfig: a.kubeconfig,
                    context: a.context,
                }),
                out: a.out,
                groups: a.group,
                resources: a.resource,
                keep_going: a.keep_going,
                crate_name: a.crate_name,
                in_workspace: a.in_workspace,
                kubegen_path: if a.crates_io {
                    None
                } else {
                    a.kubegen_path.or_else(kubegen::built_from_checkout)
                },
                progress: !a.quiet,
                no_clientset: a.no_clientset,
                proto: a.proto,
            };
            match kubegen::generate(&opts) {
                Ok(report) => {
                    if !a.quiet {
                        eprintln!(
                            "generated {} types, {} resources in {} group/versions into {}",
                            report.types,
                            report.resources,
                            report.modules,
                            opts.out.display()
                        );
                    }
                    if report.skipped.is_empty() {
                        ExitCode::SUCCESS
                    } else {
                        eprintln!("skipped {} input(s) (--keep-going):", report.skipped.len());
                        for e in &report.skipped {
                            eprintln!("  {e}");
                        }
                        ExitCode::from(2)
                    }
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
