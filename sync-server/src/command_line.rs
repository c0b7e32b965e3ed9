//! The `kompas-relay` program: parses its options (clap), sets up logging (tracing), opens the
//! store and serves; or runs one of the operator's commands on a stopped relay's data, or on
//! the database of running nodes.
//!
//! ```text
//! kompas-relay --listen 127.0.0.1:7421 (--data DIR | --store URL) [--tls-cert FILE --tls-key FILE] [OPTIONS]
//! kompas-relay key (--data DIR | --store URL)
//! kompas-relay workspaces (--data DIR | --store URL) [--json]
//! kompas-relay freeze WORKSPACE (--data DIR | --store URL) [--undo]
//! kompas-relay delete WORKSPACE (--data DIR | --store URL)
//! kompas-relay ban KEY (--data DIR | --store URL) [--undo]
//! kompas-relay move --from DIR|postgres://... --to DIR|postgres://...
//! ```
//!
//! The binary only calls [`main`], so that the end-to-end tests can build the same program as a
//! binary of their own package.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use crate::backend::Backend;
use crate::config::{Limits, Quotas};
use crate::postgres::PgStore;
use crate::state::{RelayState, random};
use crate::store::{RelayStore, StoreError};
use crate::tls::TlsFiles;
use crate::{RelayConfig, operator, server};
use anyhow::Context as _;
use clap::{Args, Parser, Subcommand, ValueEnum};
use kompas_engine::sync::wire::{OrgKey, WorkspaceId};

/// Exit code when the data directory is in use by another process (as for `kompas`).
const IN_USE: u8 = 5;

#[derive(Debug, Parser)]
#[command(
    name = "kompas-relay",
    // Usage lines name the program itself, however it was started (the tests start a copy).
    bin_name = "kompas-relay",
    version,
    about = "De relay van kompas: geeft verzegelde wijzigingen door tussen de organisaties van een samenwerking, zonder ze te kunnen lezen.",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    // An option given twice takes the last value, as before clap (scripts and tests rely on it).
    args_override_self = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
    #[command(flatten)]
    log: LogArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Toont (en maakt bij het eerste gebruik) de sleutel van de relay in MAP, zonder te starten.
    Key(DataArg),
    /// Toont de samenwerkingen op deze relay met hun omvang, leden en grenzen.
    Workspaces {
        #[command(flatten)]
        data: DataArg,
        /// Uitvoer als JSON.
        #[arg(long)]
        json: bool,
        /// Het quotum per samenwerking waartegen de omvang wordt afgezet (zoals de relay draait).
        #[arg(long, value_name = "BYTES", default_value_t = Quotas::default().workspace_bytes)]
        quota_workspace_bytes: u64,
    },
    /// Bevriest een samenwerking: lezen kan nog, schrijven niet (met --undo: weer ontdooien).
    Freeze {
        /// De id van de samenwerking (32 hex-tekens, zoals `workspaces` die toont).
        workspace: WorkspaceId,
        #[command(flatten)]
        data: DataArg,
        /// Hef de bevriezing op.
        #[arg(long)]
        undo: bool,
    },
    /// Verwijdert een samenwerking met alles wat de relay ervan bewaart.
    Delete {
        /// De id van de samenwerking.
        workspace: WorkspaceId,
        #[command(flatten)]
        data: DataArg,
    },
    /// Verplaatst alles van een gestopte relay naar een andere opslag (een map of
    /// postgres://...), met dezelfde sleutel en volgnummers, zodat replica's niets merken.
    Move {
        /// Waar de gegevens nu staan: de map van de relay of postgres://...
        #[arg(long, value_name = "MAP|URL")]
        from: String,
        /// Waar ze heen gaan: een (lege) map of postgres://...
        #[arg(long, value_name = "MAP|URL")]
        to: String,
    },
    /// Weert een sleutel: de relay weigert elke verbinding ermee (met --undo: weer toelaten).
    Ban {
        /// De publieke sleutel van de organisatie (64 hex-tekens, kompas whoami).
        key: OrgKey,
        #[command(flatten)]
        data: DataArg,
        /// Laat de sleutel weer toe.
        #[arg(long)]
        undo: bool,
    },
}

