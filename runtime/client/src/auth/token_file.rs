//! A bearer token read from a file that may be rotated under us (kubeconfig
//! `tokenFile`, the projected in-cluster service-account token).
//!
//! A file that is briefly missing or empty (a rotation that replaces it in
//! two steps) keeps the last good token, as client-go's caching token source
//! does; only a file that never held a token is an error.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use http::HeaderValue;

use kubegen_core::error::{Error, Result};

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
    /// Re-read on next use (the server answered 401).
    stale: bool,
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
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        let stamp = std::fs::metadata(&self.path).map(|m| (m.modified().ok(), m.len()));
        if let (Some(c), Ok(stamp)) = (cached.as_ref(), &stamp)
            && !c.stale
            && c.stamp == *stamp
            && c.read_at.elapsed() < MAX_AGE
        {
            return Ok(c.header.clone());
        }
        match stamp.and_then(|stamp| Ok((stamp, std::fs::read_to_string(&self.path)?))) {
            Ok((stamp, text)) if !text.trim().is_empty() => {
                let header = super::bearer(text.trim())?;
                *cached = Some(Cached {
                    header: header.clone(),
                    stamp,
                    read_at: Instant::now(),
                    stale: false,
                });
                Ok(header)
            }
            outcome => {
                let problem = match outcome {
                    Err(e) => e.to_string(),
                    Ok(_) => "it is empty".to_owned(),
                };
                match cached.as_ref() {
                    Some(c) => {
                        tracing::warn!(path = %self.path.display(), %problem,
                            "cannot re-read the token file; keeping the last token");
                        Ok(c.header.clone())
                    }
                    None => Err(Error::Auth(format!(
                        "token file {}: {problem}",
                        self.path.display()
                    ))),
                }
            }
        }
    }

    pub(crate) fn invalidate(&self) {
        if let Some(c) = self
            .cached
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
        {
            c.stale = true;
        }
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
        // Mid-rotation: briefly empty, then missing; the last token stays.
        std::fs::write(&p, "").unwrap();
        assert_eq!(f.header().unwrap(), "Bearer second-token");
        std::fs::remove_file(&p).unwrap();
        f.invalidate();
        assert_eq!(f.header().unwrap(), "Bearer second-token");
        std::fs::write(&p, "third").unwrap();
        assert_eq!(f.header().unwrap(), "Bearer third");
        std::fs::remove_file(&p).unwrap();
    }

    #[test]
    fn a_file_that_never_held_a_token_is_an_error_naming_it() {
        let p = std::env::temp_dir().join(format!("kubegen-tokfile-empty-{}", std::process::id()));
        std::fs::write(&p, "  \n").unwrap();
        let err = TokenFile::new(p.clone()).unwrap_err().to_string();
        assert!(
            err.contains(&*p.to_string_lossy()) && err.contains("empty"),
            "{err}"
        );
        std::fs::remove_file(&p).unwrap();
        let err = TokenFile::new(p.clone()).unwrap_err().to_string();
        assert!(err.contains("token file"), "{err}");
    }
}
