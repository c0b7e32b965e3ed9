//! The command line as a tool: Dutch help for every command, Dutch usage errors, JSON errors,
//! shell completions, a closed pipe, long values from files and standard input, one duration
//! syntax, an interrupted sync, and sync output that names organisations.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kompas_tests::relay::RelayProcess;
use kompas_tests::{Kompas, binary};

/// clap's English texts; none may appear in any help page.
const ENGLISH: &[&str] = &[
    "Usage",
    "Options",
    "Arguments",
    "Commands",
    "Print help",
    "Print version",
    "possible values",
    "[default",
    "[env",
    "[alias",
    "[OPTIONS]",
    "<COMMAND>",
    "subcommand",
];

/// The subcommands a help page lists under "Opdrachten:".
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Opdrachten:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        // A description that wraps continues on a line indented further than the names.
        .filter(|l| l.starts_with("  ") && !l.starts_with("    "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

#[test]
fn the_help_of_every_command_is_dutch_found_by_walking_the_tree() {
    let dir = tempfile::tempdir().unwrap();
    let k = Kompas::new(dir.path().join("niets"));
    let mut todo = vec![Vec::<String>::new()];
    let mut seen = 0;
    while let Some(path) = todo.pop() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let help = k.ok(&args);
        seen += 1;
        for word in ENGLISH {
            assert!(
                !help.contains(word),
                "`kompas {}` contains {word:?}:\n{help}",
                args.join(" ")
            );
        }
        assert!(help.contains("Gebruik: kompas"), "{help}");
        for sub in subcommands(&help) {
            let mut next = path.clone();
            next.push(sub);
            todo.push(next);
        }
    }
    assert!(seen > 40, "only {seen} help pages found");
}

#[test]
fn usage_errors_are_dutch_and_json_with_json() {
    let dir = tempfile::tempdir().unwrap();
    let k = Kompas::new(dir.path().join("niets"));
    let err = k.fails(2, &["doc", "show"]);
    assert!(err.contains("dit ontbreekt nog: <ID>"), "{err}");
    assert!(err.contains("Gebruik: kompas doc show"), "{err}");
    let err = k.fails(2, &["--json", "workspace", "invite", "--role", "baas"]);
    let value: serde_json::Value = serde_json::from_str(err.trim()).unwrap();
    assert_eq!(value["error"]["code"], 2);
    assert_eq!(value["error"]["kind"], "usage");
    assert!(
        value["error"]["message"]
            .as_str()
            .unwrap()
            .contains("mogelijke waarden: partner, coordinator"),
        "{value}"
    );
    // An error of the command itself, not of its grammar.
    let err = k.fails(5, &["--json", "doc", "list"]);
    let value: serde_json::Value = serde_json::from_str(err.trim()).unwrap();
    assert_eq!(value["error"]["code"], 5);
    assert_eq!(value["error"]["kind"], "data-directory");
}

#[test]
fn completions_are_generated_for_each_shell_and_bash_loads_them() {
    let dir = tempfile::tempdir().unwrap();
    let k = Kompas::new(dir.path().join("niets"));
    for (shell, marker) in [
        ("bash", "complete -F _kompas"),
        ("zsh", "#compdef kompas"),
        ("fish", "complete -c kompas"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let script = k.ok(&["completions", shell]);
        assert!(script.contains(marker), "{shell}:\n{script}");
        assert!(script.contains("workspace"), "{shell} lacks a subcommand");
    }
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source <('{}' completions bash) && complete -p kompas",
            binary("kompas").display()
        ))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(text.contains("_kompas kompas"), "{text}");
}

#[test]
fn a_closed_pipe_ends_the_command_quietly_and_successfully() {
    let dir = tempfile::tempdir().unwrap();
    let k = Kompas::organisation(dir.path(), "havenstad", "Gemeente Havenstad", "gemeente");
    // More than a pipe holds (64 KiB), so the writer meets the closed end.
    let title = "lang ".repeat(200);
    for i in 0..100 {
        k.ok(&[
            "doc",
            "new",
            "ambitie",
            "--set",
            &format!("titel={i} {title}"),
        ]);
    }
    let kompas = binary("kompas");
    for json in ["", "--json"] {
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "'{}' --data '{}' {json} doc list 2>err.txt | head -1 >/dev/null; echo \"${{PIPESTATUS[0]}}\"; cat err.txt",
                kompas.display(),
                k.data().display()
            ))
            .current_dir(dir.path())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(text, "0\n", "kompas {json} doc list | head -1:\n{text}");
    }
}

