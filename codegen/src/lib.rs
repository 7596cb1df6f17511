//! kubegen: Kubernetes OpenAPI specs and CRDs in, a typed Rust API crate out.
//!
//! The data path is one way: [`spec`] loads inputs, [`model`] resolves them
//! into one intermediate model (groups > versions > resources, plus a type
//! arena), and [`emit`] writes Rust from the model with `quote`, formatted once
//! with `prettyplease`.
//!
//! ```no_run
//! use kubegen::{GenerateOptions, generate};
//! let opts = GenerateOptions {
//!     specs: vec!["openapi-specs/v1.37/swagger.json".into()],
//!     out: "generated".into(),
//!     ..Default::default()
//! };
//! let report = generate(&opts)?;
//! println!("{} types, {} resources", report.types, report.resources);
//! # Ok::<(), kubegen::Error>(())
//! ```

#![deny(missing_docs)]

pub mod build_script;
pub mod diagnostics;
pub mod emit;
pub mod error;
pub mod model;
pub mod spec;

mod driver;
#[cfg(test)]
mod golden;

pub use diagnostics::{Diagnostics, Policy};
pub use driver::{
    GenerateOptions, Report, built_from_checkout, emit_files, generate, load_model, write_files,
};
pub use emit::Files;
pub use error::{Error, Location, Result};

/// The generator's version, written into every generated file's header.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
