//! A bearer token read from a file that may be rotated under us (kubeconfig
//! `tokenFile`, the projected in-cluster service-account token).

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use http::HeaderValue;

use crate::error::{Error, Result};

/// Re-read at least this often even when the file looks unchanged.
const MAX_AGE: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub(crate) struct TokenFile {
    path: PathBuf,
    cached: Mutex<Option<Cached>>,
}

#[derive(Debug)]
struct Cached {
    header: HeaderValue,
    stamp: (Option<SystemTime>, u64),
    read_at: Instant,
}

impl TokenFile {
    /// Read the file once now, so a missing file fails at build time.
    pub(crate) fn new(path: PathBuf) -> Result<Self> {
        let f = Self {
            path,
            cached: Mutex::new(None),
        };
        f.header()?;
        Ok(f)
    }

    pub(crate) fn header(&self) -> Result<HeaderValue> {
        let meta = std::fs::metadata(&self.path)
            .map_err(|e| Error::Auth(format!("token file {}: {e}", self.path.display())))?;
        let stamp = (meta.modified().ok(), meta.len());
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = cached.as_ref()
            && c.stamp == stamp
            && c.read_at.elapsed() < MAX_AGE
        {
            return Ok(c.header.clone());
        }
        let text = std::fs::read_to_string(&self.path)
            .map_err(|e| Error::Auth(format!("reading token file {}: {e}", self.path.display())))?;
        let token = text.trim();
        if token.is_empty() {
            return Err(Error::Auth(format!(
                "token file {} is empty",
                self.path.display()
            )));
        }
        let header = super::bearer(token)?;
        *cached = Some(Cached {
            header: header.clone(),
            stamp,
            read_at: Instant::now(),
        });
        Ok(header)
    }

    pub(crate) fn invalidate(&self) {
        *self.cached.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotated_file_is_picked_up() {
        let p = std::env::temp_dir().join(format!("kubegen-tokfile-{}", std::process::id()));
        std::fs::write(&p, "first\n").unwrap();
        let f = TokenFile::new(p.clone()).unwrap();
        assert_eq!(f.header().unwrap(), "Bearer first");
        // Different length, so the change is seen even with coarse mtimes.
        std::fs::write(&p, "second-token").unwrap();
        assert_eq!(f.header().unwrap(), "Bearer second-token");
        assert!(f.header().unwrap().is_sensitive());
        std::fs::remove_file(&p).unwrap();
        let err = f.header().unwrap_err().to_string();
        assert!(err.contains("token file"), "{err}");
    }
}
