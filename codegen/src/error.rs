//! The generator's error type.
//!
//! Every error that comes from input names where it came from: the file, and
//! inside it a JSON pointer (for CRDs also the CRD name and version), so a user
//! can open the file and find the offending node. Nothing in the generator
//! panics on bad input; it returns one of these.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where in the input an error was found.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    /// The input file.
    pub file: PathBuf,
    /// Zero-based document index for multi-document YAML files.
    pub document: Option<usize>,
    /// `CustomResourceDefinition` name and version, when the node is in a CRD.
    pub crd: Option<String>,
    /// JSON pointer (RFC 6901) of the node inside the document.
    pub pointer: String,
}

impl Location {
    /// A location at `pointer` inside `file`.
    pub fn new(file: &Path, pointer: impl Into<String>) -> Self {
        Self {
            file: file.to_owned(),
            document: None,
            crd: None,
            pointer: pointer.into(),
        }
    }

    /// The same place, one level down (`key` is escaped per RFC 6901).
    pub fn child(&self, key: &str) -> Self {
        let mut loc = self.clone();
        loc.pointer.push('/');
        loc.pointer
            .push_str(&key.replace('~', "~0").replace('/', "~1"));
        loc
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(doc) = self.document {
            write!(f, " (document {doc})")?;
        }
        if let Some(crd) = &self.crd {
            write!(f, " [CRD {crd}]")?;
        }
        write!(f, "#{}", self.pointer)
    }
}

/// Everything that can go wrong while generating.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file is not valid JSON or YAML.
    #[error("{path}{}: cannot parse {format}: {message}", .document.map(|d| format!(" (document {d})")).unwrap_or_default())]
    Parse {
        /// The file.
        path: PathBuf,
        /// Zero-based YAML document index, when the file has several.
        document: Option<usize>,
        /// `JSON` or `YAML`.
        format: &'static str,
        /// The parser's message, with line and column.
        message: String,
    },
    /// The input parsed but does not mean what the generator needs.
    #[error("{location}: {message}")]
    Schema {
        /// Where.
        location: Location,
        /// What is wrong, in words that say what to change.
        message: String,
    },
    /// Several errors, collected with `--keep-going` or from independent inputs.
    #[error("{} errors:\n{}", .0.len(), .0.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"))]
    Many(Vec<Error>),
    /// The generated code could not be formatted (a generator bug; the message
    /// names the file).
    #[error("internal error formatting {file}: {message}")]
    Format {
        /// The output file.
        file: String,
        /// The parser's message.
        message: String,
    },
    /// Invalid command-line usage.
    #[error("{0}")]
    Usage(String),
    /// Reading a live cluster's spec (`--from-cluster`) failed at `step`.
    #[error("--from-cluster: {step}: {message}")]
    Cluster {
        /// What was being done: loading the kubeconfig, connecting, fetching a document.
        step: String,
        /// The client's error.
        message: String,
    },
}

impl Error {
    /// An error at `location`.
    pub fn schema(location: &Location, message: impl Into<String>) -> Self {
        Self::Schema {
            location: location.clone(),
            message: message.into(),
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// Result alias for the generator.
pub type Result<T, E = Error> = std::result::Result<T, E>;
