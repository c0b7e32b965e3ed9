//! The local reminder configuration: `herinneringen.toml` in the data directory, never shared.
//!
//! It names the organisation's own SMTP server (host, port, STARTTLS, TLS or none for a server
//! on this computer, sender) and who receives the digests, per role and for everything. A
//! password is never in the file: it comes from an environment variable or a file of its own,
//! read only when mail is sent. The TOML syntax is the `toml` crate's; the fields are checked
//! here so that every error names its field in Dutch.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lettre::Address;
use lettre::message::Mailbox;
use toml::{Table, Value};

/// The file name in the data directory.
pub const FILE: &str = "herinneringen.toml";

/// The file's format, under `kompas herinneringen --help`.
pub const HELP: &str = "Instellingen: herinneringen.toml in de kompas-map (alleen op deze computer, nooit gedeeld):

  [smtp]
  server = \"smtp.gemeente.nl\"
  poort = 587                      # standaard 587 (starttls), 465 (tls), 25 (geen)
  beveiliging = \"starttls\"         # starttls, tls, of geen (alleen voor localhost)
  afzender = \"Kompas <kompas@gemeente.nl>\"
  gebruiker = \"kompas@gemeente.nl\"
  wachtwoord-variabele = \"KOMPAS_SMTP_WACHTWOORD\"   # of: wachtwoord-bestand = \"/etc/kompas/smtp\"

  [ontvangers]
  iedereen = [\"jeugd@gemeente.nl\"]  # krijgt elke herinnering
  [ontvangers.rol]
  coordinator = [\"beleid@gemeente.nl\"]   # herinneringen van werkstromen waarin je die rol hebt

kompas serve verstuurt ze ook, elke vijf minuten.";

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plain connection upgraded with STARTTLS (usually port 587); refused without it.
    StartTls,
    /// TLS from the first byte (usually port 465).
    Tls,
    /// No encryption; only for a server on this computer.
    None,
}

/// Where the SMTP password comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Secret {
    /// An environment variable of this name.
    Env(String),
    /// A file holding only the password.
    File(PathBuf),
}

/// Logging in to the SMTP server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub user: String,
    pub secret: Secret,
}

/// The SMTP server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub sender: Mailbox,
    pub login: Option<Login>,
    /// The certificates of a private CA the server's certificate may also come from, besides
    /// the system's trust store (`ca-bestand`, PEM).
    pub ca: Option<Ca>,
}

/// A private certificate authority for the SMTP server, read when the file is loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ca {
    /// The file it was read from.
    pub path: PathBuf,
    /// Its certificates, PEM.
    pub pem: Vec<u8>,
}

/// Who receives the digests.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Recipients {
    /// Addresses that receive every reminder.
    pub everyone: Vec<Address>,
    /// Addresses per role the organisation holds in an instance (e.g. `coordinator`).
    pub per_role: BTreeMap<String, Vec<Address>>,
}

impl Recipients {
    /// The addresses for a reminder about an instance in which the organisation holds `role`.
    pub fn for_role(&self, role: Option<&str>) -> Vec<&Address> {
        let mut out: Vec<&Address> = self.everyone.iter().collect();
        if let Some(list) = role.and_then(|r| self.per_role.get(r)) {
            out.extend(list.iter());
        }
        out.sort();
        out.dedup();
        out
    }
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub smtp: Smtp,
    pub recipients: Recipients,
}

/// What is wrong with the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "{0} bestaat niet; maak het aan om herinneringen te versturen (zie `kompas herinneringen --help`)"
    )]
    Missing(PathBuf),
    #[error("kan {path} niet lezen: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: geen geldige TOML: {message}")]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: {field}: {message}")]
    Field {
        path: PathBuf,
        field: String,
        message: String,
    },
    #[error("het wachtwoord voor de mailserver staat niet in omgevingsvariabele {0}")]
    SecretEnv(String),
    #[error("kan het wachtwoord voor de mailserver niet lezen uit {path}: {source}")]
    SecretFile {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The configuration file of the data directory `root`.
pub fn path(root: &Path) -> PathBuf {
    root.join(FILE)
}

/// Reads and checks the configuration of the data directory `root`.
pub fn load(root: &Path) -> Result<Config, ConfigError> {
    let path = path(root);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ConfigError::Missing(path));
        }
        Err(source) => return Err(ConfigError::Read { path, source }),
    };
    parse(&path, &text)
}

