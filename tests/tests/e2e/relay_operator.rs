//! The real `kompas-relay` as an operator runs it: `--help` and `--version`, a JSON log line per
//! connection, `/metrics` read by a Prometheus parser, the commands that list, freeze, delete
//! and ban, and a clear message when the data directory is in use.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

use std::process::Command;
use std::time::Duration;

use kompas_engine::sync::wire::{ErrorCode, WorkspaceId};
use kompas_tests::binary;
use kompas_tests::relay::{Launch, Org, RelayProcess, TestWorkspace, within};

const WS: WorkspaceId = WorkspaceId([9; 16]);

fn relay_command(args: &[&str]) -> std::process::Output {
    Command::new(binary("kompas-relay"))
        .env_clear()
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn help_and_version_answer_in_dutch_and_name_the_limits() {
    let help = relay_command(&["--help"]);
    assert!(help.status.success());
    let text = String::from_utf8(help.stdout).unwrap();
    for needle in [
        "samenwerking",
        "--max-per-ip",
        "--frame-timeout",
        "--quota-workspace-bytes",
        "--log-format",
        "workspaces",
        "freeze",
        "ban",
    ] {
        assert!(text.contains(needle), "{needle} missing from\n{text}");
    }
    let version = relay_command(&["--version"]);
    assert!(version.status.success());
    assert_eq!(
        String::from_utf8(version.stdout).unwrap().trim(),
        concat!("kompas-relay ", env!("CARGO_PKG_VERSION"))
    );
    let wrong = relay_command(&["--listen", "x"]);
    assert_eq!(wrong.status.code(), Some(2));
}

#[test]
fn logs_metrics_and_the_operators_commands() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("relay");
    let log = dir.path().join("relay.log");
    let launch = Launch {
        stderr: Some(log.clone()),
        ..Launch::default()
    };
    let relay = RelayProcess::launch(&data, &["--log-format", "json"], &launch);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let gemeente = Org::new(1, "Gemeente Zwolle");
    let aanbieder = Org::new(2, "Jeugdhulp Oost");
    let url = relay.url();
    rt.block_on(async {
        let mut ws = TestWorkspace::create(&url, WS, &gemeente).await;
        let _partner = ws.add_partner(&url, &gemeente, &aanbieder, 1).await;
        let bundle = gemeente.seal(WS, 0, 1, b"eerste", [1; 24]);
        ws.coordinator.push(bundle).await.unwrap();
        ws.coordinator.pull_all(0).await.unwrap();
    });
    // `/metrics` parses, with the latency histograms filled.
    let metrics = relay.get("/metrics").1;
    let scrape =
        prometheus_parse::Scrape::parse(metrics.lines().map(|l| Ok(l.to_string()))).unwrap();
    for name in ["kompas_relay_ack_seconds", "kompas_relay_pull_seconds"] {
        let sample = scrape.samples.iter().find(|s| s.metric == name).unwrap();
        let prometheus_parse::Value::Histogram(buckets) = &sample.value else {
            panic!("{name} is not a histogram: {sample:?}");
        };
        assert!(buckets.iter().any(|b| b.count > 0.0), "{name}: {buckets:?}");
    }
    // While it runs, the data directory is in use: a clear Dutch message, once, exit code 5.
    let busy = relay_command(&["workspaces", "--data", data.to_str().unwrap()]);
    assert_eq!(busy.status.code(), Some(5));
    let err = String::from_utf8(busy.stderr).unwrap();
    assert_eq!(err.matches("in gebruik").count(), 1, "{err}");
    assert!(!err.contains("Os {"), "{err}");
    assert_eq!(relay.terminate(), Some(0));
    // A JSON line per connection, naming the peer and the key.
    let lines = std::fs::read_to_string(&log).unwrap();
    let closed: Vec<serde_json::Value> = lines
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &serde_json::Value| v["message"] == "verbinding gesloten")
        .collect();
    assert!(closed.len() >= 2, "{lines}");
    assert_eq!(closed[0]["peer"], "127.0.0.1");
    assert!(
        closed
            .iter()
            .any(|v| v["key"] == gemeente.public().to_string())
    );
    // The operator lists the workspace with its size ...
    let data_arg = data.to_str().unwrap();
    let listed = relay_command(&["workspaces", "--data", data_arg, "--json"]);
    assert!(listed.status.success());
    let row: serde_json::Value =
        serde_json::from_str(String::from_utf8(listed.stdout).unwrap().trim()).unwrap();
    assert_eq!(row["workspace"], WS.to_string());
    assert_eq!(
        (row["members"].as_u64(), row["bundles"].as_u64()),
        (Some(2), Some(1))
    );
    assert!(row["bytes"].as_u64().unwrap() > 0);
    // ... freezes it and bans the partner's key; the relay then refuses, typed.
    let ws_arg = WS.to_string();
    let key_arg = aanbieder.public().to_string();
    assert!(
        relay_command(&["freeze", &ws_arg, "--data", data_arg])
            .status
            .success()
    );
    assert!(
        relay_command(&["ban", &key_arg, "--data", data_arg])
            .status
            .success()
    );
    let relay = RelayProcess::start(&data, &[]);
    let url = relay.url();
    rt.block_on(within("refusals after freeze and ban", async {
        let (mut client, _) = gemeente.connect(&url, WS).await;
        assert_eq!(
            client.pull_all(0).await.unwrap().len(),
            1,
            "reading goes on"
        );
        let late = gemeente.seal(WS, 0, 2, b"later", [2; 24]);
        let refused = client.push(late).await.unwrap_err();
        assert_eq!(refused.code(), Some(ErrorCode::Frozen));
        let mut banned = kompas_relay::client::RelayClient::open(&url).await.unwrap();
        let refused = banned.authenticate(WS, &aanbieder.key).await.unwrap_err();
        assert_eq!(refused.code(), Some(ErrorCode::Banned));
    }));
    assert_eq!(relay.terminate(), Some(0));
    // Deleting removes it.
    assert!(
        relay_command(&["delete", &ws_arg, "--data", data_arg])
            .status
            .success()
    );
    let listed = relay_command(&["workspaces", "--data", data_arg, "--json"]);
    assert!(String::from_utf8(listed.stdout).unwrap().trim().is_empty());
    let unknown = relay_command(&["freeze", &ws_arg, "--data", data_arg]);
    assert_eq!(unknown.status.code(), Some(1));
    std::thread::sleep(Duration::from_millis(10));
}