#[derive(Debug, Args)]
struct DataArg {
    /// De map met de gegevens van de relay (de relay moet gestopt zijn).
    #[arg(
        long,
        value_name = "MAP",
        required_unless_present = "store",
        conflicts_with = "store"
    )]
    data: Option<PathBuf>,
    /// Of de PostgreSQL-database van de relay (postgres://...); de knooppunten blijven
    /// draaien en nemen de wijziging binnen een seconde over.
    #[arg(long, value_name = "URL", env = "KOMPAS_RELAY_STORE")]
    store: Option<String>,
}

impl DataArg {
    /// Opens the store the operator named.
    fn open(&self) -> anyhow::Result<Backend> {
        match (&self.data, &self.store) {
            (Some(dir), _) => Ok(Backend::Sled(open_store(dir)?)),
            (None, Some(url)) => open_backend(database_url(url)?, false),
            (None, None) => anyhow::bail!("--data of --store is nodig"),
        }
    }
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// `url` if it names a PostgreSQL database (the only store `--store` takes), or why not.
fn database_url(url: &str) -> anyhow::Result<&str> {
    if !is_postgres(url) {
        anyhow::bail!(
            "--store {}: alleen postgres://... wordt ondersteund",
            redacted(url)
        );
    }
    Ok(url)
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Adres en poort om op te luisteren; poort 0 laat het systeem kiezen.
    #[arg(long, value_name = "ADRES:POORT", required = true)]
    listen: Option<String>,
    /// De map voor de opslag van de relay (wordt aangemaakt als die ontbreekt).
    #[arg(
        long,
        value_name = "MAP",
        required_unless_present = "store",
        conflicts_with = "store"
    )]
    data: Option<PathBuf>,
    /// Bewaar de logboeken in PostgreSQL in plaats van in een map
    /// (postgres://gebruiker@host:poort/database). Meerdere relays op dezelfde database
    /// bedienen samen dezelfde samenwerkingen; de relay legt zijn tabellen zelf aan.
    #[arg(long, value_name = "URL", env = "KOMPAS_RELAY_STORE")]
    store: Option<String>,
    /// Spiegel een andere relay (ws://... of wss://...).
    #[arg(long, value_name = "URL")]
    mirror: Option<String>,
    /// De relaysleutel van de relay die je spiegelt (kompas-relay key op die relay). Zonder deze
    /// optie wordt de sleutel van het eerste contact vastgelegd; een andere sleutel daarna wordt
    /// geweigerd.
    #[arg(long, value_name = "SLEUTEL", requires = "mirror")]
    mirror_key: Option<OrgKey>,
    /// PEM-bestand met een eigen certificaatautoriteit voor het TLS-certificaat van de relay die
    /// je spiegelt, naast de vertrouwde certificaten van het systeem.
    #[arg(long, value_name = "BESTAND", requires = "mirror")]
    mirror_ca: Option<PathBuf>,
    /// Laat de relay met deze sleutel deze relay spiegelen (herhaalbaar).
    #[arg(long, value_name = "SLEUTEL")]
    allow_mirror: Vec<OrgKey>,
    /// Alleen de organisaties met deze sleutels (kompas whoami) mogen hier nieuwe samenwerkingen
    /// aanmaken; zonder deze optie mag iedereen dat (herhaalbaar).
    #[arg(long, value_name = "SLEUTEL")]
    allow_create: Vec<OrgKey>,
    /// Het grootste aantal verbindingen, in elke fase.
    #[arg(long, value_name = "N", default_value_t = RelayConfig::new(PathBuf::new()).max_connections)]
    max_connections: usize,
    /// Het grootste bericht in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = RelayConfig::new(PathBuf::new()).max_frame)]
    max_frame: usize,
    /// PEM-bestand met de certificaatketen: de relay spreekt dan zelf TLS (wss://). Een nieuw
    /// certificaat in dit bestand wordt zonder herstart geladen.
    #[arg(long, value_name = "BESTAND", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM-bestand met de privésleutel bij --tls-cert.
    #[arg(long, value_name = "BESTAND", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    #[command(flatten)]
    limits: LimitArgs,
    #[command(flatten)]
    quotas: QuotaArgs,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Grenzen per verbinding")]
