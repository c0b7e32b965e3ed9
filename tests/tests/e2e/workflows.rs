//! End-to-end tests of `kompas workflow` and `kompas flow`, running the real binary in temp dirs.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use kompas_tests::{Kompas, Run};

fn kompas(data: &Path, args: &[&str]) -> Run {
    Kompas::new(data).run(args)
}

fn ok(data: &Path, args: &[&str]) -> String {
    Kompas::new(data).ok(args)
}

fn json(data: &Path, args: &[&str]) -> serde_json::Value {
    Kompas::new(data).json(args)
}

#[test]
fn check_reports_every_problem_with_its_place_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kapot.yaml");
    std::fs::write(
        &file,
        "naam: kapot\nversie: 1.0\ntitel: Kapot\nfasen:\n  - naam: a\n    titel: A\n    termijn: twee weken\n    naar: [{fase: b}]\n",
    )
    .unwrap();
    let out = kompas(dir.path(), &["workflow", "check", file.to_str().unwrap()]);
    assert_eq!(out.code, 3);
    let text = out.stdout;
    let f = file.display();
    for expected in [
        format!("{f}:2:9: \"1.0\" is geen geldige versie"),
        format!("{f}:7:14: termijn: \"twee weken\" is geen geldige duur"),
        format!("{f}:8:19: overgang verwijst naar onbekende fase \"b\""),
    ] {
        assert!(text.contains(&expected), "{expected} not in:\n{text}");
    }
    assert!(text.contains("3 fout(en)"), "{text}");
    let builtin = kompas(dir.path(), &["workflow", "check"]);
    assert_eq!(builtin.code, 0, "{}", builtin.stdout);
}

