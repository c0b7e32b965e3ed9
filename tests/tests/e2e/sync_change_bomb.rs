//! A change-count bomb sent by sync: a hostile member seals a snapshot that is small in bytes
//! but holds far more changes than a document may have, and pushes it through the real relay.
//! The receiving organisation's `kompas sync` refuses it with a report naming the document,
//! stores nothing of it, stays small while checking it, and goes on with the bundles that
//! follow.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

use std::process::Command;

use kompas_engine::DocId;
use kompas_engine::document::DOCUMENT_BUDGET;
use kompas_engine::seal::{Payload, PayloadForm, seal};
use kompas_engine::sync::replication::{Machine, Mode};
use kompas_relay::client::RelayClient;
use kompas_tests::bomb::{change_bomb, peak_mib};
use kompas_tests::relay::{RelayProcess, runtime};
use kompas_tests::{Kompas, binary, open_data_dir};

#[test]
fn a_change_count_bomb_sent_by_sync_is_refused_and_reported_while_other_bundles_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(&dir.path().join("relay"), &[]);
    let gemeente = Kompas::organisation(dir.path(), "gemeente", "Gemeente Havenstad", "gemeente");
    let aanbieder =
        Kompas::organisation(dir.path(), "aanbieder", "Jeugdhulp De Vaart", "aanbieder");
    gemeente.ok(&["workspace", "create", "Samen", "--relay", &relay.url()]);
    let code = gemeente.invite();
    aanbieder.ok(&["workspace", "join", &code]);
    gemeente.ok(&["sync"]);

    // The provider turns hostile: with its own key and the workspace key it seals a bomb.
    let bomb_id = DocId::parse("0123456789abcdef").unwrap();
    let bomb = change_bomb(&bomb_id, DOCUMENT_BUDGET.changes + 50_000);
    assert!(
        bomb.len() < 1 << 20,
        "the bomb is small: {} bytes",
        bomb.len()
    );
    let (workspace, signing, bundle) = {
        let data = open_data_dir(aanbieder.data());
        let replica = kompas_engine::composition::open(data.sole_store().unwrap()).unwrap();
        let machine = Machine::load(&replica, Mode::Once).unwrap().unwrap();
        let signing = replica.identity().signing_key().unwrap();
        let payload = Payload {
            doc: bomb_id.clone(),
            form: PayloadForm::Snapshot,
            data: bomb,
            // The provider's own numbering: this is the first bundle it seals.
            seq: 1,
        };
        let bundle = seal(
            &signing,
            machine.workspace(),
            &machine.state().ring,
            &payload,
            [7; 24],
        )
        .unwrap();
        (machine.workspace(), signing, bundle)
    };
    runtime().block_on(async {
        let (mut client, _) = RelayClient::connect(&relay.url(), workspace, &signing)
            .await
            .unwrap();
        client.push(bundle).await.unwrap();
    });
    // Then an ordinary document, sealed after the bomb.
    aanbieder.ok(&["doc", "new", "ambitie", "--set", "titel=Gewoon werk"]);
    aanbieder.ok(&["sync"]);

    // The receiving sync runs under max-rss, which reports its peak memory.
    let run = Command::new(env!("CARGO_BIN_EXE_max-rss"))
        .arg(binary("kompas"))
        .arg("--data")
        .arg(gemeente.data())
        .arg("sync")
        .env_clear()
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr),
    );
    assert_eq!(run.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stderr.contains("GEWEIGERD") && stderr.contains("te groot"),
        "the bomb is reported: {stderr}"
    );
    assert!(
        stdout.contains("Geweigerd:") && stdout.contains(bomb_id.as_str()),
        "the summary names the document: {stdout}"
    );
    // Loading the bomb takes Automerge hundreds of MiB; measuring it costs next to nothing, so
    // the whole sync stays near what a debug build needs to start and talk to a relay.
    let peak = peak_mib(&stderr);
    eprintln!("peak memory of the sync that refused the bomb: {peak} MiB");
    assert!(peak < 150, "kompas held {peak} MiB while refusing the bomb");
    let docs = gemeente.json(&["doc", "list"]);
    let titles: Vec<&str> = docs
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["fields"]["titel"].as_str())
        .collect();
    assert_eq!(titles, ["Gewoon werk"], "{docs}");
    assert!(
        !docs.to_string().contains(bomb_id.as_str()),
        "nothing of the bomb is stored: {docs}"
    );
}
