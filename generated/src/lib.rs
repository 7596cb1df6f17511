//! Placeholder until `make generate` writes this crate.
