//! End-to-end tests of reminder mail: the real `kompas herinneringen` against the SMTP test
//! server of `kompas_tests::smtp`, with the clock given by `--nu`, and `kompas serve` sending
//! on its own, with the time between its rounds shortened for the test; with two samenwerkingen
//! in one data directory, each sends its own reminders once.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use std::path::Path;
use std::time::Duration;

use kompas_tests::relay::RelayProcess;
use kompas_tests::serve::Serve;
use kompas_tests::smtp::{Mail, SmtpServer, TlsFront};
use kompas_tests::tls::TestCa;
use kompas_tests::{Kompas, Run};

const FLOW: &str = "naam: overleg\nversie: 1.0.0\ntitel: Overleg\nsoorten:\n  - naam: verslag\n    label: Verslag\n    velden:\n      - {naam: titel, type: tekst, verplicht: true}\nfasen:\n  - naam: voorbereiden\n    titel: Voorbereiden\n    soorten: [verslag]\n    wie: [coordinator]\n    termijn: P14D\n    herinnering: P3D\n    naar: [{fase: klaar}]\n  - naam: klaar\n    titel: Klaar\n    eind: true\n";

const DAY: i64 = 86_400_000;

/// An organisation with one running instance of `overleg`, started now, and its reminder
/// configuration pointing at `port`. Returns the runner and the start moment (ms).
fn organisation(root: &Path, port: u16) -> (Kompas, i64) {
    let k = Kompas::organisation(root, "gemeente", "Gemeente Zwolle", "gemeente");
    std::fs::create_dir_all(k.data().join("workflows")).unwrap();
    std::fs::write(k.data().join("workflows/overleg.yaml"), FLOW).unwrap();
    let started = jiff::Timestamp::now().as_millisecond();
    k.ok(&["flow", "start", "overleg", "--title", "Overleg jeugdhulp"]);
    configure(&k, port);
    (k, started)
}

fn configure(k: &Kompas, port: u16) {
    std::fs::write(
        k.data().join("herinneringen.toml"),
        format!(
            "[smtp]\nserver = \"127.0.0.1\"\npoort = {port}\nbeveiliging = \"geen\"\nafzender = \"Kompas <kompas@zwolle.test>\"\n\n[ontvangers]\niedereen = [\"team@zwolle.test\"]\n[ontvangers.rol]\ncoordinator = [\"beleid@zwolle.test\"]\n"
        ),
    )
    .unwrap();
}

/// `--nu` for `ms`.
fn at(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).unwrap().to_string()
}

fn reminders(k: &Kompas, what: &str, ms: i64) -> Run {
    k.run(&["herinneringen", what, "--nu", &at(ms)])
}

fn body(mail: &Mail) -> String {
    let decoded =
        quoted_printable::decode(mail.raw_body(), quoted_printable::ParseMode::Robust).unwrap();
    String::from_utf8(decoded).unwrap()
}

fn to_of(mails: &[Mail]) -> Vec<String> {
    let mut to: Vec<String> = mails.iter().flat_map(|m| m.to.clone()).collect();
    to.sort();
    to
}

