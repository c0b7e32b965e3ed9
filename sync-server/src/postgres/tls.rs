//! TLS between a relay node and its database, asked for in the connection URL with libpq's own
//! parameters, so an operator writes what they already write for `psql`:
//!
//! - no `sslmode`, or `sslmode=disable`: no TLS (a database on the same machine or a private
//!   network);
//! - `sslmode=require`, `verify-ca` or `verify-full`: TLS, with the server's certificate always
//!   checked against the system's trust store and its host name (stricter than libpq's
//!   `require`, which checks nothing);
//! - `sslrootcert=FILE`: also trust the certificate authority in this PEM file (a private CA);
//! - `sslmode=allow` and `prefer` are refused: they fall back to no TLS without saying so,
//!   which is not a choice a relay should make for its operator.
//!
//! tokio-postgres knows `disable`, `prefer` and `require` and no `sslrootcert`, so the URL is
//! read here first and handed on with what tokio-postgres understands. The TLS itself is
//! rustls, through tokio-postgres-rustls, checked as every other TLS link kompas makes
//! ([`crate::client_tls::trusting`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_postgres::config::SslMode;

use super::PgError;

/// How connections to the database are encrypted: the connector every connection is made with
/// (it stays unused when the settings say no TLS).
pub type Tls = tokio_postgres_rustls::MakeRustlsConnect;

/// What a connection URL asks for.
pub struct Settings {
    /// The connection settings for tokio-postgres.
    pub config: tokio_postgres::Config,
    /// The connector.
    pub tls: Tls,
    /// Whether connections use TLS.
    pub encrypted: bool,
}

/// Reads `url` (`postgres://...` with libpq's `sslmode` and `sslrootcert`).
pub fn settings(url: &str) -> Result<Settings, PgError> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut mode = None;
    let mut root = None;
    let mut rest = form_urlencoded::Serializer::new(String::new());
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match &*key {
            "sslmode" => mode = Some(value.into_owned()),
            "sslrootcert" => root = Some(PathBuf::from(value.into_owned())),
            _ => {
                rest.append_pair(&key, &value);
            }
        }
    }
    let encrypted = match mode.as_deref() {
        None | Some("disable") => false,
        Some("require" | "verify-ca" | "verify-full") => true,
        Some(weak @ ("allow" | "prefer")) => {
            return Err(PgError::BadUrl(format!(
                "sslmode={weak} valt zonder melding terug op een verbinding zonder TLS; kies \
                 sslmode=verify-full (met TLS, certificaat gecontroleerd) of sslmode=disable"
            )));
        }
        Some(other) => {
            return Err(PgError::BadUrl(format!(
                "sslmode={other} is onbekend; kies disable, require, verify-ca of verify-full"
            )));
        }
    };
    if root.is_some() && !encrypted {
        return Err(PgError::BadUrl(
            "sslrootcert zonder TLS: zet er sslmode=verify-full bij".into(),
        ));
    }
    let rest = rest.finish();
    let passed = if rest.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{rest}")
    };
    let mut config: tokio_postgres::Config = passed
        .parse()
        .map_err(|e: tokio_postgres::Error| PgError::BadUrl(with_causes(&e)))?;
    config.ssl_mode(if encrypted {
        SslMode::Require
    } else {
        SslMode::Disable
    });
    let client =
        crate::client_tls::trusting(root.as_deref(), unusable_ca).map_err(PgError::BadUrl)?;
    Ok(Settings {
        config,
        tls: Tls::new(Arc::unwrap_or_clone(client)),
        encrypted,
    })
}

/// What a failed connection to the database means, in words an operator can act on: a TLS
/// failure is explained, anything else is given with its causes.
pub fn explain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut current = Some(e);
    while let Some(error) = current {
        let tls = error.downcast_ref::<rustls::Error>().or_else(|| {
            error
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref()?.downcast_ref::<rustls::Error>())
        });
        if let Some(tls) = tls {
            return untrusted(tls);
        }
        current = error.source();
    }
    with_causes(e)
}

fn untrusted(e: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    let why = match e {
        rustls::Error::InvalidCertificate(C::UnknownIssuer) => {
            "is uitgegeven door een onbekende certificaatautoriteit; gebruikt de database een \
             eigen CA, geef het CA-certificaat dan op met sslrootcert=BESTAND in de URL"
                .to_string()
        }
        rustls::Error::InvalidCertificate(
            C::NotValidForName | C::NotValidForNameContext { .. },
        ) => "hoort niet bij de hostnaam in de URL; gebruik de naam of het adres waarvoor het \
             certificaat is uitgegeven (of vraag een certificaat voor deze naam; sslrootcert \
             verandert daar niets aan)"
            .to_string(),
        rustls::Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            "is verlopen; de beheerder van de database moet het vernieuwen (sslrootcert \
             verandert daar niets aan)"
                .to_string()
        }
        other => format!(
            "wordt niet vertrouwd ({other}); controleer sslrootcert en het certificaat van de \
             database"
        ),
    };
    format!("het TLS-certificaat van de database {why}")
}

/// An error with what caused it (tokio-postgres names the offending option only in its cause).
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text = format!("{text}: {c}");
        cause = c.source();
    }
    text
}

fn unusable_ca(ca: &Path, e: &dyn std::fmt::Display) -> String {
    format!(
        "het CA-bestand {} voor de database (sslrootcert) is niet te gebruiken: {e}; geef een \
         PEM-bestand met het certificaat van de certificaatautoriteit",
        ca.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(url: &str) -> String {
        match settings(url) {
            Ok(_) => panic!("{url} was taken"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn the_url_says_whether_connections_use_tls() {
        let plain = settings("postgres://relay@db.example/kompas").unwrap();
        assert!(!plain.encrypted);
        assert_eq!(plain.config.get_ssl_mode(), SslMode::Disable);
        assert_eq!(plain.config.get_dbname(), Some("kompas"));
        for mode in ["require", "verify-ca", "verify-full"] {
            let s = settings(&format!(
                "postgres://relay@db.example/kompas?sslmode={mode}&connect_timeout=3"
            ))
            .unwrap();
            assert!(s.encrypted, "{mode}");
            assert_eq!(s.config.get_ssl_mode(), SslMode::Require);
            // Other parameters reach tokio-postgres as they were.
            assert_eq!(
                s.config.get_connect_timeout(),
                Some(&std::time::Duration::from_secs(3))
            );
        }
    }

    #[test]
    fn weak_or_unknown_modes_and_a_bad_ca_are_refused_with_the_reason() {
        assert!(refusal("postgres://db/k?sslmode=prefer").contains("sslmode=prefer"));
        assert!(refusal("postgres://db/k?sslmode=allow").contains("verify-full"));
        assert!(refusal("postgres://db/k?sslmode=streng").contains("onbekend"));
        assert!(refusal("postgres://db/k?sslrootcert=/x.pem").contains("sslmode=verify-full"));
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("leeg.pem");
        std::fs::write(&empty, "geen certificaat").unwrap();
        let message = refusal(&format!(
            "postgres://db/k?sslmode=verify-full&sslrootcert={}",
            empty.display()
        ));
        assert!(
            message.contains("leeg.pem") && message.contains("sslrootcert"),
            "{message}"
        );
        assert!(refusal("postgres://db/k?bogus=1").contains("bogus"));
    }
}
