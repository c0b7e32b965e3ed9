//! TLS for connecting to `wss://` relays: which certificates are trusted, and what a failed
//! check means in words a user can act on. Both binaries use it: `kompas` for its relays and
//! `kompas-relay` for the relay it mirrors and for its database (`postgres::tls`).
//!
//! It lives in the relay crate's client side because `kompas` already depends on this crate
//! (for the protocol client), so one module here adds no crate and no dependency edge.
//!
//! A relay's certificate is checked by rustls against the system's trust store (read once per
//! process with rustls-native-certs) plus, where one is given for that relay, a private
//! certificate authority from a PEM file (`--ca FILE`, or `--mirror-ca FILE` for a mirror). A
//! certificate that fails the check is explained in Dutch (expired, another host name, an
//! unknown or self-signed issuer) instead of looking like an unreachable relay.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use rustls::{CertificateError, ClientConfig, RootCertStore};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use tokio_tungstenite::Connector;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::error::TlsError;

use crate::client::endpoint;

/// The client configuration for one relay: the system's roots, plus `ca` if given. Fails with
/// a Dutch explanation when the CA file cannot be used; `ca_option` is the option that gives
/// it (`--ca`, `--mirror-ca`), named in that explanation.
pub fn client_config(
    relay: &str,
    ca: Option<&Path>,
    ca_option: &str,
) -> Result<Arc<ClientConfig>, String> {
    trusting(ca, |ca, e| {
        format!(
            "het CA-bestand {} voor relay {relay} is niet te gebruiken: {e}; geef een \
             PEM-bestand met het certificaat van de certificaatautoriteit ({ca_option} BESTAND)",
            ca.display()
        )
    })
}

/// A client configuration that trusts the system's roots, plus the certificates in the PEM file
/// `ca` if given; `unreadable` says, for the file and what is wrong with it, why it cannot be
/// used. Every TLS link kompas makes as a client (to relays, to a mirror's upstream, to the
/// relay's database) is checked this way.
pub fn trusting(
    ca: Option<&Path>,
    unreadable: impl Fn(&Path, &dyn std::fmt::Display) -> String,
) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    // Certificates of the system store that rustls cannot parse are skipped, as browsers do.
    roots.add_parsable_certificates(system_roots().iter().cloned());
    if let Some(ca) = ca {
        let certs = CertificateDer::pem_file_iter(ca)
            .map_err(|e| unreadable(ca, &e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| unreadable(ca, &e))?;
        if certs.is_empty() {
            return Err(unreadable(ca, &"er staat geen certificaat in"));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| unreadable(ca, &e))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS-instellingen: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// What `tokio-tungstenite` needs to connect to `relay`: a rustls connector for `wss://` (as
/// [`client_config`] makes it), nothing for `ws://`.
pub fn connector(
    relay: &str,
    ca: Option<&Path>,
    ca_option: &str,
) -> Result<Option<Connector>, String> {
    if endpoint(relay).starts_with("wss://") {
        Ok(Some(Connector::Rustls(client_config(
            relay, ca, ca_option,
        )?)))
    } else {
        Ok(None)
    }
}

/// The certificates of the system's trust store, read once.
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| rustls_native_certs::load_native_certs().certs)
}

/// What a failed TLS connection to `relay` means and what to do, if the failure was TLS's
/// (rather than a relay that could not be reached at all); `ca_option` is the option that gives
/// a private CA.
pub fn explain(relay: &str, error: &WsError, ca_option: &str) -> Option<String> {
    let rustls_error = match error {
        WsError::Io(io) => io.get_ref()?.downcast_ref::<rustls::Error>()?,
        WsError::Tls(TlsError::Rustls(e)) => e,
        WsError::Tls(TlsError::InvalidDnsName) => {
            return Some(format!(
                "het adres {relay} bevat geen bruikbare hostnaam voor TLS; gebruik wss://hostnaam:poort"
            ));
        }
        _ => return None,
    };
    let host = host_of(relay);
    Some(match rustls_error {
        rustls::Error::InvalidCertificate(cert) => match cert {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => format!(
                "het TLS-certificaat van relay {relay} is verlopen; de beheerder van de relay \
                 moet het vernieuwen (klopt de klok van deze computer wel?)"
            ),
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                format!(
                    "het TLS-certificaat van relay {relay} is nog niet geldig; controleer de klok \
                     van deze computer, of vraag de beheerder van de relay ernaar"
                )
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                format!(
                    "het TLS-certificaat van relay {relay} hoort niet bij de hostnaam {host}; \
                     controleer het adres van de relay, of vraag de beheerder om een certificaat \
                     voor {host}"
                )
            }
            CertificateError::UnknownIssuer => format!(
                "het TLS-certificaat van relay {relay} is uitgegeven door een onbekende \
                 certificaatautoriteit (of door de relay zelf ondertekend); gebruikt de relay \
                 een eigen CA, geef het CA-certificaat dan op met {ca_option} BESTAND"
            ),
            CertificateError::Revoked => format!(
                "het TLS-certificaat van relay {relay} is ingetrokken; de beheerder van de relay \
                 moet een nieuw certificaat plaatsen"
            ),
            other => format!(
                "het TLS-certificaat van relay {relay} wordt niet vertrouwd ({other:?}); vraag de \
                 beheerder van de relay ernaar"
            ),
        },
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => format!(
            "relay {relay} spreekt geen TLS op dit adres; draait de relay zonder TLS, gebruik \
             dan ws:// in plaats van wss://"
        ),
        other => format!("de TLS-verbinding met relay {relay} is mislukt: {other}"),
    })
}

/// The host name in a relay URL, for messages.
fn host_of(relay: &str) -> &str {
    let rest = relay
        .split_once("://")
        .map_or(relay, |(_, rest)| rest)
        .split(['/', '?'])
        .next()
        .unwrap_or_default();
    match rest.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => rest.rsplit_once(':').map_or(rest, |(host, _)| host),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_come_out_of_relay_urls() {
        assert_eq!(host_of("wss://relay.example:7421/ws"), "relay.example");
        assert_eq!(host_of("wss://relay.example"), "relay.example");
        assert_eq!(host_of("wss://[::1]:7421"), "::1");
    }

    #[test]
    fn a_ca_file_without_a_certificate_is_explained() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, "geen certificaat").unwrap();
        let message = client_config("wss://r", Some(&ca), "--ca").unwrap_err();
        assert!(
            message.contains("ca.pem") && message.contains("--ca"),
            "{message}"
        );
        let missing =
            client_config("wss://r", Some(&dir.path().join("weg.pem")), "--ca").unwrap_err();
        assert!(missing.contains("weg.pem"), "{missing}");
    }
}