#[test]
fn long_values_come_from_a_file_or_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let k = Kompas::organisation(dir.path(), "havenstad", "Gemeente Havenstad", "gemeente");
    let words = ["jeugd ", "school ", "wijk ", "sport ", "zorg ", "samen "];
    let mut text = String::new();
    for i in 0.. {
        if text.len() >= 2 * 1024 * 1024 {
            break;
        }
        text.push_str(words[i % words.len()]);
    }
    let text = text.trim_end().to_string();
    let file = dir.path().join("toelichting.txt");
    std::fs::write(&file, format!("{text}\n")).unwrap();
    let set = format!("toelichting=@{}", file.display());
    let id = k.ok(&[
        "doc",
        "new",
        "ambitie",
        "--set",
        "titel=Groot",
        "--set",
        &set,
    ]);
    let shown = k.json(&["doc", "show", id.trim()]);
    assert_eq!(
        shown["fields"]["toelichting"].as_str().unwrap().len(),
        text.len()
    );

    let mut child = k
        .command(&["doc", "set", id.trim(), "titel=@-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all("Uit standaardinvoer\n".as_bytes())
        .unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
    let shown = k.json(&["doc", "show", id.trim()]);
    assert_eq!(shown["fields"]["titel"], "Uit standaardinvoer");

    let err = k.fails(4, &["doc", "set", id.trim(), "titel=@bestaat-niet.txt"]);
    assert!(
        err.contains("kan bestand bestaat-niet.txt niet lezen: bestaat niet"),
        "{err}"
    );
    let err = k.fails(4, &["doc", "import", "bestaat-niet.automerge"]);
    assert!(err.contains("bestaat niet"), "{err}");
    assert!(!err.contains("No such file"), "{err}");
}

#[test]
fn one_duration_syntax_with_a_limit_and_a_dutch_date() {
    let dir = tempfile::tempdir().unwrap();
    let (_relay, k) = havenstad(dir.path());
    for expires in ["P7D", "7d", "7 dagen"] {
        let run = k.run(&["workspace", "invite", "--expires", expires]);
        assert_eq!(run.code, 0, "{expires}: {}", run.stderr);
        assert!(run.stderr.contains("geldig tot "), "{}", run.stderr);
        assert!(!run.stderr.contains('@'), "{}", run.stderr);
        let months = kompas_engine::time::MONTHS;
        assert!(
            months
                .iter()
                .any(|m| run.stderr.contains(&format!(" {m} 20"))),
            "{}",
            run.stderr
        );
    }
    let err = k.fails(3, &["workspace", "invite", "--expires", "99999999d"]);
    assert!(err.contains("langer dan de grens van 10 jaar"), "{err}");
    let err = k.fails(3, &["workspace", "invite", "--expires", "een week"]);
    assert!(err.contains("geen geldige duur"), "{err}");
}

#[test]
fn ctrl_c_during_a_sync_reports_interrupted_and_what_is_unsent() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, k) = havenstad(dir.path());
    k.ok(&["doc", "new", "ambitie", "--set", "titel=Nog niet verstuurd"]);
    // A stopped relay accepts connections (the kernel does) but never answers: the sync waits.
    signal(relay.pid(), "STOP");
    let mut child = k
        .command(&["-v", "sync"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let started = Instant::now();
    let mut line = String::new();
    while !line.contains("synchronisatie gestart") {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "sync ended early");
        assert!(started.elapsed() < Duration::from_secs(60));
    }
    std::thread::sleep(Duration::from_millis(300));
    signal(child.id(), "INT");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    signal(relay.pid(), "CONT");
    assert_eq!(out.status.code(), Some(8), "{stdout}{rest}");
    assert!(stdout.contains("Synchronisatie onderbroken"), "{stdout}");
    assert!(
        rest.contains("synchronisatie onderbroken; 1 lokale wijziging(en) nog niet verstuurd"),
        "{rest}"
    );
    // Nothing was lost: the next sync sends it.
    let done = k.ok(&["sync"]);
    assert!(done.contains("Synchronisatie klaar"), "{done}");
    assert!(done.contains("1 verstuurd"), "{done}");
}