/// Three organisations walk the start of the Kwaliteitskompas; documents and the instance travel
/// between their data directories as `.automerge` files, as partners do until sync exists.
#[test]
fn partners_approve_and_advance_with_refusals_and_stale_approvals() {
    let p = Partnership::new();
    let (g, s, j) = (&p.orgs[0], &p.orgs[1], &p.orgs[2]);

    let id = json(
        g,
        &[
            "flow",
            "start",
            "kwaliteitskompas",
            "--title",
            "Cyclus 2027",
        ],
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Instances do not clutter the document list.
    assert!(ok(g, &["doc", "list"]).contains("Geen documenten"));

    // Refused: the samenwerking document is missing.
    let refused = Kompas::new(g).fails(6, &["flow", "advance", &id]);
    assert!(
        refused.contains("er is nog geen document ‘Samenwerking’"),
        "{refused}"
    );
    let samen = ok(
        g,
        &[
            "doc",
            "new",
            "samenwerking",
            "--set",
            "naam=Samen voor Havenstad",
            "--werkstroom",
            &id,
        ],
    );
    ok(g, &["flow", "advance", &id]);
    ok(
        g,
        &[
            "doc",
            "new",
            "staat-van-de-jeugd",
            "--set",
            "titel=Staat 2027",
            "--set",
            "signalen=Meer kinderen met zorgen thuis",
            "--werkstroom",
            &id,
        ],
    );
    ok(g, &["flow", "advance", &id]);
    let ambitie = ok(
        g,
        &[
            "doc",
            "new",
            "ambitie",
            "--set",
            "titel=Meer kinderen sporten",
            "--set",
            "onderbouwing=Minder kinderen zijn lid van een club",
            "--werkstroom",
            &id,
        ],
    );
    let ambitie = ambitie.trim();
    assert_eq!(
        json(g, &["flow", "status", &id])["state"]["phase"],
        "ambities"
    );
    let _ = samen;

    p.send(0, &[1, 2], &id);
    p.send(0, &[1, 2], ambitie);
    ok(s, &["flow", "approve", &id]);
    ok(j, &["flow", "approve", &id]);
    ok(g, &["flow", "approve", &id]);
    p.send(1, &[0], &id);
    p.send(2, &[0], &id);

    // The provider edits the ambition after approving: every approval becomes stale.
    ok(j, &["doc", "set", ambitie, "toelichting=Ook in de wijk."]);
    p.send(2, &[0], ambitie);
    let status = ok(g, &["flow", "status", &id]);
    assert!(status.contains("VEROUDERD"), "{status}");
    let why = Kompas::new(g).fails(6, &["flow", "advance", &id]);
    assert!(
        why.contains(
            "instemming ontbreekt van Gemeente Havenstad, Jeugdhulp De Vaart, SWV Havenstad"
        ),
        "{why}"
    );

    // Everyone approves the new version; now the step is allowed.
    p.send(0, &[1, 2], ambitie);
    for org in [1, 2] {
        p.send(0, &[org], &id);
        ok(&p.orgs[org], &["flow", "approve", &id]);
        p.send(org, &[0], &id);
    }
    ok(g, &["flow", "approve", &id]);
    let st = json(g, &["flow", "advance", &id]);
    assert_eq!(st["state"]["phase"], "maatschappelijk-resultaat");
    assert_eq!(st["state"]["participants"].as_array().unwrap().len(), 3);

    // A reason that carries a BSN never reaches the shared instance.
    p.send(0, &[1], &id);
    let before = json(s, &["flow", "status", &id]);
    let refused = kompas(
        s,
        &["flow", "reject", &id, "--reason", "Zie dossier 111222333"],
    );
    assert_eq!(refused.code, 3, "{}{}", refused.stdout, refused.stderr);
    assert!(refused.stderr.contains("reden"), "{}", refused.stderr);
    assert!(
        !refused.stderr.contains("111222333"),
        "the refusal must not repeat the number"
    );
    assert_eq!(json(s, &["flow", "status", &id])["state"], before["state"]);

    // A rejection is shown with its reason.
    ok(
        s,
        &["flow", "reject", &id, "--reason", "Nulmeting ontbreekt nog"],
    );
    p.send(1, &[0], &id);
    let status = ok(g, &["flow", "status", &id]);
    assert!(status.contains("SWV Havenstad wees af op"), "{status}");
    assert!(status.contains("Nulmeting ontbreekt nog"), "{status}");
    assert!(ok(g, &["flow", "list"]).contains("Cyclus 2027"));
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

const PROEF: &str = "naam: proef\nversie: VERSIE\ntitel: Proef\nfasen:\n  - naam: a\n    titel: A\n    naar: [{fase: b}]\n  - naam: b\n    titel: B\n    eind: true\n";

/// Reads the watcher's output lines on a thread, so the test can wait for one with a timeout.
struct Watcher {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Watcher {
    fn start(data: &Path, dir: &Path) -> Watcher {
        let mut child = Kompas::new(data)
            .command(&["workflow", "watch", dir.to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Watcher { child, lines }
    }

    /// Every line up to and including the first that contains `needle`.
    fn until(&self, needle: &str) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            match self.lines.recv_timeout(Duration::from_secs(20)) {
                Ok(line) => {
                    let done = line.contains(needle);
                    out.push(line);
                    if done {
                        return out;
                    }
                }
                Err(e) => panic!("no line with {needle:?} after {out:?}: {e}"),
            }
        }
    }

    /// Waits until a line contains `needle`; fails after a generous timeout.
    fn expect(&self, needle: &str) -> String {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(20)) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => continue,
                Err(e) => panic!("no line with {needle:?}: {e}"),
            }
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn hot_reload_keeps_the_last_valid_version_and_new_instances_use_the_new_one() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    ok(&data, &["init", "--org", "Gemeente Havenstad"]);
    let dir = data.join("workflows");
    std::fs::create_dir(&dir).unwrap();
    let file = dir.join("proef.yaml");
    std::fs::write(&file, PROEF.replace("VERSIE", "1.0.0")).unwrap();
    let first = json(&data, &["flow", "start", "proef"])["id"]
        .as_str()
        .unwrap()
        .to_string();

    let watcher = Watcher::start(&data, &dir);
    watcher.expect("kompas volgt");

    std::fs::write(
        &file,
        PROEF
            .replace("VERSIE", "1.1.0")
            .replace("fase: b", "fase: c"),
    )
    .unwrap();
    let line = watcher.expect("overgang verwijst naar onbekende fase \"c\"");
    assert!(line.contains("proef.yaml:7:"), "{line}");
    watcher.expect("de laatst geldige versie blijft van kracht: proef 1.0.0");
    // While the file is broken, new instances still get the last valid version.
    let during = json(&data, &["flow", "start", "proef"]);
    assert_eq!(during["definition"]["version"], "1.0.0");

    std::fs::write(&file, PROEF.replace("VERSIE", "1.1.0")).unwrap();
    watcher.expect("geldig: proef 1.1.0");
    let after = json(&data, &["flow", "start", "proef"]);
    assert_eq!(after["definition"]["version"], "1.1.0");
    let old = json(&data, &["flow", "status", &first]);
    assert_eq!(old["definition"]["version"], "1.0.0");

    // Moving the old instance is explicit.
    let moved = json(&data, &["flow", "migrate", &first, "--to", "1.1.0"]);
    assert_eq!(moved["definition"]["version"], "1.1.0");
    assert_eq!(moved["state"]["phase"], "a");

    // A valid save that no command has read yet, then a broken one: the version the watcher
    // says is in force is the one `flow start` uses.
    std::fs::write(&file, PROEF.replace("VERSIE", "1.2.0")).unwrap();
    watcher.expect("geldig: proef 1.2.0");
    std::fs::write(
        &file,
        PROEF
            .replace("VERSIE", "1.3.0")
            .replace("fase: b", "fase: x"),
    )
    .unwrap();
    watcher.expect("de laatst geldige versie blijft van kracht: proef 1.2.0");
    let started = json(&data, &["flow", "start", "proef"]);
    assert_eq!(started["definition"]["version"], "1.2.0");
    // One report per save: reading the broken file (as `flow start` just did) says nothing
    // more; the next line about the file is the next save's.
    std::fs::write(&file, PROEF.replace("VERSIE", "1.3.0")).unwrap();
    let lines = watcher.until("geldig: proef 1.3.0");
    assert!(
        !lines.iter().any(|l| l.contains("ongeldig")),
        "a save was reported more than once: {lines:?}"
    );

    // A file named like a built-in is announced as replacing it, and can be forgotten.
    let shadow = dir.join("kwaliteitskompas.yaml");
    std::fs::write(
        &shadow,
        PROEF
            .replace("naam: proef", "naam: kwaliteitskompas")
            .replace("VERSIE", "1.2.0"),
    )
    .unwrap();
    watcher.expect("vervangt de ingebouwde werkwijze kwaliteitskompas 1.2.0");
    std::fs::remove_file(&shadow).unwrap();
    watcher.expect("verwijderd:");
    let forgotten = json(&data, &["workflow", "forget", "kwaliteitskompas"]);
    assert_eq!(forgotten["forgotten"], true);
    let list = json(&data, &["workflow", "list"]);
    let kk = list
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "kwaliteitskompas")
        .unwrap();
    assert_eq!(kk["source"]["type"], "builtin", "{list:#}");
}

/// Three organisations, each with its own data directory.
struct Partnership {
    root: tempfile::TempDir,
    orgs: [std::path::PathBuf; 3],
}

impl Partnership {
    fn new() -> Partnership {
        let root = tempfile::tempdir().unwrap();
        let orgs = ["gemeente", "swv", "jeugdhulp"].map(|n| root.path().join(n));
        ok(&orgs[0], &["init", "--org", "Gemeente Havenstad"]);
        ok(
            &orgs[1],
            &[
                "init",
                "--org",
                "SWV Havenstad",
                "--type",
                "samenwerkingsverband",
            ],
        );
        ok(
            &orgs[2],
            &["init", "--org", "Jeugdhulp De Vaart", "--type", "aanbieder"],
        );
        Partnership { root, orgs }
    }

    /// Sends document `id` from organisation `from` to organisations `to`.
    fn send(&self, from: usize, to: &[usize], id: &str) {
        let file = self
            .root
            .path()
            .join(format!("{id}-{}.automerge", rand_suffix()));
        ok(
            &self.orgs[from],
            &["doc", "export", id, file.to_str().unwrap()],
        );
        for t in to {
            ok(&self.orgs[*t], &["doc", "import", file.to_str().unwrap()]);
        }
    }

    /// The municipality creates a document in `flow` and shares both.
    fn doc(&self, flow: &str, kind: &str, fields: &[&str]) -> String {
        let mut args = vec!["doc", "new", kind, "--werkstroom", flow];
        for f in fields {
            args.extend(["--set", f]);
        }
        let id = ok(&self.orgs[0], &args).trim().to_string();
        self.send(0, &[1, 2], &id);
        self.send(0, &[1, 2], flow);
        id
    }

    /// Every organisation approves the current phase; the verdicts reach everyone.
    fn approve_all(&self, flow: &str) {
        for org in [1, 2] {
            self.send(0, &[org], flow);
            ok(&self.orgs[org], &["flow", "approve", flow]);
            self.send(org, &[0], flow);
        }
        ok(&self.orgs[0], &["flow", "approve", flow]);
        self.send(0, &[1, 2], flow);
    }

    fn advance(&self, flow: &str) -> serde_json::Value {
        json(&self.orgs[0], &["flow", "advance", flow])
    }
}

#[test]
fn the_whole_cycle_ends_in_a_conflict_that_precedence_decides() {
    let p = Partnership::new();
    let g = &p.orgs[0];
    let flow = json(g, &["flow", "start", "kwaliteitskompas"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    p.doc(&flow, "samenwerking", &["naam=Samen voor Havenstad"]);
    p.advance(&flow);
    p.doc(
        &flow,
        "staat-van-de-jeugd",
        &["titel=Staat 2027", "signalen=Minder kinderen sporten"],
    );
    p.advance(&flow);
    p.doc(
        &flow,
        "ambitie",
        &[
            "titel=Meer kinderen sporten",
            "onderbouwing=Minder kinderen zijn lid van een club",
        ],
    );
    p.approve_all(&flow);
    p.advance(&flow);
    // A result names an indicator that exists, and its baseline and target are in its unit.
    ok(
        g,
        &["figures", "define", "sportdeelname", "--unit", "percentage"],
    );
    let resultaat = p.doc(
        &flow,
        "maatschappelijk-resultaat",
        &[
            "titel=Meer kinderen lid van een club",
            "indicator=sportdeelname",
            "nulmeting=65",
            "streefwaarde=75",
        ],
    );
    p.approve_all(&flow);
    p.advance(&flow);
    p.doc(&flow, "veranderverhaal", &["titel=Sport als opstap"]);
    p.advance(&flow);
    let activiteit = p.doc(
        &flow,
        "activiteit",
        &[
            "titel=Sportcoach op school",
            &format!("resultaat={resultaat}"),
        ],
    );
    p.advance(&flow);
    p.doc(
        &flow,
        "kwaliteit",
        &[
            &format!("activiteit={activiteit}"),
            "effectladder=theoretisch",
        ],
    );
    p.advance(&flow);
    p.doc(
        &flow,
        "uitkomst",
        &[
            &format!("activiteit={activiteit}"),
            "maat=deelnemers",
            "waarde=120",
        ],
    );
    let st = p.advance(&flow);
    assert_eq!(st["state"]["phase"], "samen-leren");
    p.doc(
        &flow,
        "evaluatie",
        &[
            "datum=2027-06-30",
            "bevindingen=Meer kinderen sporten, de wachtlijst groeit.",
        ],
    );
    p.approve_all(&flow);

    // At the same time, the municipality starts a new round and the school partnership ends it.
    ok(g, &["flow", "advance", &flow, "--to", "staat-van-de-jeugd"]);
    ok(&p.orgs[1], &["flow", "advance", &flow, "--to", "afgerond"]);
    p.send(1, &[0], &flow);
    let st = json(g, &["flow", "status", &flow]);
    assert_eq!(st["state"]["phase"], "staat-van-de-jeugd", "{st:#}");
    let last = st["state"]["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["via"], "precedence");
    assert_eq!(st["state"]["step"], 9);
    let ignored = st["state"]["ignored"].as_array().unwrap();
    assert!(
        ignored
            .iter()
            .any(|i| i["reason"].as_str().unwrap().contains("verloor")),
        "{ignored:?}"
    );
    // The other replica, once it has the same facts, computes the same state.
    p.send(0, &[1], &flow);
    let theirs = json(&p.orgs[1], &["flow", "status", &flow]);
    assert_eq!(theirs["state"]["phase"], st["state"]["phase"]);
    assert_eq!(theirs["state"]["history"], st["state"]["history"]);
    let text = ok(g, &["flow", "status", &flow]);
    assert!(text.contains("beslist door voorrang"), "{text}");
}
