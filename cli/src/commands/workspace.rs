//! `kompas workspace ...`: create, invite, join, members, confirm or refuse a join, remove,
//! relays.
//!
//! Commands that change the member list sync once right away, so an invite is known to the
//! relays before the invited organisation uses it. Without a reachable relay the change stays
//! queued and goes out with the next `kompas sync`.

use std::time::Duration;

use kompas_engine::definition::{DEFAULT_TIME_ZONE, Period};
use kompas_engine::sync::membership::Role;
use kompas_engine::sync::replication::{
    InviteCode, Machine, Mode, PendingView, SyncError, WorkspaceState,
};
use kompas_engine::sync::wire::OrgKey;
use kompas_engine::{Replica, SledStore, Store};

use super::sync::{SyncSummary, drive};
use crate::args::{Global, RelayTrustArgs, RelaysCommand, WorkspaceCommand};
use crate::context::{Opened, now, open_global, open_locked};
use crate::driver::OsEntropy;
use crate::exit::Refused;
use crate::output::{emit, note};
use crate::partnerships;
use kompas_relay::client_tls::client_config;

/// The time zone invites are counted in (P1M keeps the day of the month there).
fn dutch_time() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::get(DEFAULT_TIME_ZONE).unwrap_or(jiff::tz::TimeZone::UTC)
}

/// How long the sync after a member-list change may take.
pub const AFTER_CHANGE_LIMIT: Duration = Duration::from_secs(20);

pub fn run(global: &Global, cmd: WorkspaceCommand) -> anyhow::Result<()> {
    let adding = matches!(
        cmd,
        WorkspaceCommand::Create { .. } | WorkspaceCommand::Join { .. }
    );
    if !adding {
        return run_in(global, &open_global(global)?, cmd);
    }
    // A new samenwerking goes into the store that belongs to none yet, or into a new one.
    let data = crate::context::lock(&global.data)?;
    match &cmd {
        WorkspaceCommand::Create { name, .. } => {
            partnerships::refuse_duplicate(&data, None, Some(name.trim()))?;
        }
        WorkspaceCommand::Join { code, .. } => {
            let id = InviteCode::decode(code)?.workspace.to_string();
            partnerships::refuse_duplicate(&data, Some(&id), None)?;
        }
        _ => {}
    }
    let (store, fresh) = partnerships::store_for_new(&data)?;
    let opened = open_locked(data, store, crate::workflows::folder(global).as_deref())?;
    let result = run_in(global, &opened, cmd);
    if result.is_err() && fresh {
        // A new store this organisation did not get into with anything: gone again.
        let Opened {
            replica,
            dir,
            store,
            ..
        } = opened;
        let blank =
            WorkspaceState::load(replica.store())?.is_none() && replica.store().ids()?.is_empty();
        drop(replica);
        if blank {
            dir.remove_store(store)?;
        }
    }
    result
}

