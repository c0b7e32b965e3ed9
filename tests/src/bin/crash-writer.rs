//! A child process for the crash test: writes documents in a loop and reports each one once it is saved.
//!
//! Usage: `crash-writer DATA_DIR FIRST_NUMBER`. Each line `saved ID NUMBER` on standard output means
//! the replica returned from a durable write of the document with title `stuk NUMBER`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use kompas_engine::document::Assignment;
use kompas_engine::identity::Identity;
use kompas_engine::store::DataDir;
use kompas_engine::{OrgType, Timestamp};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crash-writer: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().ok_or("missing data dir")?);
    let first: u64 = args.next().ok_or("missing first number")?.parse()?;
    let seed = first.to_be_bytes();
    let replica = if dir.join("kompas.json").exists() {
        let data = DataDir::open(&dir)?;
        (kompas_engine::composition::open(data.sole_store()?)?, data)
    } else {
        let data = DataDir::create(&dir)?;
        let mut secret = [7u8; 32];
        secret[..8].copy_from_slice(&seed);
        (
            kompas_engine::composition::init_in(
                &data,
                Identity::new("Crashtest", OrgType::Anders, secret, [3; 16]),
            )?
            .1,
            data,
        )
    };
    let (replica, _lock) = replica;
    let mut out = std::io::stdout().lock();
    for n in first.. {
        let fields = [
            Assignment {
                field: "titel".into(),
                value: format!("stuk {n}"),
            },
            Assignment {
                field: "toelichting".into(),
                value: format!("Tekst van stuk {n}. ").repeat(20),
            },
        ];
        let mut random = [0u8; 8];
        let salt = [n.to_be_bytes(), u64::from(std::process::id()).to_be_bytes()].concat();
        random.copy_from_slice(&blake3::hash(&salt).as_bytes()[..8]);
        let id = replica.create(
            "ambitie",
            &fields,
            Timestamp(1_760_000_000_000 + n as i64),
            random,
        )?;
        if n % 3 == 0 {
            let more = [Assignment {
                field: "titel".into(),
                value: format!("stuk {n} (herzien)"),
            }];
            replica.update(&id, &more, Timestamp(1_760_000_000_001 + n as i64))?;
        }
        writeln!(out, "saved {id} {n}")?;
        out.flush()?;
    }
    Ok(())
}