#[test]
fn sync_output_names_organisations_and_counts_only_what_others_changed() {
    let dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(&dir.path().join("relay"), &[]);
    let gemeente = Kompas::organisation(dir.path(), "havenstad", "Gemeente Havenstad", "gemeente");
    gemeente.ok(&[
        "workspace",
        "create",
        "Jeugd Havenstad",
        "--relay",
        &relay.url(),
    ]);
    let code = gemeente.invite();
    let swv = Kompas::organisation(
        dir.path(),
        "swv",
        "Samenwerkingsverband Havenstad",
        "samenwerkingsverband",
    );
    swv.ok(&["workspace", "join", &code]);
    gemeente.ok(&["doc", "new", "ambitie", "--set", "titel=Samen sporten"]);
    gemeente.ok(&["sync"]);
    swv.ok(&[
        "doc",
        "new",
        "ambitie",
        "--set",
        "titel=Minder thuiszitters",
    ]);

    let run = swv.run(&["sync"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("van Gemeente Havenstad"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout
            .contains("1 wijziging(en) ontvangen, 1 verstuurd"),
        "{}",
        run.stdout
    );

    // The partnership's own change comes back from the relay; it is not received.
    let run = gemeente.run(&["sync"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("van Samenwerkingsverband Havenstad"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("van Gemeente Havenstad"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains("1 wijziging(en) ontvangen"),
        "{}",
        run.stdout
    );
    for text in [&run.stdout, &run.stderr] {
        for jargon in ["bundel", "tijdvak", "lidmaatschapsoperatie", "werkruimte"] {
            assert!(!text.contains(jargon), "{jargon}: {text}");
        }
    }
}

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn quiet_silences_progress_and_verbose_adds_details() {
    let dir = tempfile::tempdir().unwrap();
    let (_relay, k) = havenstad(dir.path());
    k.ok(&["doc", "new", "ambitie", "--set", "titel=Eerste ambitie"]);
    // Without an option the sync shows its progress on standard error.
    let plain = k.run(&["sync"]);
    assert_eq!(plain.code, 0, "{plain:?}");
    assert!(plain.stderr.contains("verbonden met"), "{plain:?}");
    assert!(!plain.stderr.contains("kompas-map:"), "{plain:?}");
    // `-q`: the result only, nothing on standard error.
    k.ok(&["doc", "new", "ambitie", "--set", "titel=Tweede ambitie"]);
    let quiet = k.run(&["-q", "sync"]);
    assert_eq!(quiet.code, 0, "{quiet:?}");
    assert!(quiet.stderr.is_empty(), "{quiet:?}");
    assert!(quiet.stdout.contains("1 verstuurd"), "{quiet:?}");
    // `-v`: the details too, such as the data directory opened.
    let verbose = k.run(&["-v", "sync"]);
    assert_eq!(verbose.code, 0, "{verbose:?}");
    assert!(verbose.stderr.contains("kompas-map:"), "{verbose:?}");
    assert!(verbose.stderr.contains("verbonden met"), "{verbose:?}");
}

/// Gemeente Havenstad in its own workspace "Jeugd Havenstad" on a fresh relay under `dir`.
fn havenstad(dir: &std::path::Path) -> (RelayProcess, Kompas) {
    let relay = RelayProcess::start(&dir.join("relay"), &[]);
    let k = Kompas::organisation(dir, "havenstad", "Gemeente Havenstad", "gemeente");
    k.ok(&[
        "workspace",
        "create",
        "Jeugd Havenstad",
        "--relay",
        &relay.url(),
    ]);
    (relay, k)
}