/// Checks the configuration text `text` read from `path`.
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    let table: Table = text.parse().map_err(|e: toml::de::Error| {
        let (line, column) = e
            .span()
            .map(|s| line_column(text, s.start))
            .unwrap_or((1, 1));
        ConfigError::Syntax {
            path: path.to_path_buf(),
            line,
            column,
            message: e.message().to_string(),
        }
    })?;
    let fields = Fields { path };
    fields.only(&table, "", &["smtp", "ontvangers"])?;
    let smtp = fields.table(&table, "smtp")?.ok_or_else(|| {
        fields.error(
            "smtp",
            "ontbreekt; geef de mailserver van de organisatie op",
        )
    })?;
    let smtp = fields.smtp(smtp)?;
    let recipients = match fields.table(&table, "ontvangers")? {
        Some(t) => fields.recipients(t)?,
        None => Recipients::default(),
    };
    if recipients.everyone.is_empty() && recipients.per_role.values().all(Vec::is_empty) {
        return Err(fields.error(
            "ontvangers",
            "geen enkel adres; geef ontvangers.iedereen of ontvangers.rol.ROL op",
        ));
    }
    Ok(Config { smtp, recipients })
}

impl Login {
    /// The password, read now from its environment variable or file.
    pub fn password(&self) -> Result<String, ConfigError> {
        match &self.secret {
            Secret::Env(name) => {
                std::env::var(name).map_err(|_| ConfigError::SecretEnv(name.clone()))
            }
            Secret::File(path) => std::fs::read_to_string(path)
                .map(|s| s.trim_end_matches(['\r', '\n']).to_string())
                .map_err(|source| ConfigError::SecretFile {
                    path: path.clone(),
                    source,
                }),
        }
    }
}

/// Checks fields of one file, naming each in its errors.
struct Fields<'a> {
    path: &'a Path,
}