fn run_in(global: &Global, opened: &Opened, cmd: WorkspaceCommand) -> anyhow::Result<()> {
    let replica = &opened.replica;
    let progress = super::sync::progress(global);
    match cmd {
        WorkspaceCommand::Create {
            name,
            relays,
            trust,
        } => {
            let name = name.trim();
            if name.is_empty() {
                return Err(Refused::input(
                    "de naam van de samenwerking mag niet leeg zijn",
                ));
            }
            kompas_engine::privacy::check_text("naam van de samenwerking", name)?;
            for relay in &relays {
                check_relay_url(relay)?;
            }
            let (key, ca) = relay_trust(&relays, &trust)?;
            let mut machine =
                Machine::create(replica, name, relays.clone(), now(), &mut OsEntropy)?;
            for relay in &relays {
                machine.configure_relay(replica, relay, key, ca.clone())?;
            }
            let summary = drive(replica, &mut machine, Some(AFTER_CHANGE_LIMIT), progress)?;
            if summary.creation_refused {
                // Nothing was created anywhere: leave no half-made workspace behind, so the
                // command can simply be run again once the relay allows it.
                return Err(abandon(
                    replica,
                    &summary,
                    format!("samenwerking {name} is niet aangemaakt"),
                    "de relay weigert",
                ));
            }
            let value = serde_json::json!({
                "workspace": machine.workspace().to_string(),
                "name": name,
                "relays": machine.state().relays,
                "synced": summary.complete(),
            });
            emit(global.json, &value, |_| {
                format!(
                    "Samenwerking {name} aangemaakt ({}); deze organisatie is coördinator.{}\nVolgende stap: kompas workspace invite",
                    machine.workspace(),
                    not_synced_note(&summary)
                )
            })
        }
        WorkspaceCommand::Invite {
            role,
            expires,
            confirm,
        } => {
            let role: Role =
                role.parse()
                    .map_err(|e: kompas_engine::sync::membership::UnknownRole| {
                        Refused::input(e.to_string())
                    })?;
            let valid_for =
                Period::parse(&expires).map_err(|e| Refused::input(format!("--expires: {e}")))?;
            let mut machine = load(replica)?;
            let expires_at = valid_for
                .after(now(), &dutch_time())
                .ok_or_else(|| Refused::input(format!("--expires: {expires:?} is te lang")))?;
            let code = if confirm {
                machine.invite_with_confirmation(
                    replica,
                    role,
                    expires_at,
                    now(),
                    &mut OsEntropy,
                )?
            } else {
                machine.invite(replica, role, expires_at, now(), &mut OsEntropy)?
            };
            let summary = drive(replica, &mut machine, Some(AFTER_CHANGE_LIMIT), progress)?;
            let text = code.encode();
            let value = serde_json::json!({
                "code": text,
                "role": role.to_string(),
                "expires": expires_at,
                "confirm": confirm,
                "synced": summary.complete(),
            });
            // Standard output holds the code alone, so it can be captured; what it is goes to
            // standard error.
            if !global.json {
                let confirm_note = if confirm {
                    "\nDe uitnodiging bevat geen sleutels: de nieuwe organisatie kan pas iets lezen nadat een coördinator haar aanmelding bevestigt (kompas workspace confirm ORGANISATIE), na het vergelijken van de vingerafdruk via de telefoon."
                } else {
                    ""
                };
                note(&format!(
                    "Uitnodiging als {}, geldig tot {}, één keer te gebruiken.\nDe nieuwe organisatie voert uit: kompas --data MAP workspace join <uitnodiging>{confirm_note}{}",
                    role_nl(role),
                    expires_at.dutch(),
                    not_synced_note(&summary)
                ));
            }
            emit(global.json, &value, |_| text.clone())
        }
        WorkspaceCommand::Revoke { code } => {
            let code = InviteCode::decode(&code)?;
            let mut machine = load(replica)?;
            machine.revoke(replica, &code, now())?;
            let summary = drive(replica, &mut machine, Some(AFTER_CHANGE_LIMIT), progress)?;
            let value = serde_json::json!({ "revoked": true, "synced": summary.complete() });
            emit(global.json, &value, |_| {
                format!(
                    "De uitnodiging is ingetrokken; wie hem nog heeft, kan er niet meer mee aansluiten.{}",
                    not_synced_note(&summary)
                )
            })
        }
        WorkspaceCommand::Join { code, ca } => {
            let code = InviteCode::decode(&code)?;
            let relays: Vec<String> = code.relays.iter().map(|(r, _)| r.clone()).collect();
            let trust = RelayTrustArgs {
                ca,
                relay_key: None,
            };
            let (_, ca) = relay_trust(&relays, &trust)?;
            let mut machine = Machine::join(replica, &code)?;
            for relay in &machine.state().relays.clone() {
                machine.configure_relay(replica, relay, None, ca.clone())?;
            }
            let summary = drive(replica, &mut machine, Some(AFTER_CHANGE_LIMIT), progress)?;
            let me = machine.me();
            if machine.members().set().is_pending(&me) {
                let fingerprint = me.short_fingerprint();
                let value = serde_json::json!({
                    "workspace": code.workspace.to_string(),
                    "name": code.name,
                    "pending": true,
                    "fingerprint": fingerprint,
                });
                return emit(global.json, &value, |_| {
                    format!(
                        "Je aanmelding bij {} wacht op bevestiging door een coördinator.\nVingerafdruk van deze organisatie: {fingerprint}\n{}\nNa de bevestiging: kompas sync",
                        code.name, COMPARE_BY_PHONE
                    )
                });
            }
            if !machine.members().set().is_member(&me) {
                return Err(abandon(
                    replica,
                    &summary,
                    format!("aansluiten bij {} is niet gelukt", code.name),
                    "geen relay bereikt",
                ));
            }
            let value = serde_json::json!({
                "workspace": code.workspace.to_string(),
                "name": code.name,
                "documents": replica.store().ids()?.len(),
            });
            emit(global.json, &value, |_| {
                format!(
                    "Aangesloten bij {}; {} wijziging(en) ontvangen.",
                    code.name, summary.applied
                )
            })
        }
        WorkspaceCommand::Members => {
            let machine = load(replica)?;
            let set = machine.members_with_pending().set();
            let members: Vec<_> = set
                .members()
                .map(|m| {
                    serde_json::json!({
                        "name": m.profile.name,
                        "type": m.profile.org_type,
                        "org_id": m.profile.key.org_id(),
                        "role": m.role.to_string(),
                        "joined": m.joined_at,
                        "you": m.profile.key == machine.me(),
                    })
                })
                .collect();
            let pending = machine.pending_joins();
            let waiting: Vec<_> = pending
                .iter()
                .map(|p| {
                    serde_json::json!({
                        "name": p.names.as_ref().map(|(name, _)| name),
                        "type": p.names.as_ref().map(|(_, t)| t),
                        "org_id": p.org_id,
                        "role": p.role.to_string(),
                        "fingerprint": p.fingerprint,
                        "since": p.at,
                    })
                })
                .collect();
            let value = serde_json::json!({
                "workspace": set.name(),
                "members": members,
                "pending": waiting,
                "epoch": set.epoch(),
                "unconfirmed_changes": machine.pending_operations(),
            });
            emit(global.json, &value, |_| {
                let mut out = format!("Leden van {}:", set.name());
                for m in set.members() {
                    out.push_str(&format!(
                        "\n  {:<36} {:<20} {}  {}{}",
                        m.profile.name,
                        m.profile.org_type.to_string(),
                        m.profile.key.org_id(),
                        role_nl(m.role),
                        if m.profile.key == machine.me() {
                            "  (deze organisatie)"
                        } else {
                            ""
                        }
                    ));
                }
                let others: Vec<_> = pending.iter().filter(|p| p.key != machine.me()).collect();
                if !others.is_empty() {
                    out.push_str("\nWachten op bevestiging door een coördinator:");
                    for p in &others {
                        out.push_str(&format!(
                            "\n  {:<36} {:<20} {}  {}  vingerafdruk {}",
                            pending_name(p),
                            p.names
                                .as_ref()
                                .map_or_else(String::new, |(_, t)| t.to_string()),
                            p.org_id,
                            role_nl(p.role),
                            p.fingerprint
                        ));
                    }
                    if machine.is_coordinator() {
                        out.push_str(&format!(
                            "\n{COMPARE_BY_PHONE}\nDaarna: kompas workspace confirm ORGANISATIE (of weigeren: kompas workspace refuse ORGANISATIE)"
                        ));
                    }
                }
                if machine.awaits_confirmation() {
                    out.push_str(&format!(
                        "\nDeze organisatie wacht op bevestiging door een coördinator; vingerafdruk {}.\n{COMPARE_BY_PHONE}",
                        machine.me().short_fingerprint()
                    ));
                }
                if machine.pending_operations() > 0 {
                    out.push_str(&format!(
                        "\n{} wijziging(en) van deze organisatie zijn nog niet door de relay bevestigd.",
                        machine.pending_operations()
                    ));
                }
                out
            })
        }
        WorkspaceCommand::Confirm { org } => {
            let mut machine = load(replica)?;
            let confirmed = machine.confirm_join(replica, &org, now(), &mut OsEntropy)?;
            let summary = drive(replica, &mut machine, Some(AFTER_CHANGE_LIMIT), progress)?;
            let value = serde_json::json!({
                "confirmed": confirmed.org_id,
                "name": confirmed.names.as_ref().map(|(name, _)| name),
                "fingerprint": confirmed.fingerprint,
                "synced": summary.complete(),
            });
            emit(global.json, &value, |_| {
                format!(
                    "{} (vingerafdruk {}) is bevestigd als {} en krijgt nu de sleutels van de samenwerking.{}",
                    pending_name(&confirmed),
                    confirmed.fingerprint,
                    role_nl(confirmed.role),
                    not_synced_note(&summary)
                )
            })
        }
        WorkspaceCommand::Refuse { org } => {
            let mut machine = load(replica)?;
            let refused = machine.refuse_join(replica, &org, now())?;
            let summary = drive(replica, &mut machine, Some(AFTER_CHANGE_LIMIT), progress)?;
            let value = serde_json::json!({
                "refused": refused.org_id,
                "name": refused.names.as_ref().map(|(name, _)| name),
                "synced": summary.complete(),
            });
            emit(global.json, &value, |_| {
                format!(
                    "De aanmelding van {} is geweigerd; die organisatie krijgt geen sleutels en kan met deze sleutel niet meer aansluiten.{}",
                    pending_name(&refused),
                    not_synced_note(&summary)
                )
            })
        }
        WorkspaceCommand::Remove { org } => {
            let mut machine = load(replica)?;
            if machine.find_member(&org)?.profile.key == machine.me() {
                return Err(Refused::input(
                    "een organisatie kan zichzelf niet verwijderen",
                ));
            }
            let removed = machine.remove(replica, &org, now(), &mut OsEntropy)?;
            let summary = drive(replica, &mut machine, Some(AFTER_CHANGE_LIMIT), progress)?;
            let value = serde_json::json!({
                "removed": removed.profile.key.org_id(),
                "name": removed.profile.name,
                "epoch": machine.members_with_pending().set().epoch(),
                "cutoff": machine.state().authors.highest(&removed.profile.key),
                "synced": summary.complete(),
            });
            emit(global.json, &value, |_| {
                format!(
                    "{} is verwijderd. De andere leden gebruiken vanaf nu een nieuwe sleutel; wat hierna geschreven wordt, kan {} niet lezen, en wat {} hierna nog schrijft, past niemand toe.{}",
                    removed.profile.name,
                    removed.profile.name,
                    removed.profile.name,
                    not_synced_note(&summary)
                )
            })
        }
        WorkspaceCommand::Relays(cmd) => {
            let mut machine = load(replica)?;
            match cmd {
                RelaysCommand::Add { url, trust } => {
                    check_relay_url(&url)?;
                    let (key, ca) = relay_trust(std::slice::from_ref(&url), &trust)?;
                    machine.add_relay(replica, &url, &mut OsEntropy)?;
                    machine.configure_relay(replica, &url, key, ca)?;
                }
                RelaysCommand::Remove { url } => machine.remove_relay(replica, &url)?,
                RelaysCommand::List => {}
            }
            let relays = machine.state().relays.clone();
            let trust: Vec<_> = relays
                .iter()
                .map(|r| (r, machine.state().trust(r)))
                .collect();
            let details: serde_json::Map<String, serde_json::Value> = trust
                .iter()
                .map(|(r, t)| {
                    let value = serde_json::json!({ "key": t.key, "ca": t.ca });
                    (r.to_string(), value)
                })
                .collect();
            emit(
                global.json,
                &serde_json::json!({ "relays": relays, "trust": details }),
                |_| {
                    let mut out = String::from(
                        "Relays van de samenwerking (de eerste ordent de ledenlijst):",
                    );
                    for (r, t) in &trust {
                        out.push_str(&format!("\n  {r}"));
                        match &t.key {
                            Some(key) => out.push_str(&format!("\n    relaysleutel {key}")),
                            None => out.push_str(
                                "\n    relaysleutel nog onbekend (wordt bij het eerste contact vastgelegd)",
                            ),
                        }
                        if let Some(ca) = &t.ca {
                            out.push_str(&format!("\n    eigen CA {ca}"));
                        }
                    }
                    out
                },
            )
        }
    }
}

