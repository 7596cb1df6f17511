//! A client certificate that may change while the client runs: the one an
//! exec plugin returned (replaced when the plugin runs again), or kubeconfig
//! `client-certificate` / `client-key` files rotated on disk.
//!
//! rustls asks [`DynamicClientCert`] for the certificate at each TLS
//! handshake. When it changes, the connections opened with the old one are
//! ended (client-go closes them too), so pooled connections are not reused
//! with the old identity: see [`ConnectionRotation`].
//!
//! Files are checked on each request: both are re-read when either's
//! modification time or size changed (client-go re-reads them at new
//! connections and every five minutes). A pair that does not load (a
//! rotation caught half-written) keeps the last good one and is tried again
//! on the next request.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use rustls::SignatureScheme;
use rustls::client::ResolvesClientCert;
use rustls::sign::CertifiedKey;
use secrecy::{ExposeSecret as _, SecretSlice};

use crate::transport::{ConnectionRotation, pem_certificates, pem_private_key, provider};
use kubegen_core::error::{Error, Result};

/// The current client certificate, presented at each new TLS handshake.
#[derive(Default)]
pub(crate) struct DynamicClientCert {
    current: Mutex<Option<Arc<CertifiedKey>>>,
    /// Advanced when the certificate changes, ending older connections.
    pub(crate) connections: Arc<ConnectionRotation>,
}

impl std::fmt::Debug for DynamicClientCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let loaded = self.lock().is_some();
        f.debug_struct("DynamicClientCert")
            .field("loaded", &loaded)
            .finish_non_exhaustive()
    }
}

impl DynamicClientCert {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Arc<CertifiedKey>>> {
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Present this PEM certificate chain and key from now on. The error
    /// never quotes the key.
    pub(crate) fn set(&self, cert_pem: &[u8], key_pem: &[u8]) -> std::result::Result<(), String> {
        let certs = pem_certificates(cert_pem).map_err(|e| format!("certificate: {e}"))?;
        let key = pem_private_key(key_pem)
            .map_err(|_| "no usable PEM private key (RSA, EC or PKCS#8)".to_owned())?;
        let fresh = CertifiedKey::from_der(certs, key, &provider())
            .map_err(|e| format!("certificate and key do not go together: {e}"))?;
        let mut current = self.lock();
        // The first certificate is not a rotation: nothing was opened with another.
        let rotated = current.as_ref().is_some_and(|old| old.cert != fresh.cert);
        *current = Some(Arc::new(fresh));
        drop(current);
        if rotated {
            tracing::info!(
                "client certificate changed; ending connections opened with the old one"
            );
            self.connections.rotate();
        }
        Ok(())
    }
}

impl ResolvesClientCert for DynamicClientCert {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        self.lock().clone()
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// Kubeconfig `client-certificate` and `client-key` files, watched for rotation.
#[derive(Debug)]
pub(crate) struct CertFiles {
    cert: PathBuf,
    key: PathBuf,
    /// Modification times and sizes of the pair last loaded.
    loaded: Mutex<Option<Stamp>>,
    target: Arc<DynamicClientCert>,
}

type Stamp = [(Option<SystemTime>, u64); 2];

impl CertFiles {
    /// Load the pair now, so unusable files fail at build time.
    pub(crate) fn new(cert: PathBuf, key: PathBuf, target: Arc<DynamicClientCert>) -> Result<Self> {
        let files = Self {
            cert,
            key,
            loaded: Mutex::new(None),
            target,
        };
        files.refresh()?;
        Ok(files)
    }

    fn stamp(&self) -> std::io::Result<Stamp> {
        let one = |p: &PathBuf| std::fs::metadata(p).map(|m| (m.modified().ok(), m.len()));
        Ok([one(&self.cert)?, one(&self.key)?])
    }

    /// Re-read the pair if either file changed since it was loaded.
    pub(crate) fn refresh(&self) -> Result<()> {
        let mut loaded = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        let stamp = self.stamp();
        if let (Some(old), Ok(new)) = (loaded.as_ref(), &stamp)
            && old == new
        {
            return Ok(());
        }
        let outcome = stamp.map_err(|e| e.to_string()).and_then(|stamp| {
            let cert = std::fs::read(&self.cert).map_err(|e| e.to_string())?;
            let key = SecretSlice::from(std::fs::read(&self.key).map_err(|e| e.to_string())?);
            self.target.set(&cert, key.expose_secret())?;
            Ok(stamp)
        });
        match outcome {
            Ok(stamp) => {
                *loaded = Some(stamp);
                Ok(())
            }
            Err(e) => {
                let msg = format!(
                    "client certificate {} and key {}: {e}",
                    self.cert.display(),
                    self.key.display()
                );
                if loaded.is_none() {
                    return Err(Error::Config(msg));
                }
                tracing::warn!(error = %msg, "rotated client certificate not loaded; keeping the previous one");
                Ok(())
            }
        }
    }
}