impl Fields<'_> {
    fn error(&self, field: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Field {
            path: self.path.to_path_buf(),
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// Refuses keys of `table` (at `prefix`) that are not in `known`.
    fn only(&self, table: &Table, prefix: &str, known: &[&str]) -> Result<(), ConfigError> {
        for key in table.keys() {
            if !known.contains(&key.as_str()) {
                let field = join(prefix, key);
                let message = if key == "wachtwoord" {
                    "een wachtwoord hoort niet in dit bestand; gebruik wachtwoord-variabele of wachtwoord-bestand".to_string()
                } else {
                    format!("onbekend veld; bekend zijn: {}", known.join(", "))
                };
                return Err(self.error(&field, message));
            }
        }
        Ok(())
    }

    fn table<'t>(&self, table: &'t Table, key: &str) -> Result<Option<&'t Table>, ConfigError> {
        match table.get(key) {
            None => Ok(None),
            Some(Value::Table(t)) => Ok(Some(t)),
            Some(_) => Err(self.error(key, "moet een tabel zijn, zoals [smtp]")),
        }
    }

    fn text(&self, table: &Table, prefix: &str, key: &str) -> Result<Option<String>, ConfigError> {
        match table.get(key) {
            None => Ok(None),
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_string())),
            Some(Value::String(_)) => Err(self.error(&join(prefix, key), "is leeg")),
            Some(_) => Err(self.error(
                &join(prefix, key),
                "moet tekst zijn, tussen aanhalingstekens",
            )),
        }
    }

    fn smtp(&self, t: &Table) -> Result<Smtp, ConfigError> {
        let p = "smtp";
        self.only(
            t,
            p,
            &[
                "server",
                "poort",
                "beveiliging",
                "afzender",
                "gebruiker",
                "wachtwoord-variabele",
                "wachtwoord-bestand",
                "ca-bestand",
            ],
        )?;
        let host = self
            .text(t, p, "server")?
            .ok_or_else(|| self.error("smtp.server", "ontbreekt (de naam van de mailserver)"))?;
        let security = match self.text(t, p, "beveiliging")?.as_deref() {
            None | Some("starttls") => Security::StartTls,
            Some("tls") => Security::Tls,
            Some("geen") => Security::None,
            Some(other) => {
                return Err(self.error(
                    "smtp.beveiliging",
                    format!("\"{other}\" kennen we niet; kies starttls, tls of geen"),
                ));
            }
        };
        if security == Security::None && !is_local(&host) {
            return Err(self.error(
                "smtp.beveiliging",
                format!(
                    "\"geen\" mag alleen voor een mailserver op deze computer, niet voor {host}; kies starttls of tls"
                ),
            ));
        }
        let port = match t.get("poort") {
            None => match security {
                Security::StartTls => 587,
                Security::Tls => 465,
                Security::None => 25,
            },
            Some(Value::Integer(n)) => {
                u16::try_from(*n).ok().filter(|n| *n > 0).ok_or_else(|| {
                    self.error(
                        "smtp.poort",
                        format!("{n} is geen poort (1 tot en met 65535)"),
                    )
                })?
            }
            Some(_) => return Err(self.error("smtp.poort", "moet een getal zijn, zoals 587")),
        };
        let sender = self.text(t, p, "afzender")?.ok_or_else(|| {
            self.error(
                "smtp.afzender",
                "ontbreekt (het adres waarvandaan kompas mailt)",
            )
        })?;
        let sender: Mailbox = sender.parse().map_err(|_| {
            self.error(
                "smtp.afzender",
                format!("\"{sender}\" is geen mailadres (zoals kompas@gemeente.nl of Kompas <kompas@gemeente.nl>)"),
            )
        })?;
        let env = self.text(t, p, "wachtwoord-variabele")?;
        let file = self.text(t, p, "wachtwoord-bestand")?;
        let login = match (self.text(t, p, "gebruiker")?, env, file) {
            (None, None, None) => None,
            (None, _, _) => {
                return Err(self.error(
                    "smtp.gebruiker",
                    "ontbreekt, terwijl er een wachtwoord is opgegeven",
                ));
            }
            (Some(_), Some(_), Some(_)) => {
                return Err(self.error(
                    "smtp.wachtwoord-bestand",
                    "kies wachtwoord-variabele of wachtwoord-bestand, niet allebei",
                ));
            }
            (Some(_), None, None) => {
                return Err(self.error(
                    "smtp.wachtwoord-variabele",
                    "ontbreekt; geef wachtwoord-variabele of wachtwoord-bestand op bij de gebruiker",
                ));
            }
            (Some(user), Some(env), None) => Some(Login {
                user,
                secret: Secret::Env(env),
            }),
            (Some(user), None, Some(file)) => Some(Login {
                user,
                secret: Secret::File(PathBuf::from(file)),
            }),
        };
        let ca = match self.text(t, p, "ca-bestand")? {
            None => None,
            Some(_) if security == Security::None => {
                return Err(self.error(
                    "smtp.ca-bestand",
                    "past alleen bij beveiliging starttls of tls",
                ));
            }
            Some(file) => Some(self.ca(&file)?),
        };
        Ok(Smtp {
            host,
            port,
            security,
            sender,
            login,
            ca,
        })
    }

    /// The CA file `file` (relative to the data directory), which must hold PEM certificates.
    fn ca(&self, file: &str) -> Result<Ca, ConfigError> {
        let field = "smtp.ca-bestand";
        let path = match self.path.parent() {
            Some(dir) => dir.join(file),
            None => PathBuf::from(file),
        };
        let pem = std::fs::read(&path)
            .map_err(|e| self.error(field, format!("{} is niet te lezen: {e}", path.display())))?;
        let is_pem = String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----")
            && lettre::transport::smtp::client::Certificate::from_pem(&pem).is_ok();
        if !is_pem {
            return Err(self.error(
                field,
                format!(
                    "{} bevat geen certificaat in PEM-vorm (-----BEGIN CERTIFICATE-----)",
                    path.display()
                ),
            ));
        }
        Ok(Ca { path, pem })
    }

    fn recipients(&self, t: &Table) -> Result<Recipients, ConfigError> {
        self.only(t, "ontvangers", &["iedereen", "rol"])?;
        let everyone = self.addresses(t.get("iedereen"), "ontvangers.iedereen")?;
        let mut per_role = BTreeMap::new();
        if let Some(roles) = self.table(t, "rol").map_err(|_| {
            self.error(
                "ontvangers.rol",
                "moet een tabel zijn, zoals [ontvangers.rol] met coordinator = [\"...\"]",
            )
        })? {
            for (role, list) in roles {
                let field = format!("ontvangers.rol.{role}");
                per_role.insert(role.clone(), self.addresses(Some(list), &field)?);
            }
        }
        Ok(Recipients { everyone, per_role })
    }

    fn addresses(&self, value: Option<&Value>, field: &str) -> Result<Vec<Address>, ConfigError> {
        let Some(value) = value else {
            return Ok(Vec::new());
        };
        let Value::Array(items) = value else {
            return Err(self.error(
                field,
                "moet een lijst van adressen zijn, zoals [\"jeugd@gemeente.nl\"]",
            ));
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let here = format!("{field}[{}]", i + 1);
            let Value::String(text) = item else {
                return Err(self.error(&here, "moet een mailadres tussen aanhalingstekens zijn"));
            };
            let address: Address = text
                .trim()
                .parse()
                .map_err(|_| self.error(&here, format!("\"{text}\" is geen mailadres")))?;
            out.push(address);
        }
        Ok(out)
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Whether `host` is this computer.
fn is_local(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The 1-based line and column of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn check(text: &str) -> Result<Config, String> {
        parse(Path::new("herinneringen.toml"), text).map_err(|e| e.to_string())
    }

    const GOOD: &str = "[smtp]\nserver = \"smtp.gemeente.nl\"\nafzender = \"Kompas <kompas@gemeente.nl>\"\ngebruiker = \"kompas\"\nwachtwoord-variabele = \"SMTP_WACHTWOORD\"\n\n[ontvangers]\niedereen = [\"jeugd@gemeente.nl\"]\n[ontvangers.rol]\ncoordinator = [\"beleid@gemeente.nl\", \"jeugd@gemeente.nl\"]\n";

    #[test]
    fn a_complete_file_reads_with_defaults() {
        let config = check(GOOD).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.smtp.port, 587);
        assert_eq!(config.smtp.security, Security::StartTls);
        assert_eq!(
            config.smtp.login.as_ref().map(|l| &l.secret),
            Some(&Secret::Env("SMTP_WACHTWOORD".into()))
        );
        let to: Vec<String> = config
            .recipients
            .for_role(Some("coordinator"))
            .iter()
            .map(|a| a.to_string())
            .collect();
        assert_eq!(to, ["beleid@gemeente.nl", "jeugd@gemeente.nl"]);
        assert_eq!(config.recipients.for_role(Some("partner")).len(), 1);
        assert_eq!(config.recipients.for_role(None).len(), 1);
    }

    #[test]
    fn every_error_names_its_field() {
        let cases = [
            (
                GOOD.replace("[smtp]\n", "[smtp]\nwachtwoord = \"geheim\"\n"),
                "herinneringen.toml: smtp.wachtwoord: een wachtwoord hoort niet in dit bestand",
            ),
            (
                GOOD.replace(
                    "smtp.gemeente.nl",
                    "mail.example.nl\"\nbeveiliging = \"geen",
                ),
                "smtp.beveiliging: \"geen\" mag alleen voor een mailserver op deze computer",
            ),
            (
                GOOD.replace("jeugd@gemeente.nl\"]\n[", "geen-adres\"]\n["),
                "ontvangers.iedereen[1]: \"geen-adres\" is geen mailadres",
            ),
            (
                GOOD.replace("[smtp]\n", "[smtp]\npoort = 70000\n"),
                "smtp.poort: 70000 is geen poort",
            ),
            (
                GOOD.replace("gebruiker = \"kompas\"\n", ""),
                "smtp.gebruiker: ontbreekt, terwijl er een wachtwoord is opgegeven",
            ),
            (GOOD.replace("afzender", "van"), "smtp.van: onbekend veld"),
            ("[smtp\nserver = 1\n".to_string(), "herinneringen.toml:1:"),
        ];
        for (text, expected) in cases {
            let e = check(&text).expect_err(expected);
            assert!(e.contains(expected), "{expected:?} not in {e:?}");
        }
    }

    #[test]
    fn no_encryption_is_for_this_computer_only() {
        let local = "[smtp]\nserver = \"127.0.0.1\"\nbeveiliging = \"geen\"\nafzender = \"kompas@localhost\"\n[ontvangers]\niedereen = [\"a@localhost\"]\n";
        let config = check(local).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.smtp.port, 25);
        assert_eq!(config.smtp.login, None);
    }

    /// A self-signed CA certificate (ECDSA P-256, valid until 2126), as an organisation's
    /// private CA for its mail server would be.
    pub(crate) const CA_PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIBizCCATGgAwIBAgIUWx7prhd/yV6aMw+Ch1qU2O/006UwCgYIKoZIzj0EAwIw\nGjEYMBYGA1UEAwwPUHJvZWYtQ0Ega29tcGFzMCAXDTI2MTIwMTIzMDUwMloYDzIx\nMjYxMTA3MjMwNTAyWjAaMRgwFgYDVQQDDA9Qcm9lZi1DQSBrb21wYXMwWTATBgcq\nhkjOPQIBBggqhkjOPQMBBwNCAARZUSDfo1kLwtAYn3SsUdwvLSKCz7e0Su5lERYT\nFfiSceA+X1jSm2FdfINdC2Cse9zMuXmomDELjLXaoqh8uvCHo1MwUTAdBgNVHQ4E\nFgQUXQhMIG1Yrrmiiw1cii7eIFAMxWgwHwYDVR0jBBgwFoAUXQhMIG1Yrrmiiw1c\nii7eIFAMxWgwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiEA8C4M\nuvUIkH0Acj1KoWQOffSVHHyFNQn1Vc43NbOsIi4CIA+Opna/s+8hexF9Sb5nKswK\ncQoOiqNvSVw9DiPlkB/o\n-----END CERTIFICATE-----\n";

    /// `GOOD` for a server on this computer without a login, with `security` and
    /// `ca-bestand = "FILE"`, read from a directory holding `files`.
    fn with_ca(file: &str, files: &[(&str, &str)], security: &str) -> Result<Config, String> {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap_or_else(|e| panic!("{e}"));
        }
        let text = GOOD
            .replace(
                "[smtp]\n",
                &format!("[smtp]\nbeveiliging = \"{security}\"\nca-bestand = \"{file}\"\n"),
            )
            .replace(
                "gebruiker = \"kompas\"\nwachtwoord-variabele = \"SMTP_WACHTWOORD\"\n",
                "",
            )
            .replace("smtp.gemeente.nl", "127.0.0.1");
        parse(&dir.path().join("herinneringen.toml"), &text).map_err(|e| e.to_string())
    }

    #[test]
    fn a_private_ca_is_read_beside_the_file_and_refused_when_it_is_no_certificate() {
        let config =
            with_ca("ca.pem", &[("ca.pem", CA_PEM)], "tls").unwrap_or_else(|e| panic!("{e}"));
        let ca = config.smtp.ca.as_ref().unwrap_or_else(|| panic!("a CA"));
        assert!(ca.path.ends_with("ca.pem"));
        assert_eq!(ca.pem, CA_PEM.as_bytes());
        // The mail connection takes it, beside the system's trust store.
        assert!(super::super::mailer::Mailer::new(&config.smtp).is_ok());

        for (files, security, expected) in [
            (&[][..], "starttls", "smtp.ca-bestand: "),
            (
                &[("ca.pem", "geen certificaat")][..],
                "tls",
                "bevat geen certificaat in PEM-vorm",
            ),
            (
                &[("ca.pem", CA_PEM)][..],
                "geen",
                "past alleen bij beveiliging starttls of tls",
            ),
        ] {
            let e = with_ca("ca.pem", files, security).expect_err(expected);
            assert!(e.contains(expected), "{expected:?} not in {e:?}");
            assert!(e.contains("smtp."), "{e}");
        }
        let e = with_ca("ca.pem", &[], "starttls").expect_err("missing");
        assert!(e.contains("is niet te lezen"), "{e}");
    }
}
