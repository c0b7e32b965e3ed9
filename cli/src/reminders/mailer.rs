//! Building and handing over digest mail with lettre: the message with its stable Message-ID,
//! and the SMTP connection (STARTTLS, TLS with the system's trust store through rustls, plus a
//! private CA when one is configured, or none for a server on this computer).

use std::time::{Duration, SystemTime};

use lettre::address::AddressError;
use lettre::address::Envelope;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Address, Message, SmtpTransport, Transport};

use super::config::{ConfigError, Security, Smtp};
use super::digest::Digest;
use super::ledger::Pending;
use kompas_engine::Timestamp;

/// How long one SMTP exchange may take before it counts as unreachable.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Why a digest was not handed over.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Worth trying again later: unreachable, a timeout, a temporary refusal.
    #[error("de mailserver {server} nam het bericht (nog) niet aan: {source}")]
    Later {
        server: String,
        source: lettre::transport::smtp::Error,
    },
    /// Refused for good (a 5xx reply, e.g. an unknown recipient): trying again will not help.
    #[error("de mailserver {server} weigert het bericht: {source}")]
    Refused {
        server: String,
        source: lettre::transport::smtp::Error,
    },
    #[error("de verbinding met de mailserver {server} kan niet worden opgezet: {source}")]
    Setup {
        server: String,
        source: lettre::transport::smtp::Error,
    },
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("het bericht aan {to} kan niet worden opgesteld: {message}")]
    Build { to: String, message: String },
}

/// The message for `digest`, ready to be recorded and sent.
pub fn compose(smtp: &Smtp, digest: &Digest, now: Timestamp) -> Result<Pending, SendError> {
    let build = |message: String| SendError::Build {
        to: digest.to.to_string(),
        message,
    };
    let mut seed = digest.to.to_string().to_lowercase();
    for k in &digest.keys {
        seed.push('\n');
        seed.push_str(k);
    }
    let message_id = format!(
        "<herinnering-{}@{}>",
        &blake3::hash(seed.as_bytes()).to_hex()[..32],
        smtp.sender.email.domain()
    );
    let date = SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(now.0).unwrap_or(0));
    let message = Message::builder()
        .from(smtp.sender.clone())
        .to(digest.to.clone().into())
        .subject(&digest.subject)
        .message_id(Some(message_id.clone()))
        .date(date)
        .header(ContentType::TEXT_PLAIN)
        .body(digest.body.clone())
        .map_err(|e| build(e.to_string()))?;
    Ok(Pending {
        message_id,
        from: smtp.sender.email.to_string(),
        to: digest.to.to_string(),
        keys: digest.keys.clone(),
        subject: digest.subject.clone(),
        raw: message.formatted(),
    })
}

/// A connection setting to the organisation's SMTP server.
pub struct Mailer {
    transport: SmtpTransport,
    server: String,
}

impl Mailer {
    /// The transport for `smtp`, reading the password (if any) now.
    pub fn new(smtp: &Smtp) -> Result<Mailer, SendError> {
        let server = format!("{}:{}", smtp.host, smtp.port);
        let setup = |source| SendError::Setup {
            server: server.clone(),
            source,
        };
        let parameters = || {
            let mut builder = TlsParameters::builder(smtp.host.clone());
            if let Some(ca) = &smtp.ca {
                builder = builder.add_root_certificate(Certificate::from_pem(&ca.pem)?);
            }
            builder.build_rustls()
        };
        let tls = match smtp.security {
            Security::None => Tls::None,
            Security::StartTls => Tls::Required(parameters().map_err(setup)?),
            Security::Tls => Tls::Wrapper(parameters().map_err(setup)?),
        };
        let mut builder = SmtpTransport::builder_dangerous(smtp.host.clone())
            .port(smtp.port)
            .tls(tls)
            .timeout(Some(TIMEOUT));
        if let Some(login) = &smtp.login {
            builder = builder.credentials(Credentials::new(login.user.clone(), login.password()?));
        }
        Ok(Mailer {
            transport: builder.build(),
            server,
        })
    }

    /// Hands `pending` over exactly as recorded; `Ok` once the server has accepted it.
    pub fn send(&self, pending: &Pending) -> Result<(), SendError> {
        let build = |message: String| SendError::Build {
            to: pending.to.clone(),
            message,
        };
        let from: Address = pending
            .from
            .parse()
            .map_err(|e: AddressError| build(e.to_string()))?;
        let to: Address = pending
            .to
            .parse()
            .map_err(|e: AddressError| build(e.to_string()))?;
        let envelope = Envelope::new(Some(from), vec![to]).map_err(|e| build(e.to_string()))?;
        match self.transport.send_raw(&envelope, &pending.raw) {
            Ok(_) => Ok(()),
            Err(source) if source.is_permanent() => Err(SendError::Refused {
                server: self.server.clone(),
                source,
            }),
            Err(source) => Err(SendError::Later {
                server: self.server.clone(),
                source,
            }),
        }
    }
}
