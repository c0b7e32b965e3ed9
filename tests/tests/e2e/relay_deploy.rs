//! The relay's deployment files: the systemd unit starts the relay with options it accepts, and
//! the container file builds where a docker daemon is available (skipped, with a message, where
//! it is not).
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

use std::process::Command;

use kompas_tests::{binary, workspace_root};

#[test]
fn the_systemd_unit_uses_options_the_relay_accepts() {
    let unit =
        std::fs::read_to_string(workspace_root().join("sync-server/deploy/kompas-relay.service"))
            .unwrap();
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap();
    let mut words = exec.split_whitespace();
    assert_eq!(words.next(), Some("/usr/local/bin/kompas-relay"));
    let help = Command::new(binary("kompas-relay"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    for option in words.filter(|w| w.starts_with("--")) {
        assert!(
            help.contains(option),
            "{option} is not an option of the relay"
        );
    }
    assert!(
        unit.contains("LimitNOFILE="),
        "the unit raises the file limit"
    );
}

#[test]
fn the_container_file_builds_where_docker_runs() {
    let daemon = Command::new("docker").arg("version").output();
    if !daemon.is_ok_and(|o| o.status.success()) {
        eprintln!("SKIPPED: no docker daemon here; the container file was not built");
        return;
    }
    let root = workspace_root();
    let built = Command::new("docker")
        .current_dir(&root)
        .args([
            "build",
            "-f",
            "sync-server/deploy/Containerfile",
            "-t",
            "kompas-relay-test",
            ".",
        ])
        .status()
        .unwrap();
    assert!(built.success(), "docker build failed");
    let version = Command::new("docker")
        .args(["run", "--rm", "--entrypoint", "/usr/local/bin/kompas-relay"])
        .args(["kompas-relay-test", "--version"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("kompas-relay "));
}