struct LimitArgs {
    /// Seconden voor de HTTP-kopregels van een verzoek.
    #[arg(long, value_name = "S", default_value_t = Limits::default().header_timeout.as_secs())]
    header_timeout: u64,
    /// Seconden waarbinnen een begonnen bericht volledig moet aankomen.
    #[arg(long, value_name = "S", default_value_t = Limits::default().frame_timeout.as_secs())]
    frame_timeout: u64,
    /// Seconden stilte waarna de relay een verbinding sluit (na een ping).
    #[arg(long, value_name = "S", default_value_t = Limits::default().idle_timeout.as_secs())]
    idle_timeout: u64,
    /// Seconden dat een sleutel die geen lid is verbonden mag blijven.
    #[arg(long, value_name = "S", default_value_t = Limits::default().candidate_timeout.as_secs())]
    candidate_timeout: u64,
    /// Verbindingen die (nog) niet van een lid zijn; daarboven sluit de oudste.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_unvetted)]
    max_unvetted: usize,
    /// Verbindingen per IP-adres (0: geen grens; zet op 0 achter een proxy).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_per_ip)]
    max_per_ip: usize,
    /// Verbindingen per sleutel.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_per_key)]
    max_per_key: usize,
    /// Bytes van onvolledige berichten per verbinding die geen lid is.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().unvetted_buffer)]
    unvetted_buffer: usize,
    /// Bytes van onvolledige berichten over alle verbindingen samen.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().buffered_total)]
    buffered_total: usize,
    /// Seconden voor het wegschrijven naar schijf; langer telt als opslagfout.
    #[arg(long, value_name = "S", default_value_t = Limits::default().flush_timeout.as_secs())]
    flush_timeout: u64,
    /// Bytes die vrij blijven op de schijf van de datamap; daaronder weigert de relay te
    /// schrijven tot er weer ruimte is (0: niet controleren).
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().min_free_bytes)]
    min_free_bytes: u64,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Quota (0: geen grens)")]