#[test]
fn a_due_reminder_arrives_once_in_a_digest_per_recipient() {
    let server = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let (k, t0) = organisation(dir.path(), server.port());

    // Nothing is due the day after the start.
    let out = reminders(&k, "--verstuur", t0 + DAY);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("Geen nieuwe herinneringen"), "{out:?}");

    // The try-out shows the digest and sends and records nothing.
    let out = reminders(&k, "--proef", t0 + 12 * DAY);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("er is niets verstuurd"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("fase ‘Voorbereiden’ afronden"),
        "{}",
        out.stdout
    );
    assert!(server.accepted().is_empty());
    let json = k.json(&["herinneringen", "--proef", "--nu", &at(t0 + 12 * DAY)]);
    assert_eq!(json["sent"].as_array().map(Vec::len), Some(2), "{json}");

    // Twelve days in, the reminder is due: one digest per recipient.
    let out = reminders(&k, "--verstuur", t0 + 12 * DAY);
    assert_eq!(out.code, 0, "{out:?}");
    let mails = server.accepted();
    assert_eq!(
        to_of(&mails),
        ["beleid@zwolle.test", "team@zwolle.test"],
        "{mails:?}"
    );
    for mail in &mails {
        assert_eq!(mail.to.len(), 1);
        assert_eq!(mail.from, "kompas@zwolle.test");
        assert_eq!(
            mail.header("Subject").as_deref(),
            Some("kompas: 1 herinnering voor Gemeente Zwolle")
        );
        assert!(
            mail.header("Message-ID")
                .is_some_and(|id| id.ends_with("@zwolle.test>"))
        );
        let text = body(mail);
        for expected in [
            "Binnenkort",
            "- Overleg jeugdhulp: fase ‘Voorbereiden’ afronden",
            "Werkstroom: Overleg jeugdhulp, fase ‘Voorbereiden’",
            " uur",
            "kompas flow status ",
        ] {
            assert!(text.contains(expected), "{expected:?} not in:\n{text}");
        }
        assert!(
            kompas_engine::time::MONTHS.iter().any(|m| text.contains(m)),
            "a Dutch date in:\n{text}"
        );
    }

    // Run again, and later on the same day: nothing more.
    for ms in [t0 + 12 * DAY, t0 + 13 * DAY] {
        let out = reminders(&k, "--verstuur", ms);
        assert_eq!(out.code, 0, "{out:?}");
        assert!(out.stdout.contains("Geen nieuwe herinneringen"), "{out:?}");
    }
    assert_eq!(server.accepted().len(), 2);

    // Past the deadline, the "too late" reminder goes out once.
    reminders(&k, "--verstuur", t0 + 15 * DAY);
    reminders(&k, "--verstuur", t0 + 16 * DAY);
    let mails = server.accepted();
    assert_eq!(mails.len(), 4, "{mails:?}");
    for mail in &mails[2..] {
        assert!(body(mail).contains("Te laat"), "{}", body(mail));
        assert!(mail.header("Subject").unwrap().ends_with("(1 te laat)"));
    }
}

#[test]
fn a_sender_killed_while_sending_sends_each_digest_once_when_started_again() {
    let server = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let (k, t0) = organisation(dir.path(), server.port());
    let now = at(t0 + 12 * DAY);

    // The first digest is accepted; the second is in whole, but before the server's reply the
    // sender is killed.
    let held = server.hold(2);
    let mut child = k
        .command(&["herinneringen", "--verstuur", "--nu", &now])
        .spawn()
        .unwrap();
    held.recv_timeout(Duration::from_secs(60))
        .expect("the second digest reaches the server");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let first = server.accepted();
    assert_eq!(first.len(), 1, "{first:?}");
    let dropped = server.dropped(1);
    assert_eq!(dropped.len(), 1);

    // Started again: the unaccepted digest goes out again, the same message; the accepted one
    // is not sent twice.
    let out = k.run(&["herinneringen", "--verstuur", "--nu", &now]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("(opnieuw)"), "{}", out.stdout);
    let mails = server.accepted();
    assert_eq!(to_of(&mails), ["beleid@zwolle.test", "team@zwolle.test"]);
    assert_eq!(
        mails[1].header("Message-ID"),
        dropped[0].header("Message-ID")
    );
    assert_eq!(mails[1].data, dropped[0].data);

    let out = k.run(&["herinneringen", "--verstuur", "--nu", &now]);
    assert!(out.stdout.contains("Geen nieuwe herinneringen"), "{out:?}");
    assert_eq!(server.accepted().len(), 2);
}

#[test]
fn an_unreachable_server_loses_nothing_and_a_bad_file_names_its_field() {
    let dir = tempfile::tempdir().unwrap();
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let (k, t0) = organisation(dir.path(), port);
    let now = at(t0 + 12 * DAY);

    let out = k.run(&["herinneringen", "--verstuur", "--nu", &now]);
    assert_eq!(out.code, 9, "{out:?}");
    assert!(out.stdout.contains("Nog niet verstuurd"), "{}", out.stdout);
    assert!(out.stderr.contains("niet verstuurd"), "{}", out.stderr);

    let server = SmtpServer::start();
    configure(&k, server.port());
    k.ok(&["herinneringen", "--verstuur", "--nu", &now]);
    k.ok(&["herinneringen", "--verstuur", "--nu", &now]);
    assert_eq!(
        to_of(&server.accepted()),
        ["beleid@zwolle.test", "team@zwolle.test"]
    );

    std::fs::write(
        k.data().join("herinneringen.toml"),
        "[smtp]\nserver = \"smtp.zwolle.test\"\nafzender = \"kompas@zwolle.test\"\nwachtwoord = \"geheim\"\n",
    )
    .unwrap();
    let err = k.fails(3, &["herinneringen", "--proef"]);
    assert!(err.contains("smtp.wachtwoord"), "{err}");
    std::fs::remove_file(k.data().join("herinneringen.toml")).unwrap();
    let err = k.fails(4, &["herinneringen", "--proef"]);
    assert!(err.contains("herinneringen.toml bestaat niet"), "{err}");
    let err = k.fails(3, &["herinneringen", "--proef", "--nu", "morgen"]);
    assert!(err.contains("--nu"), "{err}");
    k.fails(2, &["herinneringen"]);
}

