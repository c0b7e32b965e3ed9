//! TLS terminated by the relay itself (`--tls-cert FILE --tls-key FILE`, PEM), with the
//! certificate reloaded from disk without a restart.
//!
//! [`Terminator`] runs the TLS handshake on a connection the relay's accept loop has admitted
//! (`server.rs`; bounded in time, and counted by the admission limits like any connection, so a
//! slow or silent client holds up nobody). The certificate comes from
//! a resolver whose certified key is swapped when the files change: every second the files'
//! modification times and sizes are compared with those last seen, and a changed pair is loaded
//! and checked (the key must belong to the certificate) before it replaces the old one. A new
//! file that does not load leaves the old certificate in force and says why on standard error;
//! it is tried again when the files change once more.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use rustls::ServerConfig;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How often the certificate files are looked at.
const RELOAD_CHECK: Duration = Duration::from_secs(1);
/// How long a client may take for its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The certificate chain and private key files the relay serves TLS with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM file with the certificate chain, the relay's own certificate first.
    pub cert: PathBuf,
    /// PEM file with the private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Why TLS could not be set up, or a new certificate not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Only one of the two options was given.
    #[error("--tls-cert en --tls-key horen bij elkaar: geef ze allebei, of geen van beide")]
    HalfConfigured,
    /// A file could not be read or holds no PEM of the expected kind.
    #[error("{path}: {what} niet te lezen: {source}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What was looked for.
        what: &'static str,
        /// Why it failed.
        source: rustls_pki_types::pem::Error,
    },
    /// The certificate file holds no certificate.
    #[error("{0}: geen certificaat gevonden (verwacht: -----BEGIN CERTIFICATE-----)")]
    NoCertificate(PathBuf),
    /// The key is unusable or does not belong to the certificate.
    #[error("{cert} en {key} passen niet bij elkaar of zijn onbruikbaar: {source}")]
    Mismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// What rustls said.
        source: rustls::Error,
    },
    /// Setting up the TLS configuration failed.
    #[error("TLS-instellingen: {0}")]
    Config(#[from] rustls::Error),
}

impl TlsFiles {
    /// The files from the two command-line options: both or neither.
    pub fn from_options(
        cert: Option<PathBuf>,
        key: Option<PathBuf>,
    ) -> Result<Option<TlsFiles>, TlsError> {
        match (cert, key) {
            (Some(cert), Some(key)) => Ok(Some(TlsFiles { cert, key })),
            (None, None) => Ok(None),
            _ => Err(TlsError::HalfConfigured),
        }
    }

    /// Checks that the certificate chain and key load and belong together.
    pub fn check(&self) -> Result<(), TlsError> {
        self.load().map(|_| ())
    }

    /// Reads and checks the certificate chain and key.
    fn load(&self) -> Result<CertifiedKey, TlsError> {
        let pem = |path: &Path, what| {
            let path = path.to_path_buf();
            move |source| TlsError::Pem { path, what, source }
        };
        let certs = CertificateDer::pem_file_iter(&self.cert)
            .map_err(pem(&self.cert, "certificaat"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(pem(&self.cert, "certificaat"))?;
        if certs.is_empty() {
            return Err(TlsError::NoCertificate(self.cert.clone()));
        }
        let key =
            PrivateKeyDer::from_pem_file(&self.key).map_err(pem(&self.key, "privésleutel"))?;
        let provider = rustls::crypto::ring::default_provider();
        CertifiedKey::from_der(certs, key, &provider).map_err(|source| TlsError::Mismatch {
            cert: self.cert.clone(),
            key: self.key.clone(),
            source,
        })
    }

    /// What identifies the files' current contents without reading them.
    fn stamp(&self) -> Option<Stamp> {
        let one = |path: &Path| {
            let meta = std::fs::metadata(path).ok()?;
            Some((meta.modified().ok()?, meta.len()))
        };
        Some((one(&self.cert)?, one(&self.key)?))
    }
}

type Stamp = ((SystemTime, u64), (SystemTime, u64));

/// The certificate in force, swapped when the files change.
#[derive(Debug)]
struct Reloading {
    current: RwLock<Arc<CertifiedKey>>,
}

impl Reloading {
    fn get(&self) -> Arc<CertifiedKey> {
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn set(&self, key: CertifiedKey) {
        *self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(key);
    }
}

impl ResolvesServerCert for Reloading {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.get())
    }
}

/// Terminates TLS on the relay's connections with the certificate in force.
pub struct Terminator {
    acceptor: TlsAcceptor,
    watcher: JoinHandle<()>,
}

impl Terminator {
    /// Loads the certificate (failing if it does not load) and starts watching its files.
    pub fn start(files: TlsFiles) -> Result<Arc<Terminator>, TlsError> {
        let stamp = files.stamp();
        let resolver = Arc::new(Reloading {
            current: RwLock::new(Arc::new(files.load()?)),
        });
        let mut config =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()?
                .with_no_client_auth()
                .with_cert_resolver(resolver.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(Terminator {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            watcher: tokio::spawn(watch_files(files, resolver, stamp)),
        }))
    }

    /// Runs the TLS handshake on `io`, at most [`HANDSHAKE_TIMEOUT`]. A failed handshake (an
    /// untrusting client, a port scanner) is the client's business: it sees the TLS alert, and
    /// the relay forgets the connection (`None`).
    pub async fn handshake<S>(&self, io: S) -> Option<TlsStream<S>>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, self.acceptor.accept(io)).await {
            Ok(Ok(tls)) => Some(tls),
            _ => None,
        }
    }
}

impl Drop for Terminator {
    fn drop(&mut self) {
        self.watcher.abort();
    }
}

/// Looks at the certificate files every [`RELOAD_CHECK`] and loads them when they changed.
async fn watch_files(files: TlsFiles, resolver: Arc<Reloading>, mut seen: Option<Stamp>) {
    let mut every = tokio::time::interval(RELOAD_CHECK);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let now = files.stamp();
        if now.is_none() || now == seen {
            continue;
        }
        seen = now;
        match files.load() {
            Ok(key) => {
                resolver.set(key);
                tracing::info!(cert = %files.cert.display(), "nieuw TLS-certificaat geladen");
            }
            Err(e) => tracing::warn!(
                error = %e,
                "nieuw TLS-certificaat niet geladen, het vorige blijft in gebruik"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_options_go_together() {
        assert_eq!(TlsFiles::from_options(None, None).unwrap(), None);
        let both = TlsFiles::from_options(Some("c.pem".into()), Some("k.pem".into())).unwrap();
        assert_eq!(
            both,
            Some(TlsFiles {
                cert: "c.pem".into(),
                key: "k.pem".into()
            })
        );
        for half in [
            TlsFiles::from_options(Some("c.pem".into()), None),
            TlsFiles::from_options(None, Some("k.pem".into())),
        ] {
            let message = half.unwrap_err().to_string();
            assert!(message.contains("--tls-cert en --tls-key"), "{message}");
        }
    }

    #[test]
    fn files_that_do_not_hold_a_certificate_say_which_and_why() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        std::fs::write(&cert, "geen pem").unwrap();
        std::fs::write(&key, "geen pem").unwrap();
        let files = TlsFiles {
            cert: cert.clone(),
            key,
        };
        let message = files.load().unwrap_err().to_string();
        assert!(message.contains("cert.pem"), "{message}");
        let missing = TlsFiles {
            cert: dir.path().join("weg.pem"),
            key: dir.path().join("ook-weg.pem"),
        };
        let message = missing.load().unwrap_err().to_string();
        assert!(message.contains("weg.pem"), "{message}");
    }
}