/// What a joiner and a coordinator are told to do with a fingerprint.
pub const COMPARE_BY_PHONE: &str = "Vergelijk deze code via de telefoon: de coördinator en de nieuwe organisatie lezen hem elkaar voor, en pas als hij gelijk is, bevestigt de coördinator.";

/// A pending joiner by name, or by organisation id when its name was not boxed for us.
fn pending_name(p: &PendingView) -> String {
    match &p.names {
        Some((name, _)) => name.clone(),
        None => format!("organisatie {}", p.org_id),
    }
}

/// The Dutch name of a role, as users see it.
pub fn role_nl(role: Role) -> &'static str {
    match role {
        Role::Coordinator => "coördinator",
        Role::Partner => "partner",
    }
}

fn load(replica: &Replica<SledStore>) -> anyhow::Result<Machine> {
    Ok(Machine::load(replica, Mode::Once)?.ok_or(SyncError::NoWorkspace)?)
}

/// Forgets the workspace this replica did not get into, and fails with what the relays said.
fn abandon(
    replica: &Replica<SledStore>,
    summary: &SyncSummary,
    failed: String,
    fallback: &str,
) -> anyhow::Error {
    if let Err(e) = WorkspaceState::forget(replica.store()) {
        return e.into();
    }
    let why = summary.problems.last().map_or(fallback, String::as_str);
    Refused::sync(format!("{failed}: {why}"))
}

