//! `kompas herinneringen instellen`: writes `herinneringen.toml` from flags, asking for what is
//! missing when run in a terminal. The text is checked by the same reading code as every round
//! uses ([`config::parse`]) before it replaces the file, so what this command writes always
//! loads, and a bad value is refused naming its field. The password itself is never asked for
//! or stored: only the name of the environment variable or the file that holds it.

use std::io::{BufRead, IsTerminal, Write as _};
use std::path::Path;

use toml::{Table, Value};

use super::config::{self, Config, ConfigError};

/// What the command was given, each field as typed (checked only by [`config::parse`]).
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub server: Option<String>,
    pub port: Option<i64>,
    pub security: Option<String>,
    pub sender: Option<String>,
    pub user: Option<String>,
    pub password_variable: Option<String>,
    pub password_file: Option<String>,
    /// The private CA's PEM file, as the file names it (relative: to the data directory).
    pub ca_file: Option<String>,
    pub everyone: Vec<String>,
    /// `ROL=ADRES`, one per address.
    pub per_role: Vec<String>,
}

/// Why the settings were not written.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("--rol {0:?}: schrijf ROL=ADRES, zoals coordinator=beleid@gemeente.nl")]
    Role(String),
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("kan het antwoord niet lezen: {0}")]
    Answer(std::io::Error),
    #[error("{0:#}")]
    Write(anyhow::Error),
}

/// The file's text for `s`: only the fields given, in the layout `herinneringen --help` shows.
pub fn text(s: &Settings) -> Result<String, SetupError> {
    let mut smtp = Table::new();
    let mut put = |key: &str, value: &Option<String>| {
        if let Some(v) = value {
            smtp.insert(key.into(), Value::String(v.clone()));
        }
    };
    put("server", &s.server);
    put("beveiliging", &s.security);
    put("afzender", &s.sender);
    put("gebruiker", &s.user);
    put("wachtwoord-variabele", &s.password_variable);
    put("wachtwoord-bestand", &s.password_file);
    put("ca-bestand", &s.ca_file);
    if let Some(port) = s.port {
        smtp.insert("poort".into(), Value::Integer(port));
    }
    let mut recipients = Table::new();
    if !s.everyone.is_empty() {
        let all = s.everyone.iter().cloned().map(Value::String).collect();
        recipients.insert("iedereen".into(), Value::Array(all));
    }
    let mut roles = Table::new();
    for pair in &s.per_role {
        let (role, address) = pair
            .split_once('=')
            .map(|(r, a)| (r.trim(), a.trim()))
            .filter(|(r, a)| !r.is_empty() && !a.is_empty())
            .ok_or_else(|| SetupError::Role(pair.clone()))?;
        if let Value::Array(list) = roles
            .entry(role.to_string())
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            list.push(Value::String(address.to_string()));
        }
    }
    if !roles.is_empty() {
        recipients.insert("rol".into(), Value::Table(roles));
    }
    let mut file = Table::new();
    file.insert("smtp".into(), Value::Table(smtp));
    if !recipients.is_empty() {
        file.insert("ontvangers".into(), Value::Table(recipients));
    }
    Ok(format!(
        "# Herinneringen per mail; alleen op deze computer, nooit gedeeld.\n# Geschreven door `kompas herinneringen instellen`; het wachtwoord staat hier niet in.\n\n{file}"
    ))
}

/// Checks `s` as a round would read it and writes it to the data directory `root`, replacing
/// the file at once (written beside it, then renamed). Returns what was written.
pub fn write(root: &Path, s: &Settings) -> Result<Config, SetupError> {
    let path = config::path(root);
    let text = text(s)?;
    let config = config::parse(&path, &text)?;
    crate::render::write_output(&path, text.as_bytes()).map_err(SetupError::Write)?;
    Ok(config)
}

