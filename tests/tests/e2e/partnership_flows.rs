//! End-to-end: three organisations (a municipality, a school partnership, a youth care provider)
//! work through flows together over a real relay: two improvement actions followed separately to
//! the end; "iedere partner" waiting for the third member and no longer for a removed one; an
//! agreement of a conversation becoming an action in its owner's `flow todo`; deletes and a
//! weaker small-number policy refused by the command and, when a hostile partner's replica makes
//! them anyway and syncs them, ignored everywhere; a deleted document restored by a partner; a
//! completed round followed by a new one that carries over some documents, the old round readable
//! with its approvals and untouched by edits in the new one; the workspace's floor raised by the
//! coordinator and a partner's forged lowering of it ignored.
#![allow(clippy::unwrap_used)]

use automerge::transaction::Transactable;
use kompas_engine::document::{self, Assignment};
use kompas_engine::store::DataDir;
use kompas_engine::{DocId, Replica, Timestamp};
use kompas_tests::relay::RelayProcess;
use kompas_tests::{Kompas, open_data_dir, sync_until};
use serde_json::Value;
use tempfile::TempDir;

struct Partnership {
    dir: TempDir,
    _relay: RelayProcess,
    gemeente: Kompas,
    swv: Kompas,
    aanbieder: Kompas,
}

const SWV: &str = "Samenwerkingsverband Havenstad";
const AANBIEDER: &str = "Jeugdhulp De Vaart";

fn partnership() -> Partnership {
    let dir = TempDir::new().unwrap();
    let relay = RelayProcess::start(&dir.path().join("relay"), &[]);
    let gemeente = Kompas::organisation(dir.path(), "gemeente", "Gemeente Havenstad", "gemeente");
    let swv = Kompas::organisation(dir.path(), "swv", SWV, "samenwerkingsverband");
    let aanbieder = Kompas::organisation(dir.path(), "aanbieder", AANBIEDER, "aanbieder");
    gemeente.ok(&[
        "workspace",
        "create",
        "Jeugd Havenstad",
        "--relay",
        &relay.url(),
    ]);
    for k in [&swv, &aanbieder] {
        let code = gemeente.invite();
        k.ok(&["workspace", "join", &code]);
    }
    sync_until(
        &[&gemeente, &swv, &aanbieder],
        "all three know each other",
        |k| {
            k.json(&["workspace", "members"])["members"]
                .as_array()
                .is_some_and(|m| m.len() == 3)
        },
    );
    Partnership {
        dir,
        _relay: relay,
        gemeente,
        swv,
        aanbieder,
    }
}

