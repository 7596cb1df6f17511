//! A crate that keeps its CRD manifests (`crds/`) beside its code: `build.rs`
//! runs `kubegen::build_script::generate` on them, and the generated types,
//! clientset, informers and listers are included here. Edit a manifest and
//! the next `cargo build` regenerates them.
//!
//! ```no_run
//! use crds_in_build_script::Clientset;
//! use crds_in_build_script::example::v1::{Backup, BackupSpec};
//!
//! # async fn demo(config: kubegen_client::Config) -> kubegen_core::Result<()> {
//! let backups = Clientset::new(config)?.example_v1().backups("default");
//! let mut nightly = Backup::default();
//! nightly.metadata.name = Some("nightly".into());
//! nightly.spec = Some(BackupSpec {
//!     volume: "data".into(),
//!     schedule: "0 3 * * *".into(),
//!     keep: Some(7),
//! });
//! backups.create(&nightly, &Default::default()).await?;
//! # Ok(()) }
//! ```
#![allow(missing_docs)]

include!(concat!(env!("OUT_DIR"), "/kubegen.rs"));
