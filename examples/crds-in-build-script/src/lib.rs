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
//!
//! The kinds check themselves against their CRD's schema, as the server
//! would, without one:
//!
//! ```
//! use crds_in_build_script::example::v1::{Backup, BackupSpec};
//! use kubegen_validation::Validate;
//!
//! let mut backup = Backup::default();
//! backup.spec = Some(BackupSpec { volume: "data".into(), schedule: "@daily".into(), keep: Some(0) });
//! let report = backup.validate();
//! assert_eq!(report.errors[0].field, "spec.keep");
//! assert_eq!(report.errors[0].to_string(),
//!     "spec.keep: Invalid value: 0: spec.keep in body should be greater than or equal to 1");
//! ```
#![allow(missing_docs)]

include!(concat!(env!("OUT_DIR"), "/kubegen.rs"));