/// How many organisations gave a verdict in the flow's current step, on `k`'s replica.
fn verdicts(k: &Kompas, flow: &str) -> usize {
    k.json(&["flow", "status", flow])["state"]["verdicts"]
        .as_array()
        .map_or(0, Vec::len)
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

fn phase(k: &Kompas, flow: &str) -> String {
    k.json(&["flow", "status", flow])["state"]["phase"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A new improvement action owned by `owner`, followed by a flow of its own; (action, flow).
fn action(k: &Kompas, what: &str, owner: &str) -> (String, String) {
    let action = id_of(&k.json(&[
        "doc",
        "new",
        "verbeteractie",
        "--set",
        &format!("actie={what}"),
        "--set",
        &format!("eigenaar={owner}"),
        "--set",
        "deadline=2027-03-31",
    ]));
    let flow = id_of(&k.json(&["flow", "start", "verbeteracties", "--voor", &action]));
    (action, flow)
}

#[test]
fn two_actions_are_followed_separately_to_the_end() {
    let p = partnership();
    let g = &p.gemeente;
    let (first, first_flow) = action(g, "Wachttijden elk kwartaal delen", SWV);
    let (second, second_flow) = action(g, "Ouderavond over thuiszitten", AANBIEDER);
    // The owner is a member, shown by name; an outsider is refused.
    let shown = g.ok(&["doc", "show", &first]);
    assert!(
        shown.contains(&format!("Eigenaar (eigenaar): {SWV}")),
        "{shown}"
    );
    let err = g.fails(
        3,
        &[
            "doc",
            "new",
            "verbeteractie",
            "--set",
            "actie=x",
            "--set",
            "eigenaar=Buurtsport",
        ],
    );
    assert!(
        err.contains("geen organisatie van de samenwerking"),
        "{err}"
    );

    // The first action goes all the way; the second stays where it started.
    g.ok(&["flow", "approve", &first_flow]);
    g.ok(&["flow", "advance", &first_flow]);
    assert_eq!(phase(g, &first_flow), "uitvoeren");
    assert_eq!(phase(g, &second_flow), "plannen");
    g.ok(&["doc", "set", &first, "uitgevoerd=ja"]);
    g.ok(&["flow", "advance", &first_flow]);
    g.ok(&["doc", "set", &first, "resultaat-actie=Elk kwartaal gedeeld"]);
    g.ok(&["flow", "advance", &first_flow]);
    g.ok(&["doc", "set", &first, "situatie-verbeterd=ja"]);
    // Quorum of two members: the school partnership approves on its own replica.
    sync_until(
        &[g, &p.swv],
        "the action reaches the school partnership",
        |k| {
            k.run(&["flow", "status", &first_flow]).code == 0
                && phase(k, &first_flow) == "effect-situatie"
                && k.ok(&["doc", "show", &first])
                    .contains("Is de situatie verbeterd")
        },
    );
    g.ok(&["flow", "approve", &first_flow]);
    p.swv.ok(&["flow", "approve", &first_flow]);
    sync_until(&[&p.swv, g], "the approval comes back", |k| {
        let st = k.json(&["flow", "status", &first_flow]);
        st["state"]["verdicts"].as_array().unwrap().len() == 2
    });
    g.ok(&["flow", "advance", &first_flow, "--to", "afgerond"]);
    assert_eq!(phase(g, &first_flow), "afgerond");
    assert_eq!(phase(g, &second_flow), "plannen");

    // The second follows its own way to the end, untouched by the first.
    g.ok(&["flow", "approve", &second_flow]);
    g.ok(&["flow", "advance", &second_flow]);
    g.ok(&["doc", "set", &second, "uitgevoerd=ja"]);
    g.ok(&["flow", "advance", &second_flow]);
    g.ok(&["doc", "set", &second, "resultaat-actie=Goed bezocht"]);
    g.ok(&["flow", "advance", &second_flow]);
    g.ok(&["doc", "set", &second, "situatie-verbeterd=deels"]);
    g.ok(&["flow", "approve", &second_flow]);
    sync_until(
        &[g, &p.aanbieder],
        "the provider sees the second action",
        |k| {
            k.run(&["flow", "status", &second_flow]).code == 0
                && k.ok(&["doc", "show", &second]).contains("deels")
        },
    );
    p.aanbieder.ok(&["flow", "approve", &second_flow]);
    sync_until(
        &[&p.aanbieder, g],
        "the provider's approval comes back",
        |k| verdicts(k, &second_flow) == 2,
    );
    g.ok(&["flow", "advance", &second_flow, "--to", "afgerond"]);
    for flow in [&first_flow, &second_flow] {
        assert_eq!(phase(g, flow), "afgerond");
    }
}

/// A definition in which every partner must approve one document.
const EVERY_PARTNER: &str = "naam: samen-besluiten\nversie: 1.0.0\ntitel: Samen besluiten\nsoorten:\n  - naam: besluit\n    label: Besluit\n    velden:\n      - {naam: titel, label: Titel, type: tekst, verplicht: true}\nfasen:\n  - naam: voorstel\n    titel: Voorstel\n    soorten: [besluit]\n    naar:\n      - fase: besloten\n        vereist: {verplichte-velden: true, goedkeuring: iedere-partner}\n  - naam: besloten\n    titel: Besloten\n    eind: true\n";

#[test]
fn every_partner_waits_for_the_third_member_and_not_for_a_removed_one() {
    let p = partnership();
    let folder = p.dir.path().join("werkwijzen");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("samen-besluiten.yaml"), EVERY_PARTNER).unwrap();
    let g = &p.gemeente;
    let folder = folder.to_str().unwrap();
    g.ok(&[
        "workflow",
        "publish",
        &format!("{folder}/samen-besluiten.yaml"),
    ]);
    let start = |title: &str| {
        let flow = id_of(&g.json(&["flow", "start", "samen-besluiten", "--title", title]));
        g.ok(&[
            "doc",
            "new",
            "besluit",
            "--werkstroom",
            &flow,
            "--set",
            &format!("titel={title}"),
        ]);
        flow
    };
    let first = start("Gezamenlijke inkoop");
    g.ok(&["flow", "approve", &first]);
    sync_until(&[g, &p.swv, &p.aanbieder], "everyone has the flow", |k| {
        k.run(&["flow", "status", &first]).code == 0
            && !k.json(&["flow", "status", &first])["guidance"]["documents"][0]["id"].is_null()
    });
    p.swv.ok(&["flow", "approve", &first]);
    sync_until(
        &[&p.swv, g],
        "the school partnership's approval arrives",
        |k| verdicts(k, &first) == 2,
    );
    // Two of three members approved: the step waits and names the third.
    let err = g.fails(6, &["flow", "advance", &first]);
    assert!(err.contains(AANBIEDER), "{err}");
    let todo = p.aanbieder.ok(&["flow", "todo"]);
    assert!(todo.contains("instemmen"), "{todo}");
    p.aanbieder.ok(&["flow", "approve", &first]);
    sync_until(&[&p.aanbieder, g], "the third approval arrives", |k| {
        verdicts(k, &first) == 3
    });
    g.ok(&["flow", "advance", &first]);
    assert_eq!(phase(g, &first), "besloten");

    // A second decision: once the provider leaves the workspace, it no longer counts.
    let second = start("Nieuwe werkafspraken");
    g.ok(&["flow", "approve", &second]);
    sync_until(&[g, &p.swv], "the second flow arrives", |k| {
        k.run(&["flow", "status", &second]).code == 0
            && !k.json(&["flow", "status", &second])["guidance"]["documents"][0]["id"].is_null()
    });
    p.swv.ok(&["flow", "approve", &second]);
    sync_until(&[&p.swv, g], "the approval arrives", |k| {
        verdicts(k, &second) == 2
    });
    let err = g.fails(6, &["flow", "advance", &second]);
    assert!(err.contains(AANBIEDER), "{err}");
    g.ok(&["workspace", "remove", AANBIEDER]);
    g.ok(&["flow", "advance", &second]);
    assert_eq!(phase(g, &second), "besloten");
}

/// A cycle of two phases: every partner approves the state of youth, then a new round starts.
const CYCLE: &str = "naam: jaarcyclus\nversie: 1.0.0\ntitel: Jaarcyclus\nsoorten:\n  - naam: stand\n    label: Stand van de jeugd\n    velden:\n      - {naam: titel, label: Titel, type: tekst, verplicht: true}\n      - {naam: beeld, label: Wat de cijfers laten zien, type: lange-tekst, verplicht: true}\nfasen:\n  - naam: staat\n    titel: Staat van de jeugd\n    soorten: [stand]\n    naar:\n      - fase: evaluatie\n        vereist: {verplichte-velden: true, goedkeuring: iedere-partner}\n  - naam: evaluatie\n    titel: Samen leren\n    naar:\n      - {fase: staat, label: Nieuwe ronde, nieuwe-ronde: true}\n      - {fase: klaar}\n  - naam: klaar\n    titel: Klaar\n    eind: true\n";

#[test]
fn a_new_round_carries_over_what_the_partners_keep_and_the_old_round_stays_readable() {
    let p = partnership();
    let folder = p.dir.path().join("werkwijzen");
    std::fs::create_dir_all(&folder).unwrap();
    let file = folder.join("jaarcyclus.yaml");
    std::fs::write(&file, CYCLE).unwrap();
    let g = &p.gemeente;
    let all = [g, &p.swv, &p.aanbieder];
    g.ok(&["workflow", "publish", file.to_str().unwrap()]);
    let flow = id_of(&g.json(&["flow", "start", "jaarcyclus", "--title", "Jeugd Havenstad"]));
    let stand = |titel: &str, beeld: &str| {
        id_of(&g.json(&[
            "doc",
            "new",
            "stand",
            "--werkstroom",
            &flow,
            "--set",
            &format!("titel={titel}"),
            "--set",
            &format!("beeld={beeld}"),
        ]))
    };
    let kept = stand(
        "Staat 2026",
        "Meer thuiszitters in het voortgezet onderwijs",
    );
    let dropped = stand("Wijken 2026", "Noord wijkt af");
    g.ok(&["flow", "approve", &flow]);
    sync_until(&all, "everyone has the round's documents", |k| {
        k.run(&["flow", "status", &flow]).code == 0
            && k.run(&["doc", "show", &kept]).code == 0
            && k.run(&["doc", "show", &dropped]).code == 0
    });
    p.swv.ok(&["flow", "approve", &flow]);
    p.aanbieder.ok(&["flow", "approve", &flow]);
    sync_until(&all, "all three approvals are everywhere", |k| {
        verdicts(k, &flow) == 3
    });
    // The round is completed, and a new one starts on nothing yet.
    g.ok(&["flow", "advance", &flow]);
    g.ok(&["flow", "advance", &flow, "--to", "staat"]);
    let status = g.json(&["flow", "status", &flow]);
    assert_eq!(status["state"]["round"], 2, "{status}");
    assert!(
        status["guidance"]["documents"][0]["id"].is_null(),
        "{status}"
    );
    // A partner must not pick documents of no earlier round.
    let err = g.fails(6, &["flow", "carry", &flow, &flow]);
    assert!(err.contains("hoort niet bij"), "{err}");
    let carried = g.json(&["flow", "carry", &flow, &kept]);
    let new = carried[0]["to"].as_str().unwrap().to_string();
    assert_eq!(carried[0]["from"], kept.as_str(), "{carried}");
    let shown = g.ok(&["doc", "show", &new]);
    assert!(shown.contains("Meer thuiszitters"), "{shown}");
    // An edit in the new round.
    g.ok(&["doc", "set", &new, "beeld=Minder thuiszitters dan verwacht"]);
    sync_until(&all, "the new round and its edit are everywhere", |k| {
        k.json(&["flow", "status", &flow])["state"]["round"] == 2
            && k.run(&["doc", "show", &new]).code == 0
            && k.ok(&["doc", "show", &new]).contains("Minder thuiszitters")
    });

    let mut archives = Vec::new();
    for k in all {
        let rounds = k.json(&["flow", "rounds", &flow]);
        let old = &rounds[0];
        assert_eq!(old["current"], false, "{rounds}");
        assert!(
            old["label"].as_str().unwrap().starts_with("ronde 20"),
            "{old}"
        );
        let docs = old["documents"].as_array().unwrap();
        let ids: Vec<&str> = docs.iter().map(|d| d["id"].as_str().unwrap()).collect();
        assert_eq!(ids, vec![kept.as_str(), dropped.as_str()], "{old}");
        assert_eq!(
            docs[0]["fields"]["beeld"],
            "Meer thuiszitters in het voortgezet onderwijs"
        );
        assert_eq!(docs[0]["carried_to"], new.as_str());
        assert!(docs[1].get("carried_to").is_none(), "{old}");
        let approvers: Vec<&str> = old["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["approve"] == true && v["phase"] == "staat")
            .map(|v| v["org"].as_str().unwrap())
            .collect();
        assert_eq!(approvers.len(), 3, "{old}");
        for name in ["Gemeente Havenstad", SWV, AANBIEDER] {
            assert!(approvers.contains(&name), "{name} in {old}");
        }
        let current = &rounds[1];
        assert_eq!(current["current"], true);
        let docs = current["documents"].as_array().unwrap();
        assert_eq!(docs.len(), 1, "{current}");
        assert_eq!(docs[0]["from"], kept.as_str());
        assert_eq!(
            docs[0]["fields"]["beeld"],
            "Minder thuiszitters dan verwacht"
        );
        archives.push(old.clone());
    }
    // Every organisation reads the same archive.
    assert_eq!(archives[0], archives[1]);
    assert_eq!(archives[0], archives[2]);
    let human = p.aanbieder.ok(&["flow", "rounds", &flow, "--ronde", "1"]);
    for words in [
        "Wat de cijfers laten zien: Meer thuiszitters in het voortgezet onderwijs",
        &format!("meegenomen als {new}"),
        "stemde in met ‘Staat van de jeugd’",
    ] {
        assert!(human.contains(words), "{words:?} in {human}");
    }
}

#[test]
fn an_agreement_of_a_conversation_is_in_its_owners_todo_with_its_deadline() {
    let p = partnership();
    let g = &p.gemeente;
    let afspraken = format!(
        r#"[{{"wie":"{SWV}","wat":"Verzuimcijfers per school delen","wanneer":"2027-02-15","besluit":"zelf-doen"}},{{"wie":"de wethouder","wat":"Budget voor een pilot vragen","besluit":"besluit-nodig"}}]"#
    );
    let gesprek = id_of(&g.json(&[
        "doc",
        "new",
        "cijfergesprek",
        "--set",
        "titel=Thuiszitters",
        "--set",
        "doel=Begrijpen waarom het aantal stijgt",
        "--set",
        &format!("afspraken={afspraken}"),
    ]));
    let listed = g.ok(&["flow", "agreements", &gesprek]);
    assert!(
        listed.contains("1. Verzuimcijfers per school delen"),
        "{listed}"
    );
    assert!(listed.contains("nog geen verbeteractie"), "{listed}");
    let made = g.json(&["flow", "action", &gesprek, "1"]);
    assert_eq!(made["owner"], SWV, "{made}");
    assert_eq!(made["deadline"], "2027-02-15");
    let flow = made["flow"].as_str().unwrap().to_string();
    // The second names nobody in the partnership: an owner must be chosen from the members.
    let err = g.fails(
        3,
        &["flow", "action", &gesprek, "2", "--deadline", "2027-06-01"],
    );
    assert!(
        err.contains("de wethouder") && err.contains(AANBIEDER),
        "{err}"
    );
    g.ok(&[
        "flow",
        "action",
        &gesprek,
        "2",
        "--eigenaar",
        "Gemeente Havenstad",
        "--deadline",
        "2027-06-01",
    ]);
    // Once more is refused.
    g.fails(6, &["flow", "action", &gesprek, "1"]);

    sync_until(&[g, &p.swv], "the action reaches its owner", |k| {
        k.run(&["flow", "status", &flow]).code == 0
    });
    let todo = p.swv.json(&["flow", "todo"]);
    let item = todo
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["what"].as_str().unwrap().starts_with("actie"))
        .unwrap_or_else(|| panic!("no action in {todo}"));
    assert_eq!(
        item["what"],
        "actie ‘Verzuimcijfers per school delen’ uiterlijk 2027-02-15 klaar"
    );
    assert_eq!(item["instance"], flow.as_str());
    assert!(item["at"].as_i64().is_some(), "{item}");
    let human = p.swv.ok(&["flow", "todo"]);
    assert!(human.contains("uiterlijk 2027-02-15 klaar"), "{human}");
    // Not in the list of an organisation that does not own it.
    let theirs = p.aanbieder.ok(&["flow", "todo"]);
    assert!(!theirs.contains("Verzuimcijfers"), "{theirs}");
}

/// Opens `k`'s replica in this process, as a hostile partner's own software would.
fn hostile(k: &Kompas) -> (DataDir, Replica<kompas_engine::SledStore>) {
    let dir = open_data_dir(k.data());
    let replica = kompas_engine::composition::open(dir.sole_store().unwrap()).unwrap();
    (dir, replica)
}

fn now() -> Timestamp {
    Timestamp::from_system(std::time::SystemTime::now())
}

#[test]
fn forged_deletes_and_policy_changes_are_ignored_and_a_deleted_document_comes_back() {
    let p = partnership();
    let g = &p.gemeente;
    let flow = id_of(&g.json(&[
        "flow",
        "start",
        "kwaliteitskompas",
        "--title",
        "Cyclus 2027",
    ]));
    let ambitie = id_of(&g.json(&[
        "doc",
        "new",
        "ambitie",
        "--set",
        "titel=Meer kinderen sporten",
    ]));
    g.ok(&["figures", "policy", "--threshold", "10"]);
    // The coordinator raises the workspace's floor above CBS's rule.
    g.ok(&["figures", "floor", "--threshold", "9"]);
    sync_until(&[g, &p.swv], "the partner has everything", |k| {
        k.run(&["flow", "status", &flow]).code == 0
            && k.run(&["doc", "show", &ambitie]).code == 0
            && k.json(&["figures", "policy"])["threshold"] == 10.0
            && k.json(&["figures", "floor"])["threshold"] == 9.0
    });

    // The commands refuse.
    let err = p.swv.fails(3, &["doc", "delete", &flow]);
    assert!(err.contains("werkstroom"), "{err}");
    let err = p.swv.fails(3, &["doc", "delete", &ambitie]);
    assert!(err.contains("Gemeente Havenstad"), "{err}");
    let err = p.swv.fails(
        3,
        &["figures", "policy", "--threshold", "0", "--round", "1"],
    );
    assert!(err.contains("coördinator"), "{err}");
    let err = g.fails(3, &["figures", "policy", "--threshold", "3"]);
    assert!(err.contains("ondergrens"), "{err}");
    let err = g.fails(3, &["figures", "policy", "--threshold", "8"]);
    assert!(err.contains("0 tot en met 9"), "{err}");
    let err = p.swv.fails(3, &["figures", "floor", "--threshold", "20"]);
    assert!(err.contains("coördinator"), "{err}");
    let err = g.fails(3, &["figures", "floor", "--threshold", "8"]);
    assert!(err.contains("alleen omhoog"), "{err}");

    // The partner's replica makes the changes anyway and syncs them.
    {
        let (_dir, replica) = hostile(&p.swv);
        for id in [&flow, &ambitie] {
            let mut loaded = replica.load(&DocId::parse(id).unwrap()).unwrap();
            document::write_tombstone(&mut loaded.doc, now()).unwrap();
            replica.commit(&mut loaded, "verwijderd", now()).unwrap();
        }
        let policy = replica
            .list(Some("cijferbeleid"), false)
            .unwrap()
            .into_iter()
            .next()
            .unwrap();
        replica
            .update(
                &policy.id,
                &[
                    Assignment {
                        field: "drempel".into(),
                        value: "0".into(),
                    },
                    Assignment {
                        field: "afronden".into(),
                        value: "1".into(),
                    },
                ],
                now(),
            )
            .unwrap();
        // And lowers the floor under the policy.
        let mut loaded = replica.load(&policy.id).unwrap();
        loaded
            .doc
            .put(automerge::ROOT, "ondergrens-drempel", 0.0)
            .unwrap();
        replica.commit(&mut loaded, "ondergrens", now()).unwrap();
    }
    p.swv.ok(&["sync"]);
    let forged_arrived = |k: &Kompas| {
        let history = k.ok(&["doc", "history", &ambitie]);
        history.contains(SWV)
    };
    sync_until(
        &[g, &p.aanbieder],
        "the forged changes arrive",
        forged_arrived,
    );
    for k in [g, &p.aanbieder, &p.swv] {
        let list = k.json(&["flow", "list"]);
        assert!(
            list.as_array()
                .unwrap()
                .iter()
                .any(|s| s["id"] == flow.as_str()),
            "{list}"
        );
        let shown = k.json(&["doc", "show", &ambitie]);
        assert!(shown.get("deleted").is_none(), "{shown}");
        let policy = k.json(&["figures", "policy"]);
        assert_eq!(policy["threshold"], 10.0, "{policy}");
        assert_eq!(policy["round_to"], 5.0, "{policy}");
        let floor = k.json(&["figures", "floor"]);
        assert_eq!(floor["threshold"], 9.0, "{floor}");
    }

    // The creator deletes it; a partner brings it back from its history.
    g.ok(&["doc", "delete", &ambitie]);
    sync_until(&[g, &p.aanbieder], "the delete arrives", |k| {
        k.json(&["doc", "show", &ambitie]).get("deleted").is_some()
    });
    p.aanbieder.ok(&["doc", "restore", &ambitie]);
    sync_until(&[&p.aanbieder, g], "the restore arrives", |k| {
        k.json(&["doc", "show", &ambitie]).get("deleted").is_none()
    });
    let history = g.ok(&["doc", "history", &ambitie]);
    assert!(history.contains(AANBIEDER), "{history}");
}