pub fn not_synced_note(summary: &SyncSummary) -> &'static str {
    if summary.complete() {
        ""
    } else {
        "\nLet op: niet alle relays waren bereikbaar; de wijziging gaat mee met de volgende `kompas sync`."
    }
}

/// The relay key and CA file a command was given, checked: the key must be a relay key and may
/// only go with one relay; the CA file must hold a certificate, and is remembered by its full
/// path so later syncs find it from any working directory.
fn relay_trust(
    relays: &[String],
    trust: &RelayTrustArgs,
) -> anyhow::Result<(Option<OrgKey>, Option<String>)> {
    let key = match &trust.relay_key {
        None => None,
        Some(_) if relays.len() > 1 => {
            return Err(Refused::input(
                "--relay-key hoort bij één relay; voeg de andere relays daarna toe met \
                 `kompas workspace relays add URL --relay-key SLEUTEL`",
            ));
        }
        Some(text) => Some(text.trim().parse::<OrgKey>().map_err(|_| {
            Refused::input(format!(
                "--relay-key {text:?} is geen relaysleutel; die bestaat uit 64 hex-tekens \
                 (`kompas-relay key --data MAP` toont hem)"
            ))
        })?),
    };
    let ca = match &trust.ca {
        None => None,
        Some(path) => {
            let full = std::fs::canonicalize(path).map_err(|e| {
                Refused::input(format!("--ca {}: niet te lezen: {e}", path.display()))
            })?;
            let relay = relays.first().map_or("", String::as_str);
            client_config(relay, Some(&full), "--ca").map_err(Refused::input)?;
            Some(full.display().to_string())
        }
    };
    Ok((key, ca))
}

/// Accepts `ws://` and `wss://` URLs.
fn check_relay_url(url: &str) -> anyhow::Result<()> {
    if url.starts_with("ws://") || url.starts_with("wss://") {
        Ok(())
    } else {
        Err(Refused::input(format!(
            "{url:?} is geen relay-adres; gebruik ws://host:poort of wss://host"
        )))
    }
}
