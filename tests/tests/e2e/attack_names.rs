//! Names are sealed and non-members learn nothing: real `kompas` and `kompas-relay` processes on
//! 127.0.0.1. Three organisations work in a workspace on two relays (one joiner's redeem reaches
//! the second relay only through the joiner itself); then every file in both relays' data
//! directories and everything a stranger's key can get from a relay are searched for the
//! workspace's name and every organisation's name, and a stranger asking for the log or the
//! welcome's figures gets the typed refusal while the members keep syncing.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

use std::time::{Duration, Instant};

use kompas_engine::sync::membership::{InviteToken, OpBody};
use kompas_engine::sync::wire::{Access, ErrorCode, Message, WorkspaceId, encode_frame};
use kompas_relay::client::ClientError;
use kompas_tests::Kompas;
use kompas_tests::relay::{Org, RelayProcess, contains, files_under, runtime};
use serde_json::Value;
use tempfile::TempDir;

const WORKSPACE: &str = "Kansrijk opgroeien in Waterland";
const GEMEENTE: &str = "Gemeente Waterland";
const SWV: &str = "Samenwerkingsverband Waterland Noord";
const AANBIEDER: &str = "Jeugdhulp Het Anker";
const NAMES: [&str; 4] = [WORKSPACE, GEMEENTE, SWV, AANBIEDER];