/// Whether questions can be asked: both standard input and standard error are terminals.
pub fn can_ask() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks on standard error for every field that is missing and that a working file needs: the
/// server, the sender and at least one recipient; the rest keeps its default. An empty answer
/// leaves a field out.
pub fn ask_missing(s: &mut Settings, input: &mut dyn BufRead) -> Result<(), SetupError> {
    let mut ask = |question: &str| -> Result<Option<String>, SetupError> {
        eprint!("{question}: ");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        input.read_line(&mut line).map_err(SetupError::Answer)?;
        let answer = line.trim();
        Ok((!answer.is_empty()).then(|| answer.to_string()))
    };
    if s.server.is_none() {
        s.server = ask("Mailserver (zoals smtp.gemeente.nl)")?;
    }
    if s.security.is_none() {
        s.security = ask("Beveiliging: starttls, tls of geen (leeg: starttls)")?;
    }
    if s.sender.is_none() {
        s.sender = ask("Afzender (zoals Kompas <kompas@gemeente.nl>)")?;
    }
    if s.user.is_none() {
        s.user = ask("Gebruikersnaam op de mailserver (leeg: zonder inloggen)")?;
    }
    if s.user.is_some() && s.password_variable.is_none() && s.password_file.is_none() {
        s.password_variable = ask(
            "Naam van de omgevingsvariabele met het wachtwoord (het wachtwoord zelf wordt niet opgeslagen)",
        )?;
        if s.password_variable.is_none() {
            s.password_file = ask("Of: het bestand met het wachtwoord")?;
        }
    }
    if s.everyone.is_empty() && s.per_role.is_empty() {
        let answer = ask("Wie krijgt elke herinnering? (adressen, gescheiden door komma's)")?;
        s.everyone = answer
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .collect();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            server: Some("smtp.gemeente.nl".into()),
            sender: Some("Kompas <kompas@gemeente.nl>".into()),
            user: Some("kompas@gemeente.nl".into()),
            password_variable: Some("KOMPAS_SMTP_WACHTWOORD".into()),
            everyone: vec!["jeugd@gemeente.nl".into()],
            per_role: vec![
                "coordinator=beleid@gemeente.nl".into(),
                "coordinator=wethouder@gemeente.nl".into(),
            ],
            ..Settings::default()
        }
    }

    #[test]
    fn what_is_written_reads_back_as_given() {
        let dir = tempfile::tempdir().unwrap();
        let written = write(dir.path(), &settings()).unwrap();
        let loaded = config::load(dir.path()).unwrap();
        assert_eq!(written, loaded);
        assert_eq!(loaded.smtp.host, "smtp.gemeente.nl");
        assert_eq!(loaded.smtp.port, 587);
        assert_eq!(loaded.recipients.per_role["coordinator"].len(), 2);
        let text = std::fs::read_to_string(config::path(dir.path())).unwrap();
        assert!(text.contains("wachtwoord-variabele = \"KOMPAS_SMTP_WACHTWOORD\""));
        assert!(!text.contains("wachtwoord ="), "{text}");
    }

    #[test]
    fn a_ca_file_is_written_in_full_and_checked_as_a_round_reads_it() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let pem = elsewhere.path().join("smtp-ca.pem");
        std::fs::write(&pem, config::tests::CA_PEM).unwrap();
        let with = |file: &Path| Settings {
            ca_file: Some(file.to_str().unwrap().to_string()),
            ..settings()
        };
        let written = write(dir.path(), &with(&pem)).unwrap();
        assert!(written.smtp.ca.is_some(), "the CA is read with the file");
        assert_eq!(config::load(dir.path()).unwrap(), written);
        let text = std::fs::read_to_string(config::path(dir.path())).unwrap();
        assert!(
            text.contains(&format!("ca-bestand = {:?}", pem.to_str().unwrap())),
            "{text}"
        );

        // A file without a certificate, or none at all, is refused naming the field; the
        // file written before stays.
        let not_pem = elsewhere.path().join("leeg.pem");
        std::fs::write(&not_pem, "geen certificaat\n").unwrap();
        for bad in [not_pem, elsewhere.path().join("bestaat-niet.pem")] {
            let err = write(dir.path(), &with(&bad)).unwrap_err().to_string();
            assert!(err.contains("smtp.ca-bestand"), "{err}");
        }
        assert_eq!(
            std::fs::read_to_string(config::path(dir.path())).unwrap(),
            text
        );
    }

    #[test]
    fn a_bad_field_is_refused_by_the_reading_checks_and_the_old_file_stays() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), &settings()).unwrap();
        let before = std::fs::read_to_string(config::path(dir.path())).unwrap();
        let cases: [(Settings, &str); 4] = [
            (
                Settings {
                    port: Some(70_000),
                    ..settings()
                },
                "smtp.poort",
            ),
            (
                Settings {
                    security: Some("geen".into()),
                    ..settings()
                },
                "smtp.beveiliging",
            ),
            (
                Settings {
                    sender: Some("geen adres".into()),
                    ..settings()
                },
                "smtp.afzender",
            ),
            (
                Settings {
                    user: None,
                    ..settings()
                },
                "smtp.gebruiker",
            ),
        ];
        for (bad, field) in cases {
            let err = write(dir.path(), &bad).unwrap_err().to_string();
            assert!(err.contains(field), "{field}: {err}");
        }
        let err = write(
            dir.path(),
            &Settings {
                per_role: vec!["coordinator".into()],
                ..settings()
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("ROL=ADRES"), "{err}");
        assert_eq!(
            std::fs::read_to_string(config::path(dir.path())).unwrap(),
            before
        );
    }

    #[test]
    fn missing_fields_are_asked_and_empty_answers_keep_defaults() {
        let mut s = Settings::default();
        let answers =
            "smtp.gemeente.nl\n\nkompas@gemeente.nl\n\njeugd@gemeente.nl, zorg@gemeente.nl\n";
        ask_missing(&mut s, &mut answers.as_bytes()).unwrap();
        assert_eq!(s.server.as_deref(), Some("smtp.gemeente.nl"));
        assert_eq!(s.security, None);
        assert_eq!(s.user, None);
        assert_eq!(s.everyone, ["jeugd@gemeente.nl", "zorg@gemeente.nl"]);
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(write(dir.path(), &s).unwrap().recipients.everyone.len(), 2);
    }
}
