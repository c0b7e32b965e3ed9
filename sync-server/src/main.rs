//! The `kompas-relay` binary: parses its few options, opens the store and serves.
//!
//! ```text
//! kompas-relay --listen 127.0.0.1:7421 --data DIR [--mirror URL] [--allow-mirror KEY]...
//!              [--allow-create KEY]... [--max-connections N] [--max-frame BYTES]
//!              [--tls-cert FILE --tls-key FILE]
//! kompas-relay key --data DIR
//! ```

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, anyhow, bail};
use kompas_relay::server;
use kompas_relay::state::{RelayState, random};
use kompas_relay::tls::TlsFiles;
use kompas_relay::{RelayConfig, store::RelayStore};

const USAGE: &str = "gebruik: kompas-relay --listen ADRES:POORT --data MAP [--mirror URL] [--allow-mirror SLEUTEL]...
                    [--allow-create SLEUTEL]... [--max-connections N] [--max-frame BYTES]
                    [--tls-cert BESTAND --tls-key BESTAND]
       kompas-relay key --data MAP
--allow-create SLEUTEL: alleen de organisaties met deze sleutels (kompas whoami) mogen hier
                        nieuwe samenwerkingen aanmaken; zonder deze optie mag iedereen dat";

/// What the command line asks for.
enum Command {
    Serve { listen: String, config: RelayConfig },
    Key { data: PathBuf },
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match parse(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kompas-relay: {e:#}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kompas-relay: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn parse(args: &[String]) -> anyhow::Result<Command> {
    let (key_only, args) = match args.first().map(String::as_str) {
        Some("key") => (true, &args[1..]),
        _ => (false, args),
    };
    let mut listen = None;
    let mut data = None;
    let mut mirror = None;
    let mut allow = Vec::new();
    let mut allow_create = Vec::new();
    let mut max_connections = None;
    let mut max_frame = None;
    let (mut tls_cert, mut tls_key) = (None, None);
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| anyhow!("{flag} verwacht een waarde"))
        };
        match flag.as_str() {
            "--listen" => listen = Some(value()?),
            "--data" => data = Some(PathBuf::from(value()?)),
            "--mirror" => mirror = Some(value()?),
            "--allow-mirror" => allow.push(
                value()?
                    .parse()
                    .context("--allow-mirror verwacht de sleutel van een relay (64 hex-tekens)")?,
            ),
            "--allow-create" => allow_create.push(value()?.parse().context(
                "--allow-create verwacht de sleutel van een organisatie (64 hex-tekens, kompas whoami)",
            )?),
            "--max-connections" => {
                max_connections = Some(
                    value()?
                        .parse()
                        .context("--max-connections verwacht een getal")?,
                )
            }
            "--max-frame" => {
                max_frame = Some(
                    value()?
                        .parse()
                        .context("--max-frame verwacht een aantal bytes")?,
                )
            }
            "--tls-cert" => tls_cert = Some(PathBuf::from(value()?)),
            "--tls-key" => tls_key = Some(PathBuf::from(value()?)),
            other => bail!("onbekende optie {other:?}"),
        }
    }
    let data = data.ok_or_else(|| anyhow!("--data ontbreekt"))?;
    if key_only {
        return Ok(Command::Key { data });
    }
    let listen = listen.ok_or_else(|| anyhow!("--listen ontbreekt"))?;
    let mut config = RelayConfig::new(data);
    config.mirror = mirror;
    config.allow_mirror = allow;
    config.allow_create = allow_create;
    config.tls = TlsFiles::from_options(tls_cert, tls_key)?.map(Arc::new);
    if let Some(n) = max_connections {
        config.max_connections = n;
    }
    if let Some(n) = max_frame {
        config.max_frame = n;
    }
    Ok(Command::Serve { listen, config })
}

fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Key { data } => {
            std::fs::create_dir_all(&data)
                .with_context(|| format!("kan {} niet aanmaken", data.display()))?;
            let store = RelayStore::open(&data, RelayConfig::new(data.clone()).cache_bytes)?;
            let key = store.relay_key(random())?;
            println!("{}", kompas_engine::sync::wire::OrgKey::of(&key));
            Ok(())
        }
        Command::Serve { listen, config } => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("kan de runtime niet starten")?;
            runtime.block_on(serve(listen, config))
        }
    }
}

async fn serve(listen: String, config: RelayConfig) -> anyhow::Result<()> {
    if let Some(tls) = &config.tls {
        tls.check()?;
    }
    std::fs::create_dir_all(&config.data)
        .with_context(|| format!("kan {} niet aanmaken", config.data.display()))?;
    let state =
        RelayState::open(config, random()).context("kan de opslag van de relay niet openen")?;
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("kan niet luisteren op {listen}"))?;
    let addr = listener.local_addr()?;
    // Written without `println!`: a closed standard output must not stop the relay.
    let mut out = std::io::stdout();
    let _ = writeln!(out, "kompas-relay luistert op {addr}");
    let _ = writeln!(out, "relaysleutel {}", state.relay_key());
    let _ = out.flush();
    server::serve(listener, state, stop_signal()).await?;
    let _ = writeln!(std::io::stderr(), "kompas-relay: gestopt");
    Ok(())
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

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn options_are_parsed_and_mistakes_named() {
        let Command::Serve { listen, config } = parse(&args(
            "--listen 127.0.0.1:0 --data d --mirror ws://a:1 --max-frame 1000 --max-connections 5",
        ))
        .unwrap() else {
            panic!("expected serve");
        };
        assert_eq!(listen, "127.0.0.1:0");
        assert_eq!(config.mirror.as_deref(), Some("ws://a:1"));
        assert_eq!((config.max_frame, config.max_connections), (1000, 5));
        assert!(matches!(
            parse(&args("key --data d")).unwrap(),
            Command::Key { .. }
        ));
        let missing = parse(&args("--data d")).err().unwrap().to_string();
        assert!(missing.contains("--listen"), "{missing}");
        let bad = parse(&args("--listen x --data d --allow-mirror zz"))
            .err()
            .unwrap();
        assert!(format!("{bad:#}").contains("--allow-mirror"), "{bad:#}");
        let unknown = parse(&args("--listen x --data d --port 3")).err().unwrap();
        assert!(unknown.to_string().contains("--port"));
    }

    #[test]
    fn allow_create_takes_organisation_keys_and_names_itself_when_one_is_bad() {
        let (a, b) = ("ab".repeat(32), "cd".repeat(32));
        let Command::Serve { config, .. } = parse(&args(&format!(
            "--listen x --data d --allow-create {a} --allow-create {b}"
        )))
        .unwrap() else {
            panic!("expected serve");
        };
        let keys: Vec<String> = config.allow_create.iter().map(|k| k.to_string()).collect();
        assert_eq!(keys, [a.clone(), b]);
        let Command::Serve { config, .. } = parse(&args("--listen x --data d")).unwrap() else {
            panic!("expected serve");
        };
        assert!(config.allow_create.is_empty());
        for bad in [&a[..62], "zz", &format!("{a}00")] {
            let err = parse(&args(&format!("--listen x --data d --allow-create {bad}")))
                .err()
                .unwrap();
            assert!(format!("{err:#}").contains("--allow-create"), "{err:#}");
        }
        let missing = parse(&args("--listen x --data d --allow-create"))
            .err()
            .unwrap();
        assert!(missing.to_string().contains("--allow-create"), "{missing}");
    }
}
