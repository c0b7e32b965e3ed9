//! Crash safety: a writer killed with SIGKILL at random moments never loses a document it reported saved.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use kompas_engine::{DocId, FieldValue};
use kompas_tests::{binary, open_data_dir};
use rand::RngExt;

const ROUNDS: usize = 25;

#[test]
fn every_reported_save_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let writer = binary("crash-writer");
    let mut reported: BTreeMap<String, u64> = BTreeMap::new();
    let mut next = 0u64;
    let mut rng = rand::rng();
    for round in 0..ROUNDS {
        let mut child = Command::new(&writer)
            .arg(&data)
            .arg(next.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Wait until the writer has saved at least one document, then kill it at a random moment.
        let Ok(first) = rx.recv_timeout(Duration::from_secs(60)) else {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "round {round}: the writer saved nothing: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        std::thread::sleep(Duration::from_millis(rng.random_range(0..120)));
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        for line in std::iter::once(first).chain(rx.try_iter()) {
            let mut parts = line.split(' ');
            assert_eq!(parts.next(), Some("saved"), "unexpected output: {line}");
            let id = parts.next().unwrap().to_string();
            let n: u64 = parts.next().unwrap().parse().unwrap();
            next = next.max(n + 1);
            reported.insert(id, n);
        }
        verify(&data, &reported, round);
    }
    assert!(
        reported.len() >= ROUNDS,
        "too few documents were written to prove anything"
    );
}

fn verify(data: &std::path::Path, reported: &BTreeMap<String, u64>, round: usize) {
    let dir = open_data_dir(data);
    let replica = kompas_engine::composition::open(dir.sole_store().unwrap()).unwrap();
    for (id, n) in reported {
        let view = replica.get(&DocId::parse(id).unwrap()).unwrap_or_else(|e| {
            panic!("round {round}: document {id} (stuk {n}) reported saved but lost: {e}")
        });
        let FieldValue::Text(title) = &view.fields["titel"] else {
            panic!("titel is not text")
        };
        assert!(
            title.starts_with(&format!("stuk {n}")),
            "round {round}: {id} has title {title:?}"
        );
        let FieldValue::Text(body) = &view.fields["toelichting"] else {
            panic!("toelichting is not text")
        };
        assert_eq!(
            body,
            &format!("Tekst van stuk {n}. ").repeat(20),
            "round {round}: {id} body damaged"
        );
    }
}
