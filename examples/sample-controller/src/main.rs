//! `sample-controller`: run the Foo controller against a cluster (Go's `main.go`).
//!
//! ```text
//! cargo run -p sample-controller -- --print-crd | kubectl apply -f -
//! cargo run -p sample-controller -- --kubeconfig ~/.kube/config
//! ```
//!
//! The first SIGINT/SIGTERM stops the controller gracefully (workers finish,
//! events are flushed, informers stop); a second one exits at once.

// `foo` is the name of this kind's objects here, not a placeholder.
#![allow(clippy::disallowed_names)]

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use kubegen_runtime::cache::{FactoryOptions, InformerFactory};
use kubegen_runtime::{Config, RestClient};
use sample_controller::controller::CONTROLLER_AGENT_NAME;
use sample_controller::{Controller, derived, foo_api};
use tokio_util::sync::CancellationToken;

/// Keeps one Deployment per Foo (samplecontroller.k8s.io/v1alpha1) and writes the Foo's status.
#[derive(Debug, Parser)]
#[command(name = "sample-controller", version, about)]
struct Args {
    /// Path to a kubeconfig. Without it: $KUBECONFIG, ~/.kube/config, then in-cluster config.
    #[arg(long, value_name = "FILE")]
    kubeconfig: Option<PathBuf>,
    /// Kubeconfig context to use instead of the current one.
    #[arg(long, value_name = "NAME")]
    context: Option<String>,
    /// Address of the Kubernetes API server; overrides the kubeconfig's.
    #[arg(long, value_name = "URL")]
    master: Option<String>,
    /// Watch only this namespace (default: all namespaces).
    #[arg(long, value_name = "NAMESPACE")]
    namespace: Option<String>,
    /// Number of workers syncing Foos in parallel (Go's threadiness).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
    workers: u16,
    /// Informer resync period in seconds (0: never).
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    resync: u64,
    /// Print the Foo CustomResourceDefinition as YAML and exit.
    #[arg(long)]
    print_crd: bool,
    /// More log output (-v: debug, -vv: trace).
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.print_crd {
        return match derived::crd_yaml() {
            Ok(yaml) => {
                print!("{yaml}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("sample-controller: building the Foo CRD: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let level = match args.verbose {
        0 => tracing::Level::INFO,
        1 => tracing::Level::DEBUG,
        _ => tracing::Level::TRACE,
    };
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sample-controller: starting the Tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let cancel = CancellationToken::new();
    setup_signal_handler(cancel.clone())?;

    let config = build_config(&args).await?;
    let rest = RestClient::new(config)?;
    let kube = kubegen_api::Clientset::from_rest(rest.clone());
    let sample = foo_api::Clientset::from_rest(rest);

    let resync = Duration::from_secs(args.resync);
    let options = || match &args.namespace {
        Some(ns) => FactoryOptions::new().namespace(ns.clone()),
        None => FactoryOptions::new(),
    };
    let informers = InformerFactory::with_options(kube.rest().clone(), resync, options());
    let controller = Controller::new(kube, sample, &informers)?;

    // Informers requested above start now, in their own tasks.
    informers.start();

    let result = controller.run(usize::from(args.workers), cancel).await;
    informers.shutdown().await;
    result?;
    tracing::info!("stopped");
    Ok(())
}

/// Go's `clientcmd.BuildConfigFromFlags(master, kubeconfig)`.
async fn build_config(args: &Args) -> Result<Config, Box<dyn std::error::Error>> {
    let mut config = match (&args.kubeconfig, &args.master) {
        (Some(path), _) => Config::from_kubeconfig(path, args.context.as_deref())
            .map_err(|e| format!("kubeconfig {}: {e}", path.display()))?,
        // A server address alone: no kubeconfig, no credentials.
        (None, Some(_)) if args.context.is_none() => Config::new(http_uri(args)?),
        (None, _) => Config::infer().await?,
    };
    if args.master.is_some() {
        config.cluster_url = http_uri(args)?;
    }
    config.user_agent = format!("{CONTROLLER_AGENT_NAME}/{}", env!("CARGO_PKG_VERSION"));
    Ok(config)
}

fn http_uri(args: &Args) -> Result<http::Uri, String> {
    let master = args.master.as_deref().unwrap_or_default();
    master
        .parse()
        .map_err(|e| format!("--master {master:?} is not a URL: {e}"))
}

/// Cancels `cancel` on the first SIGINT or SIGTERM; exits on the second
/// (Go's `signals.SetupSignalHandler`).
fn setup_signal_handler(cancel: CancellationToken) -> std::io::Result<()> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::spawn(async move {
        for _ in 0..2 {
            #[cfg(unix)]
            let got = tokio::select! {
                r = tokio::signal::ctrl_c() => r.is_ok(),
                r = term.recv() => r.is_some(),
            };
            #[cfg(not(unix))]
            let got = tokio::signal::ctrl_c().await.is_ok();
            if !got {
                return;
            }
            if cancel.is_cancelled() {
                eprintln!("sample-controller: second signal, exiting now");
                std::process::exit(1);
            }
            tracing::info!("signal received, shutting down");
            cancel.cancel();
        }
    });
    Ok(())
}