/// A definition whose reminder period (20 days) is longer than its term (14 days): a reminder
/// is due as soon as an instance starts, so that `kompas serve`, which goes by the real clock,
/// has something to send.
fn due_at_once() -> String {
    FLOW.replace("herinnering: P3D", "herinnering: P20D")
}

/// Waits until the server has accepted `n` messages, for at most a minute.
fn until_accepted(server: &SmtpServer, n: usize) -> Vec<Mail> {
    let end = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let mails = server.accepted();
        if mails.len() >= n || std::time::Instant::now() > end {
            return mails;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn kompas_serve_sends_a_due_reminder_by_itself_once_per_round() {
    let server = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let k = Kompas::organisation(dir.path(), "gemeente", "Gemeente Zwolle", "gemeente");
    std::fs::create_dir_all(k.data().join("workflows")).unwrap();
    std::fs::write(k.data().join("workflows/overleg.yaml"), due_at_once()).unwrap();
    k.ok(&["flow", "start", "overleg", "--title", "Overleg jeugdhulp"]);
    configure(&k, server.port());

    // The first round runs right after the start: one digest per recipient.
    let serve = Serve::start_with_env(&k, &[("KOMPAS_HERINNERINGEN_INTERVAL", "1")]);
    let mails = until_accepted(&server, 2);
    assert_eq!(
        to_of(&mails),
        ["beleid@zwolle.test", "team@zwolle.test"],
        "{mails:?}"
    );
    assert!(
        body(&mails[0]).contains("Overleg jeugdhulp"),
        "{}",
        body(&mails[0])
    );

    // A new instance while the server runs: a later round sends its reminder, and only that.
    k.ok(&["flow", "start", "overleg", "--title", "Overleg onderwijs"]);
    let mails = until_accepted(&server, 4);
    assert_eq!(mails.len(), 4, "{mails:?}");
    for mail in &mails[2..] {
        let text = body(mail);
        assert!(text.contains("Overleg onderwijs"), "{text}");
        assert!(!text.contains("Overleg jeugdhulp"), "sent once: {text}");
    }
    // Rounds go on every second; nothing is sent twice.
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(server.accepted().len(), 4);
    serve.stop();
}

#[test]
fn instellen_writes_a_file_that_a_round_reads_and_refuses_a_bad_field() {
    let server = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let (k, t0) = organisation(dir.path(), server.port());
    std::fs::remove_file(k.data().join("herinneringen.toml")).unwrap();
    let port = server.port().to_string();
    let base = [
        "herinneringen",
        "instellen",
        "--server",
        "127.0.0.1",
        "--poort",
        &port,
        "--beveiliging",
        "geen",
        "--afzender",
        "Kompas <kompas@zwolle.test>",
        "--iedereen",
        "team@zwolle.test",
        "--rol",
        "coordinator=beleid@zwolle.test",
    ];
    // A bad value is refused naming its field, and nothing is written.
    let mut bad = base.to_vec();
    bad[5] = "70000";
    let out = k.fails(3, &bad);
    assert!(out.contains("smtp.poort"), "{out}");
    assert!(!k.data().join("herinneringen.toml").exists());
    let mut remote = base.to_vec();
    remote[3] = "smtp.zwolle.test";
    let out = k.fails(3, &remote);
    assert!(out.contains("smtp.beveiliging"), "{out}");
    // No flag takes the password itself.
    let out = k.run(&[&base[..], &["--wachtwoord", "geheim123"]].concat());
    assert_eq!(out.code, 2, "{out:?}");
    k.ok(&base);
    let text = std::fs::read_to_string(k.data().join("herinneringen.toml")).unwrap();
    assert!(text.contains("beleid@zwolle.test"), "{text}");
    assert!(
        !text.lines().any(|l| l.starts_with("wachtwoord")),
        "no password field: {text}"
    );

    // A round reads what was written and sends to both recipients.
    let out = reminders(&k, "--verstuur", t0 + 12 * DAY);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        to_of(&server.accepted()),
        ["beleid@zwolle.test", "team@zwolle.test"]
    );
}

#[test]
fn each_samenwerking_sends_its_own_reminders_once_and_names_itself() {
    const REGIO: &str = "Jeugdregio IJssel";
    const SCHOOL: &str = "Schoolpartnerschap Zwolle";
    let server = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(&dir.path().join("relay"), &[]);
    let k = Kompas::organisation(dir.path(), "gemeente", "Gemeente Zwolle", "gemeente");
    std::fs::create_dir_all(k.data().join("workflows")).unwrap();
    std::fs::write(k.data().join("workflows/overleg.yaml"), FLOW).unwrap();
    let t0 = jiff::Timestamp::now().as_millisecond();
    for name in [REGIO, SCHOOL] {
        k.ok(&["workspace", "create", name, "--relay", &relay.url()]);
        k.ok(&[
            "--samenwerking",
            name,
            "flow",
            "start",
            "overleg",
            "--title",
            "Overleg jeugdhulp",
        ]);
    }
    configure(&k, server.port());

    // One round covers both, a digest per samenwerking and recipient, each naming its own.
    let out = reminders(&k, "--verstuur", t0 + 12 * DAY);
    assert_eq!(out.code, 0, "{out:?}");
    let mails = server.accepted();
    assert_eq!(mails.len(), 4, "{mails:?}");
    for name in [REGIO, SCHOOL] {
        let subject = format!("kompas: 1 herinnering voor Gemeente Zwolle in {name}");
        let own: Vec<&Mail> = mails
            .iter()
            .filter(|m| m.header("Subject").as_deref() == Some(subject.as_str()))
            .collect();
        assert_eq!(own.len(), 2, "{subject}: {mails:?}");
        for mail in own {
            let text = body(mail);
            assert!(
                text.contains(&format!("in de samenwerking {name}"))
                    && text.contains(&format!("kompas --samenwerking \"{name}\" flow status ")),
                "{text}"
            );
        }
    }
    let out = reminders(&k, "--verstuur", t0 + 13 * DAY);
    assert!(out.stdout.contains("Geen nieuwe herinneringen"), "{out:?}");
    assert_eq!(server.accepted().len(), 4);

    // Past the deadline: a round for one samenwerking sends its reminders only; the other's
    // wait for their own round, and nothing goes twice.
    let out = k.run(&[
        "--samenwerking",
        REGIO,
        "herinneringen",
        "--verstuur",
        "--nu",
        &at(t0 + 15 * DAY),
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let late = server.accepted();
    assert_eq!(late.len(), 6, "{late:?}");
    assert!(late[4..].iter().all(|m| {
        m.header("Subject").unwrap()
            == format!("kompas: 1 herinnering voor Gemeente Zwolle in {REGIO} (1 te laat)")
    }));
    reminders(&k, "--verstuur", t0 + 15 * DAY);
    reminders(&k, "--verstuur", t0 + 16 * DAY);
    let all = server.accepted();
    assert_eq!(all.len(), 8, "{all:?}");
    assert!(all[6..].iter().all(|m| {
        m.header("Subject").unwrap()
            == format!("kompas: 1 herinnering voor Gemeente Zwolle in {SCHOOL} (1 te laat)")
    }));
}

#[test]
fn mail_goes_over_tls_to_a_server_whose_certificate_comes_from_a_private_ca() {
    let server = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new(&dir.path().join("ca"), "Proef-CA Gemeente Zwolle");
    let front = TlsFront::start(&server, &ca.issue("smtp", "127.0.0.1", 2020, 2090));
    let (k, t0) = organisation(dir.path(), server.port());
    let write = |ca_line: &str| {
        std::fs::write(
            k.data().join("herinneringen.toml"),
            format!(
                "[smtp]\nserver = \"127.0.0.1\"\npoort = {}\nbeveiliging = \"tls\"\nafzender = \"Kompas <kompas@zwolle.test>\"\n{ca_line}\n[ontvangers]\niedereen = [\"team@zwolle.test\"]\n",
                front.port()
            ),
        )
        .unwrap();
    };

    // The system's trust store does not know the CA: nothing goes out, and the digest waits.
    write("");
    let out = reminders(&k, "--verstuur", t0 + 12 * DAY);
    assert_eq!(out.code, 9, "{out:?}");
    assert!(out.stdout.contains("niet aan"), "{out:?}");
    assert!(server.accepted().is_empty());

    // With the organisation's CA beside the file, the waiting digest goes over TLS, once.
    std::fs::copy(&ca.file, k.data().join("smtp-ca.pem")).unwrap();
    write("ca-bestand = \"smtp-ca.pem\"");
    let out = reminders(&k, "--verstuur", t0 + 12 * DAY);
    assert_eq!(out.code, 0, "{out:?}");
    let mails = server.accepted();
    assert_eq!(to_of(&mails), ["team@zwolle.test"], "{mails:?}");
    let out = reminders(&k, "--verstuur", t0 + 13 * DAY);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(server.accepted().len(), 1);
}