/// Syncs `k` until it holds a document titled `title`, or fails after a deadline.
fn until_titled(k: &Kompas, title: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !k.titles().iter().any(|t| t == title) {
        assert!(Instant::now() < deadline, "{title:?} never arrived");
        let run = k.run(&["sync", "--timeout", "20"]);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
}

/// Every message a key that is not a member gets from the relay at `url` for workspace `ws`:
/// the welcome and the answer to each request it may try, as the frames' bytes and as text.
/// Each answer must be a typed refusal (checked here); returns the welcome's figures too.
async fn stranger_view(url: &str, ws: WorkspaceId, stranger: &Org) -> (Vec<u8>, Vec<String>) {
    let mut bytes = Vec::new();
    let mut refusals = Vec::new();
    let (mut client, welcome) = stranger.connect(url, ws).await;
    assert_eq!(welcome.access, Access::Candidate);
    assert_eq!(
        (welcome.head, welcome.membership_len, welcome.epoch),
        (0, 0, 0),
        "a stranger's welcome carries no figures"
    );
    bytes.extend(encode_frame(&Message::Welcome {
        access: welcome.access,
        head: welcome.head,
        membership_len: welcome.membership_len,
        epoch: welcome.epoch,
    }));
    let guessed = InviteToken([0x5a; 32]);
    let requests = vec![
        Message::MembershipPull { after: 0 },
        Message::MembershipPull { after: 1 },
        Message::Pull {
            after: 0,
            limit: 100,
        },
        Message::Subscribe { after: 0 },
        Message::Candidacy {
            invite_key: guessed.public(),
            proof: guessed.prove_candidacy(&stranger.public(), &[0; 32], &ws, &stranger.public()),
        },
        Message::MembershipAppend {
            op: stranger.op(ws, None, stranger.redeem(ws, 0x5a)),
        },
    ];
    for request in requests {
        let name = request.name();
        let answer = client.request(&request).await;
        let Err(ClientError::Refused { code, message }) = answer else {
            panic!("a stranger's {name} was answered with {answer:?}");
        };
        assert_eq!(code, ErrorCode::NotMember, "{name}: {message}");
        bytes.extend(encode_frame(&Message::error(code, message.clone())));
        refusals.push(message);
    }
    // Candidacy with a proof made for another connection: refused the same way.
    let (mut other, _) = stranger.connect(url, ws).await;
    let refused = other.candidacy(&guessed, &stranger.key).await;
    assert!(
        matches!(
            refused,
            Err(ClientError::Refused {
                code: ErrorCode::NotMember,
                ..
            })
        ),
        "{refused:?}"
    );
    (bytes, refusals)
}

/// The workspace id a `workspace create --json` printed.
fn workspace_id(created: &Value) -> WorkspaceId {
    created["workspace"].as_str().unwrap().parse().unwrap()
}

#[test]
fn relays_hold_no_names_and_strangers_learn_nothing_while_members_sync() {
    let dir = TempDir::new().unwrap();
    let a_data = dir.path().join("relay-a");
    let b_data = dir.path().join("relay-b");
    let a = RelayProcess::start(&a_data, &[]);
    let b = RelayProcess::start(&b_data, &[]);
    let gemeente = Kompas::organisation(dir.path(), "gemeente", GEMEENTE, "gemeente");
    let swv = Kompas::organisation(dir.path(), "swv", SWV, "samenwerkingsverband");
    let aanbieder = Kompas::organisation(dir.path(), "aanbieder", AANBIEDER, "aanbieder");
    let created = gemeente.json(&["workspace", "create", WORKSPACE, "--relay", &a.url()]);
    let ws = workspace_id(&created);
    gemeente.ok(&["workspace", "relays", "add", &b.url()]);
    swv.ok(&["workspace", "join", &gemeente.invite()]);
    // The coordinator brings the second relay level with the first for the partnership.
    gemeente.ok(&["sync"]);
    // This joiner's redeem reaches relay B only through the joiner itself, which proves its
    // invite there: joining through a second relay.
    aanbieder.ok(&["workspace", "join", &gemeente.invite()]);
    for (k, title) in [
        (&gemeente, "Van de gemeente"),
        (&swv, "Van het samenwerkingsverband"),
        (&aanbieder, "Van de aanbieder"),
    ] {
        k.ok(&["doc", "new", "ambitie", "--set", &format!("titel={title}")]);
        let run = k.run(&["sync", "--timeout", "20"]);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
    for k in [&gemeente, &swv, &aanbieder] {
        until_titled(k, "Van de gemeente");
        until_titled(k, "Van de aanbieder");
        // Every member opens every name.
        let members = k.json(&["workspace", "members"]);
        assert_eq!(members["workspace"], WORKSPACE, "{members}");
        let mut names: Vec<&str> = members["members"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["name"].as_str())
            .collect();
        names.sort_unstable();
        assert_eq!(names, vec![GEMEENTE, AANBIEDER, SWV], "{members}");
    }
    let aanbieder_type = aanbieder.json(&["workspace", "members"])["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == AANBIEDER)
        .map(|m| m["type"].clone());
    assert_eq!(aanbieder_type, Some(Value::from("aanbieder")));

    // A stranger, on both relays, and a member syncing while its connections stay open.
    let stranger = Org::new(0x77, "Vreemde sleutel");
    let rt = runtime();
    let mut seen = Vec::new();
    let mut refusals = Vec::new();
    for url in [a.url(), b.url()] {
        let (bytes, messages) = rt.block_on(stranger_view(&url, ws, &stranger));
        seen.extend(bytes);
        refusals.extend(messages);
    }
    // An unknown workspace gets the very same answers: nothing tells the two apart.
    let (_, unknown) = rt.block_on(stranger_view(&a.url(), WorkspaceId([0x31; 16]), &stranger));
    assert_eq!(unknown, refusals[..unknown.len()].to_vec());
    let held = rt.block_on(async {
        let (client, _) = stranger.connect(&b.url(), ws).await;
        client
    });
    swv.ok(&[
        "doc",
        "new",
        "ambitie",
        "--set",
        "titel=Tijdens de vreemde sleutel",
    ]);
    swv.ok(&["sync"]);
    until_titled(&gemeente, "Tijdens de vreemde sleutel");
    until_titled(&aanbieder, "Tijdens de vreemde sleutel");
    drop(held);
    // Creating an existing workspace is the one refusal that says it exists, and it names
    // nothing of the log.
    rt.block_on(async {
        let (mut client, _) = stranger.connect(&a.url(), ws).await;
        let create = stranger.op(
            ws,
            None,
            OpBody::Create {
                name: "x".into(),
                coordinator: stranger.profile(),
            },
        );
        match client.append(create).await {
            Err(ClientError::Refused { code, message }) => {
                assert_eq!(code, ErrorCode::MembershipRefused);
                assert_eq!(message, "de samenwerking bestaat al");
                seen.extend(encode_frame(&Message::error(code, message)));
            }
            other => panic!("creating an existing workspace: {other:?}"),
        }
    });
    // The provider is a member on relay B: with relay A gone, what it writes reaches the others.
    a.terminate();
    aanbieder.ok(&["doc", "new", "ambitie", "--set", "titel=Alleen via B"]);
    // Relay A is gone, so this sync reports it (exit 7) and pushes through B.
    let run = aanbieder.run(&["sync", "--timeout", "20"]);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    until_titled(&aanbieder, "Van het samenwerkingsverband");
    until_titled(&gemeente, "Alleen via B");
    for path in ["/metrics", "/healthz", "/readyz"] {
        seen.extend(b.get(path).1.into_bytes());
    }
    for name in NAMES {
        assert!(
            !contains(&seen, name.as_bytes()),
            "a stranger can read {name:?}"
        );
    }

    // Everything the relays wrote to disk, read after they stopped.
    b.terminate();
    let mut files = 0;
    for data in [&a_data, &b_data] {
        for file in files_under(data) {
            let bytes = std::fs::read(&file).unwrap();
            files += 1;
            for name in NAMES {
                assert!(
                    !contains(&bytes, name.as_bytes()),
                    "{name:?} is readable in {}",
                    file.display()
                );
            }
        }
    }
    assert!(files >= 2, "the relays wrote {files} files");
}