struct QuotaArgs {
    /// Samenwerkingen die één sleutel hier mag aanmaken.
    #[arg(long, value_name = "N", default_value_t = Quotas::default().workspaces_per_key)]
    quota_workspaces_per_key: u64,
    /// Samenwerkingen die de relay per minuut aanmaakt, van alle sleutels samen.
    #[arg(long, value_name = "N", default_value_t = Quotas::default().creates_per_minute)]
    quota_creates_per_minute: u64,
    /// Bytes die één samenwerking mag opslaan.
    #[arg(long, value_name = "BYTES", default_value_t = Quotas::default().workspace_bytes)]
    quota_workspace_bytes: u64,
    /// Bundels die één sleutel per minuut mag sturen.
    #[arg(long, value_name = "N", default_value_t = Quotas::default().key_bundles_per_minute)]
    quota_key_bundles_per_minute: u64,
    /// Bytes die één sleutel per minuut mag sturen.
    #[arg(long, value_name = "BYTES", default_value_t = Quotas::default().key_bytes_per_minute)]
    quota_key_bytes_per_minute: u64,
    /// Bundels die één samenwerking per minuut mag ontvangen.
    #[arg(long, value_name = "N", default_value_t = Quotas::default().workspace_bundles_per_minute)]
    quota_workspace_bundles_per_minute: u64,
    /// Bytes die één samenwerking per minuut mag ontvangen.
    #[arg(long, value_name = "BYTES", default_value_t = Quotas::default().workspace_bytes_per_minute)]
    quota_workspace_bytes_per_minute: u64,
    /// Wijzigingen van een ledenlijst die één sleutel per minuut mag doen.
    #[arg(long, value_name = "N", default_value_t = Quotas::default().key_ops_per_minute)]
    quota_key_ops_per_minute: u64,
    /// Wijzigingen die de ledenlijst van één samenwerking mag bevatten.
    #[arg(long, value_name = "N", default_value_t = Quotas::default().workspace_ops)]
    quota_workspace_ops: u64,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Logboek")]
struct LogArgs {
    /// Vorm van de logregels op standaardfout.
    #[arg(long, value_enum, default_value_t = LogFormat::Plain, global = true)]
    log_format: LogFormat,
    /// Welke regels: error, warn, info, debug of trace (of een tracing-filter).
    #[arg(long, value_name = "NIVEAU", default_value = "info", global = true)]
    log_level: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    /// Leesbare regels.
    Plain,
    /// Eén JSON-object per regel.
    Json,
}

/// Runs the relay (or an operator's command) as this process's arguments say; returns its exit
/// code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = init_logging(&cli.log) {
        eprintln!("kompas-relay: {e:#}");
        return ExitCode::from(2);
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kompas-relay: {e:#}");
            if e.downcast_ref::<InUse>().is_some() {
                ExitCode::from(IN_USE)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

fn init_logging(log: &LogArgs) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(&log.log_level)
        .with_context(|| format!("--log-level {:?} is geen geldig niveau", log.log_level))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match log.log_format {
        LogFormat::Plain => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
    Ok(())
}

/// The data directory is held by another process.
#[derive(Debug, thiserror::Error)]
#[error(
    "de map {0} is in gebruik door een andere relay of beheeropdracht; stop die eerst (of kies een andere --data)"
)]
struct InUse(String);

/// Opens the store in `data`, with a clear message when another process holds it.
fn open_store(data: &Path) -> anyhow::Result<RelayStore> {
    std::fs::create_dir_all(data)
        .with_context(|| format!("kan {} niet aanmaken", data.display()))?;
    RelayStore::open(data, RelayConfig::new(data.to_path_buf()).cache_bytes)
        .map_err(|e| store_error(e, data))
}

/// Opens a store for `move`: a `postgres://` URL (without quotas: everything the source holds
/// must fit), or a sled directory (created only for the target).
fn open_backend(place: &str, create: bool) -> anyhow::Result<Backend> {
    if is_postgres(place) {
        let unlimited = Quotas {
            workspaces_per_key: 0,
            creates_per_minute: 0,
            workspace_bytes: 0,
            key_bundles_per_minute: 0,
            key_bytes_per_minute: 0,
            workspace_bundles_per_minute: 0,
            workspace_bytes_per_minute: 0,
            key_ops_per_minute: 0,
            workspace_ops: 0,
        };
        let store = PgStore::open(place, &unlimited)
            .with_context(|| format!("kan de opslag in {} niet openen", redacted(place)))?;
        return Ok(Backend::Postgres(store));
    }
    let dir = Path::new(place);
    if !create && !dir.is_dir() {
        anyhow::bail!("{place} is geen map met de gegevens van een relay");
    }
    Ok(Backend::Sled(open_store(dir)?))
}

fn store_error(e: StoreError, data: &Path) -> anyhow::Error {
    // sled reports a held lock only in the text of an I/O error.
    if let StoreError::Sled(sled::Error::Io(io)) = &e
        && io.to_string().contains("could not acquire lock")
    {
        return InUse(data.display().to_string()).into();
    }
    anyhow::Error::new(e).context(format!("kan de opslag in {} niet openen", data.display()))
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let Some(command) = cli.command else {
        let (listen, config) = serve_config(cli.serve)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("kan de runtime niet starten")?;
        return runtime.block_on(serve(listen, config));
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("kan de runtime niet starten")?;
    runtime.block_on(operate(command))
}

/// The operator's commands; every action is logged.
async fn operate(command: Command) -> anyhow::Result<()> {
    let mut out = std::io::stdout();
    match command {
        Command::Move { from, to } => {
            let source = open_backend(&from, false)?;
            let target = open_backend(&to, true)?;
            let moved = crate::moving::copy(&source, &target, &mut out)
                .await
                .with_context(|| {
                    format!(
                        "verplaatsen van {} naar {} gestopt",
                        redacted(&from),
                        redacted(&to)
                    )
                })?;
            writeln!(
                out,
                "{} samenwerking(en) verplaatst: {} lidmaatschapsoperaties, {} wijzigingen",
                moved.workspaces, moved.operations, moved.bundles
            )?;
            tracing::info!(
                workspaces = moved.workspaces,
                bundles = moved.bundles,
                "relay verplaatst"
            );
        }
        Command::Key(data) => {
            let key = data.open()?.relay_key(random())?;
            writeln!(out, "{}", OrgKey::of(&key))?;
        }
        Command::Workspaces {
            data,
            json,
            quota_workspace_bytes,
        } => {
            let rows = operator::workspaces(&data.open()?)?;
            print_workspaces(&rows, json, quota_workspace_bytes, &mut out)?;
        }
        Command::Freeze {
            workspace,
            data,
            undo,
        } => {
            if !operator::freeze(&data.open()?, workspace, !undo).await? {
                anyhow::bail!("samenwerking {workspace} staat niet op deze relay");
            }
            let done = if undo { "ontdooid" } else { "bevroren" };
            tracing::info!(%workspace, action = if undo { "thaw" } else { "freeze" }, "beheer");
            writeln!(out, "samenwerking {workspace} {done}")?;
        }
        Command::Delete { workspace, data } => {
            if !operator::delete(&data.open()?, workspace).await? {
                anyhow::bail!("samenwerking {workspace} staat niet op deze relay");
            }
            tracing::info!(%workspace, action = "delete", "beheer");
            writeln!(out, "samenwerking {workspace} verwijderd")?;
        }
        Command::Ban { key, data, undo } => {
            operator::ban(&data.open()?, key, !undo).await?;
            let done = if undo { "weer toegelaten" } else { "geweerd" };
            tracing::info!(%key, action = if undo { "unban" } else { "ban" }, "beheer");
            writeln!(out, "sleutel {key} {done}")?;
        }
    }
    Ok(())
}

fn print_workspaces(
    rows: &[operator::WorkspaceRow],
    json: bool,
    quota: u64,
    out: &mut impl std::io::Write,
) -> anyhow::Result<()> {
    if json {
        for row in rows {
            let line = serde_json::json!({
                "workspace": row.id.to_string(),
                "creator": row.creator.map(|k| k.to_string()),
                "members": row.members,
                "operations": row.operations,
                "bundles": row.bundles,
                "bytes": row.bytes,
                "quota_bytes": quota,
                "frozen": row.frozen,
            });
            writeln!(out, "{line}")?;
        }
        return Ok(());
    }
    writeln!(
        out,
        "{:<32}  {:>6}  {:>8}  {:>14}  {:>7}  status",
        "samenwerking", "leden", "wijzigingen", "bytes", "quotum%"
    )?;
    for row in rows {
        let percent = if quota == 0 {
            0.0
        } else {
            row.bytes as f64 * 100.0 / quota as f64
        };
        writeln!(
            out,
            "{:<32}  {:>6}  {:>8}  {:>14}  {:>6.1}%  {}",
            row.id.to_string(),
            row.members,
            row.bundles,
            row.bytes,
            percent,
            if row.frozen { "bevroren" } else { "actief" }
        )?;
    }
    writeln!(out, "{} samenwerking(en)", rows.len())?;
    Ok(())
}

fn serve_config(args: ServeArgs) -> anyhow::Result<(String, RelayConfig)> {
    let Some(listen) = args.listen else {
        anyhow::bail!("--listen is nodig om de relay te starten");
    };
    if let Some(url) = &args.store {
        database_url(url)?;
    }
    let data = match (args.data, &args.store) {
        (Some(data), _) => data,
        (None, Some(_)) => PathBuf::new(),
        (None, None) => anyhow::bail!("--data of --store is nodig om de relay te starten"),
    };
    let secs = Duration::from_secs;
    let l = args.limits;
    let q = args.quotas;
    let mut config = RelayConfig::new(data);
    config.postgres = args.store;
    config.mirror = args.mirror;
    config.mirror_key = args.mirror_key;
    config.mirror_ca = args.mirror_ca;
    config.allow_mirror = args.allow_mirror;
    config.allow_create = args.allow_create;
    config.max_connections = args.max_connections;
    config.max_frame = args.max_frame;
    config.tls = TlsFiles::from_options(args.tls_cert, args.tls_key)?.map(Arc::new);
    config.limits = Limits {
        header_timeout: secs(l.header_timeout),
        frame_timeout: secs(l.frame_timeout),
        idle_timeout: secs(l.idle_timeout),
        candidate_timeout: secs(l.candidate_timeout),
        max_unvetted: l.max_unvetted,
        max_per_ip: l.max_per_ip,
        max_per_key: l.max_per_key,
        unvetted_buffer: l.unvetted_buffer,
        buffered_total: l.buffered_total,
        flush_timeout: secs(l.flush_timeout),
        min_free_bytes: l.min_free_bytes,
    };
    config.quotas = Quotas {
        workspaces_per_key: q.quota_workspaces_per_key,
        creates_per_minute: q.quota_creates_per_minute,
        workspace_bytes: q.quota_workspace_bytes,
        key_bundles_per_minute: q.quota_key_bundles_per_minute,
        key_bytes_per_minute: q.quota_key_bytes_per_minute,
        workspace_bundles_per_minute: q.quota_workspace_bundles_per_minute,
        workspace_bytes_per_minute: q.quota_workspace_bytes_per_minute,
        key_ops_per_minute: q.quota_key_ops_per_minute,
        workspace_ops: q.quota_workspace_ops,
    };
    Ok((listen, config))
}

async fn serve(listen: String, config: RelayConfig) -> anyhow::Result<()> {
    if let Some(tls) = &config.tls {
        tls.check()?;
    }
    let data = config.data.clone();
    let state = match &config.postgres {
        Some(url) => {
            let shown = redacted(url);
            RelayState::open(config, random())
                .with_context(|| format!("kan de opslag in {shown} niet openen"))?
        }
        None => {
            std::fs::create_dir_all(&data)
                .with_context(|| format!("kan {} niet aanmaken", data.display()))?;
            RelayState::open(config, random()).map_err(|e| store_error(e, &data))?
        }
    };
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("kan niet luisteren op {listen}"))?;
    let addr = listener.local_addr()?;
    // Written without `println!`: a closed standard output must not stop the relay.
    let mut out = std::io::stdout();
    let _ = writeln!(out, "kompas-relay luistert op {addr}");
    let _ = writeln!(out, "relaysleutel {}", state.relay_key());
    let _ = out.flush();
    tracing::info!(%addr, key = %state.relay_key(), "relay gestart");
    let outcome = server::serve(listener, state, stop_signal()).await;
    let code = match &outcome {
        Ok(()) => {
            tracing::info!("relay gestopt");
            0
        }
        Err(e) => {
            tracing::error!(error = %e, "relay gestopt zonder alles weg te schrijven");
            1
        }
    };
    // Everything acknowledged was flushed before its acknowledgement, and the last flush was
    // tried above: exit now rather than wait for the store's own cleanup, which a failing disk
    // could keep from ever returning.
    std::process::exit(code)
}

/// A database URL without its password, for messages.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let user = &url[scheme + 3..at];
            let user = user.split(':').next().unwrap_or_default();
            format!("{}{user}@{}", &url[..scheme + 3], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

/// Completes on SIGINT or SIGTERM.
async fn stop_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("kompas-relay").chain(s.split_whitespace()))
    }

    fn config(s: &str) -> RelayConfig {
        let cli = parse(s).unwrap();
        assert!(cli.command.is_none());
        serve_config(cli.serve).unwrap().1
    }

    #[test]
    fn the_tls_options_go_together() {
        let config = config("--listen x --data d --tls-cert c.pem --tls-key k.pem");
        let files = config.tls.expect("tls files");
        assert_eq!(
            (files.cert.as_path(), files.key.as_path()),
            (Path::new("c.pem"), Path::new("k.pem"))
        );
        assert!(self::config("--listen x --data d").tls.is_none());
        for half in ["--tls-cert c.pem", "--tls-key k.pem"] {
            let err = parse(&format!("--listen x --data d {half}")).unwrap_err();
            assert!(err.to_string().contains("--tls-"), "{err}");
        }
    }

    #[test]
    fn options_are_parsed_and_mistakes_named() {
        let config = config(
            "--listen 127.0.0.1:0 --data d --mirror ws://a:1 --max-frame 1000 --max-connections 5 --frame-timeout 3 --quota-workspace-bytes 77",
        );
        assert_eq!(config.mirror.as_deref(), Some("ws://a:1"));
        assert_eq!((config.mirror_key, config.mirror_ca), (None, None));
        let key = "ab".repeat(32);
        let pinned = self::config(&format!(
            "--listen x --data d --mirror wss://a:1 --mirror-key {key} --mirror-ca ca.pem"
        ));
        assert_eq!(pinned.mirror_key.map(|k| k.to_string()), Some(key));
        assert_eq!(pinned.mirror_ca, Some(PathBuf::from("ca.pem")));
        let alone = parse("--listen x --data d --mirror-ca ca.pem").unwrap_err();
        assert!(alone.to_string().contains("--mirror"), "{alone}");
        assert_eq!((config.max_frame, config.max_connections), (1000, 5));
        assert_eq!(config.limits.frame_timeout, Duration::from_secs(3));
        assert_eq!(config.quotas.workspace_bytes, 77);
        assert_eq!(config.quotas.workspace_ops, Quotas::default().workspace_ops);
        assert!(matches!(
            parse("key --data d").unwrap().command,
            Some(Command::Key(_))
        ));
        let missing = parse("--data d").unwrap_err().to_string();
        assert!(missing.contains("--listen"), "{missing}");
        let bad = parse("--listen x --data d --allow-mirror zz")
            .unwrap_err()
            .to_string();
        assert!(bad.contains("--allow-mirror"), "{bad}");
        let unknown = parse("--listen x --data d --port 3")
            .unwrap_err()
            .to_string();
        assert!(unknown.contains("--port"), "{unknown}");
        let ban = parse(&format!("ban {} --data d --undo", "ab".repeat(32))).unwrap();
        assert!(matches!(ban.command, Some(Command::Ban { undo: true, .. })));
        let freeze = parse("freeze nothex --data d").unwrap_err().to_string();
        assert!(freeze.contains("WORKSPACE"), "{freeze}");
    }

    #[test]
    fn operator_commands_take_a_directory_or_a_database_but_not_both() {
        let ws = "ab".repeat(16);
        let on_db = parse(&format!("freeze {ws} --store postgres://relay@db/kompas")).unwrap();
        let Some(Command::Freeze { data, .. }) = on_db.command else {
            panic!("a freeze");
        };
        assert_eq!(data.store.as_deref(), Some("postgres://relay@db/kompas"));
        assert!(data.data.is_none());
        let both = parse(&format!("delete {ws} --data d --store postgres://db/k"))
            .unwrap_err()
            .to_string();
        assert!(
            both.contains("--store") && both.contains("--data"),
            "{both}"
        );
        let neither = parse("workspaces").unwrap_err().to_string();
        assert!(neither.contains("--data"), "{neither}");
        let not_a_database = DataArg {
            data: None,
            store: Some("mysql://relay:geheim@db/k".into()),
        };
        let Err(refused) = not_a_database.open() else {
            panic!("a mysql URL was taken");
        };
        let refused = refused.to_string();
        assert!(refused.contains("postgres://"), "{refused}");
        assert!(
            !refused.contains("geheim"),
            "the password stays out: {refused}"
        );
    }

    #[test]
    fn allow_create_takes_organisation_keys_and_names_itself_when_one_is_bad() {
        let (a, b) = ("ab".repeat(32), "cd".repeat(32));
        let config = config(&format!(
            "--listen x --data d --allow-create {a} --allow-create {b}"
        ));
        let keys: Vec<String> = config.allow_create.iter().map(|k| k.to_string()).collect();
        assert_eq!(keys, [a.clone(), b]);
        assert!(self::config("--listen x --data d").allow_create.is_empty());
        for bad in [&a[..62], "zz", &format!("{a}00")] {
            let err = parse(&format!("--listen x --data d --allow-create {bad}"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("--allow-create"), "{err}");
        }
        let missing = parse("--listen x --data d --allow-create")
            .unwrap_err()
            .to_string();
        assert!(missing.contains("--allow-create"), "{missing}");
    }
}
