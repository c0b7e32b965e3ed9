//! Samenwerking: the member list for everyone; for coordinators also making an invite (its code
//! shown once), the open invites and revoking them, removing a member after a confirmation that
//! explains the key rotation, joiners waiting for confirmation with their fingerprint (and, for
//! coordinators, confirming or refusing them), and the workflow definitions in force with their
//! source and publishing one.
//!
//! Member-list changes are made by the server's own running sync (`AppState::with_machine`),
//! so they reach the relays at once and the machine connected to them knows of them. Every
//! change is refused with 403 unless this organisation is a coordinator.

use askama::Template;
use axum::Extension;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kompas_engine::definition::{self, Loaded};
use kompas_engine::published;
use kompas_engine::seal::ExchangeSecret;
use kompas_engine::sync::membership::{InviteState, MemberSet, Role};
use kompas_engine::sync::replication::{PendingView, SyncError, known_members};
use kompas_engine::sync::wire::OrgKey;
use kompas_engine::{SledStore, Timestamp};

use super::dates::moment;
use super::error::AppError;
use super::flows::{DoneQuery, capitalise};
use super::page::{Chrome, render};
use super::publish_file::{DEFINITION_LIMIT, UploadResult};
use super::state::{AppState, LiveEvent, Session};
use crate::commands::workflow::source_nl;
use crate::commands::workspace::role_nl;
use crate::context::{Opened, now};
use crate::driver::OsEntropy;

/// The longest an invite made here stays valid, in days.
const MAX_INVITE_DAYS: i64 = 30;
/// How long a page waits for the first relay to confirm a member-list change.
const CONFIRM_PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);
/// How often it looks.
const CONFIRM_POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// What a refused change by a partner says.
const ONLY_COORDINATORS: &str = "Alleen een coördinator van de samenwerking kan leden uitnodigen, uitnodigingen intrekken, leden verwijderen of werkwijzen publiceren. Vraag een coördinator om dit te doen.";

struct MemberRow {
    org_id: String,
    name: String,
    org_type: String,
    role: &'static str,
    joined: String,
    you: bool,
}

/// A joiner waiting for a coordinator's confirmation.
struct PendingRow {
    org_id: String,
    name: String,
    role: &'static str,
    since: String,
    fingerprint: String,
}

struct InviteRow {
    key: String,
    role: &'static str,
    expires: String,
    by: String,
}

struct DefinitionRow {
    name: String,
    version: String,
    title: String,
    source: String,
    published: bool,
    /// Published but not yet read by this server: in force here once the sync thread has read
    /// the definitions again (it does so as soon as a published definition changes).
    waiting: bool,
}

/// An invite just made, shown once.
pub(super) struct NewInvite {
    code: String,
    role: &'static str,
    expires: String,
    confirmed: bool,
    /// Whether the joiner waits for a coordinator's confirmation (the code holds no key).
    confirm: bool,
}

#[derive(Template)]
#[template(path = "partnership.html")]
pub(super) struct PartnershipPage {
    chrome: Chrome,
    workspace: Option<String>,
    coordinator: bool,
    members: Vec<MemberRow>,
    pending: Vec<PendingRow>,
    invites: Vec<InviteRow>,
    definitions: Vec<DefinitionRow>,
    invite: Option<NewInvite>,
    message: String,
    error: String,
    /// What is wrong with an uploaded definition file.
    pub(super) upload: UploadResult,
    /// The largest definition file accepted, in MiB.
    upload_limit_mib: usize,
}

/// The member list, and whether this organisation coordinates it.
fn members_of(opened: &Opened) -> Result<Option<(MemberSet, bool)>, AppError> {
    let me = &opened.replica.identity().profile.org_id;
    Ok(known_members(opened.replica.store())
        .map_err(AppError::internal)?
        .map(|set| {
            let coordinator = set
                .members()
                .any(|m| m.profile.key.org_id() == *me && m.role == Role::Coordinator);
            (set, coordinator)
        }))
}

fn name_of(set: &MemberSet, key: &OrgKey) -> String {
    set.member(key)
        .map_or_else(|| key.org_id(), |m| m.profile.name.clone())
}

pub(super) fn partnership_page(
    opened: &Opened,
    session: &Session,
    invite: Option<NewInvite>,
    message: String,
    error: String,
) -> Result<PartnershipPage, AppError> {
    let me = &opened.replica.identity().profile.org_id;
    let found = members_of(opened)?;
    let at = now();
    let pending = match &found {
        None => Vec::new(),
        Some((set, _)) => pending_rows(opened, set)?,
    };
    let (workspace, coordinator, members, invites) = match &found {
        None => (None, false, Vec::new(), Vec::new()),
        Some((set, coordinator)) => {
            let mut members: Vec<MemberRow> = set
                .members()
                .map(|m| MemberRow {
                    org_id: m.profile.key.org_id(),
                    name: m.profile.name.clone(),
                    org_type: m.profile.org_type.to_string(),
                    role: role_nl(m.role),
                    joined: moment(m.joined_at),
                    you: m.profile.key.org_id() == *me,
                })
                .collect();
            members.sort_by_key(|m| m.name.to_lowercase());
            let invites = set
                .invites()
                .iter()
                .filter(|(_, i)| i.state == InviteState::Open && i.expires > at)
                .map(|(key, i)| InviteRow {
                    key: key.to_string(),
                    role: role_nl(i.role),
                    expires: moment(i.expires),
                    by: name_of(set, &i.created_by),
                })
                .collect();
            (Some(set.name().to_string()), *coordinator, members, invites)
        }
    };
    let publications: Vec<published::Publication> = published::read_publications(&opened.replica)?
        .into_iter()
        .filter(|f| f.problem.is_none())
        .filter_map(|f| f.publication)
        .collect();
    let mut definitions: Vec<DefinitionRow> = opened
        .registry
        .latest_all()
        .map(|l| {
            let version = l.definition.version.to_string();
            DefinitionRow {
                published: publications
                    .iter()
                    .any(|p| p.name == l.definition.name && p.version == version),
                name: l.definition.name.clone(),
                title: l.definition.title.clone(),
                source: source_nl(&l.source),
                version,
                waiting: false,
            }
        })
        .collect();
    // Published (here or by a partner) but not yet read: the sync thread reads the definitions
    // in force again as soon as a published definition changes, so these count in a moment.
    for p in &publications {
        let in_force = opened
            .registry
            .latest(&p.name)
            .is_some_and(|l| l.definition.version.to_string() == p.version);
        let listed = definitions
            .iter()
            .any(|d| d.name == p.name && d.version == p.version);
        if in_force || listed {
            continue;
        }
        let title = definition::check(&p.name, &p.body)
            .definition
            .map_or_else(|| p.name.clone(), |d| d.title);
        definitions.push(DefinitionRow {
            name: p.name.clone(),
            version: p.version.clone(),
            title,
            source: format!("gepubliceerd door {}", p.org),
            published: true,
            waiting: true,
        });
    }
    Ok(PartnershipPage {
        chrome: Chrome::new(opened, session, "samenwerking", "Samenwerking"),
        workspace,
        coordinator,
        members,
        pending,
        invites,
        definitions,
        invite,
        message,
        error,
        upload: UploadResult::default(),
        upload_limit_mib: DEFINITION_LIMIT / (1024 * 1024),
    })
}

/// The joiners waiting for confirmation, with the names they boxed for this organisation.
fn pending_rows(opened: &Opened, set: &MemberSet) -> Result<Vec<PendingRow>, AppError> {
    let identity = opened.replica.identity();
    let signing = identity.signing_key().map_err(AppError::internal)?;
    let own = (
        OrgKey::of(&signing),
        identity.profile.name.as_str(),
        identity.profile.org_type,
    );
    Ok(
        PendingView::all(set, &ExchangeSecret::derive(&signing), own)
            .into_iter()
            .map(|p| PendingRow {
                name: p
                    .names
                    .map_or_else(|| format!("organisatie {}", p.org_id), |(name, _)| name),
                org_id: p.org_id,
                role: role_nl(p.role),
                since: moment(p.at),
                fingerprint: p.fingerprint,
            })
            .collect(),
    )
}

/// `GET /samenwerking`.
pub async fn page(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Query(done): Query<DoneQuery>,
) -> Result<Response, AppError> {
    state
        .with(move |opened| {
            let message = match done.gedaan.as_str() {
                "ingetrokken" => "De uitnodiging is ingetrokken; wie de code nog heeft, kan er niet meer mee aansluiten.",
                "verwijderd" => "Het lid is verwijderd. De andere leden gebruiken vanaf nu een nieuwe sleutel.",
                "bevestigd" => "De aanmelding is bevestigd; de organisatie krijgt de sleutels bij haar volgende synchronisatie.",
                "geweigerd" => "De aanmelding is geweigerd; die organisatie krijgt geen sleutels en kan met deze sleutel niet meer aansluiten.",
                "gepubliceerd" => "De werkwijze is gepubliceerd; de partners krijgen haar bij hun volgende synchronisatie.",
                _ => "",
            };
            render(&partnership_page(
                opened,
                &session,
                None,
                message.into(),
                String::new(),
            )?)
        })
        .await
}

/// Refuses with 403 unless this organisation coordinates the partnership.
pub(super) async fn require_coordinator(state: &AppState) -> Result<(), AppError> {
    state
        .with(|opened| match members_of(opened)? {
            Some((_, true)) => Ok(()),
            Some((_, false)) => Err(AppError::Forbidden(ONLY_COORDINATORS.into())),
            None => Err(AppError::Refused(
                "Deze organisatie hoort nog niet bij een samenwerking.".into(),
            )),
        })
        .await
}

/// A sync machine's refusal as the page says it.
fn refusal(e: SyncError) -> AppError {
    match e {
        SyncError::NotCoordinator => AppError::Forbidden(ONLY_COORDINATORS.into()),
        SyncError::NoWorkspace => {
            AppError::Refused("Deze organisatie hoort nog niet bij een samenwerking.".into())
        }
        e @ (SyncError::UnknownMember(_)
        | SyncError::AmbiguousMember(_)
        | SyncError::Membership(_)
        | SyncError::Relay(_)) => AppError::Refused(capitalise(&e.to_string())),
        e => AppError::internal(e),
    }
}

/// Waits until the first relay confirmed this organisation's member-list changes, while one
/// is connected; whether it did.
async fn confirmed(state: &AppState) -> bool {
    let started = std::time::Instant::now();
    loop {
        let waiting = state
            .with_machine(|_, machine| Ok(machine.pending_operations()))
            .await;
        match waiting {
            Ok(0) => return true,
            Ok(_) if state.relays_seen().values().any(|r| r.connected) => {}
            _ => return false,
        }
        if started.elapsed() >= CONFIRM_PATIENCE {
            return false;
        }
        tokio::time::sleep(CONFIRM_POLL).await;
    }
}

fn members_changed(state: &AppState, org: String) {
    state.changed(LiveEvent {
        store: state.chosen_store(),
        doc: None,
        org,
    });
}

#[derive(serde::Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    rol: String,
    #[serde(default)]
    dagen: String,
    /// Present (as "ja") when the joiner must wait for a coordinator's confirmation.
    #[serde(default)]
    bevestigen: String,
}

/// `POST /samenwerking/uitnodigen`: makes an invite and shows its code once.
pub async fn invite(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Form(form): Form<InviteForm>,
) -> Result<Response, AppError> {
    require_coordinator(&state).await?;
    let role = match form.rol.as_str() {
        "partner" => Some(Role::Partner),
        "coordinator" => Some(Role::Coordinator),
        _ => None,
    };
    let days = form
        .dagen
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|d| (1..=MAX_INVITE_DAYS).contains(d));
    let (Some(role), Some(days)) = (role, days) else {
        let error = format!(
            "Kies een rol (partner of coördinator) en een geldigheid van 1 tot {MAX_INVITE_DAYS} dagen."
        );
        return state
            .with(move |opened| {
                let page = partnership_page(opened, &session, None, String::new(), error)?;
                Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
            })
            .await;
    };
    let expires = Timestamp(now().0.saturating_add(days * 86_400_000));
    let confirm = !form.bevestigen.is_empty();
    let code = state
        .with_machine(move |replica, machine| {
            if confirm {
                machine.invite_with_confirmation(replica, role, expires, now(), &mut OsEntropy)
            } else {
                machine.invite(replica, role, expires, now(), &mut OsEntropy)
            }
            .map_err(refusal)
        })
        .await?;
    let confirmed = confirmed(&state).await;
    members_changed(&state, String::new());
    let invite = NewInvite {
        code: code.encode(),
        role: role_nl(role),
        expires: moment(expires),
        confirmed,
        confirm,
    };
    state
        .with(move |opened| {
            render(&partnership_page(
                opened,
                &session,
                Some(invite),
                String::new(),
                String::new(),
            )?)
        })
        .await
}

#[derive(serde::Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    sleutel: String,
}

/// `POST /samenwerking/intrekken`: withdraws an open invite.
pub async fn revoke(
    State(state): State<AppState>,
    Form(form): Form<RevokeForm>,
) -> Result<Response, AppError> {
    require_coordinator(&state).await?;
    let key: OrgKey = form
        .sleutel
        .trim()
        .parse()
        .map_err(|_| AppError::NotFound("Deze uitnodiging bestaat niet (meer).".into()))?;
    state
        .with_machine(move |replica, machine| {
            let open = machine
                .members_with_pending()
                .set()
                .invites()
                .get(&key)
                .is_some_and(|i| i.state == InviteState::Open);
            if !open {
                return Err(AppError::Refused(
                    "Deze uitnodiging is al gebruikt of ingetrokken.".into(),
                ));
            }
            machine.revoke_invite(replica, key, now()).map_err(refusal)
        })
        .await?;
    confirmed(&state).await;
    members_changed(&state, String::new());
    Ok(Redirect::to("/samenwerking?gedaan=ingetrokken").into_response())
}

#[derive(serde::Deserialize)]
pub struct MemberQuery {
    #[serde(default)]
    lid: String,
}

#[derive(Template)]
#[template(path = "remove_member.html")]
struct RemovePage {
    chrome: Chrome,
    org_id: String,
    name: String,
    others: Vec<String>,
}

/// The member `org_id` names, refusing this organisation itself.
fn member_to_remove(opened: &Opened, org_id: &str) -> Result<(String, Vec<String>), AppError> {
    let Some((set, _)) = members_of(opened)? else {
        return Err(AppError::Refused(
            "Deze organisatie hoort nog niet bij een samenwerking.".into(),
        ));
    };
    let target = set
        .members()
        .find(|m| m.profile.key.org_id() == org_id)
        .ok_or_else(|| AppError::NotFound("Dit lid bestaat niet (meer).".into()))?;
    if org_id == opened.replica.identity().profile.org_id {
        return Err(AppError::Refused(
            "Een organisatie kan zichzelf niet verwijderen; vraag een andere coördinator.".into(),
        ));
    }
    let others = set
        .members()
        .filter(|m| m.profile.key.org_id() != org_id)
        .map(|m| m.profile.name.clone())
        .collect();
    Ok((target.profile.name.clone(), others))
}

/// `GET /samenwerking/verwijderen?lid=ORG`: what removing a member means, and the button.
pub async fn remove_page(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Query(query): Query<MemberQuery>,
) -> Result<Response, AppError> {
    require_coordinator(&state).await?;
    state
        .with(move |opened| {
            let (name, others) = member_to_remove(opened, &query.lid)?;
            render(&RemovePage {
                chrome: Chrome::new(
                    opened,
                    &session,
                    "samenwerking",
                    &format!("{name} verwijderen"),
                ),
                org_id: query.lid.clone(),
                name,
                others,
            })
        })
        .await
}

/// `POST /samenwerking/verwijderen`: removes the member and rotates the workspace key.
pub async fn remove(
    State(state): State<AppState>,
    Form(form): Form<MemberQuery>,
) -> Result<Response, AppError> {
    require_coordinator(&state).await?;
    let lid = form.lid.clone();
    let (name, _) = state
        .with(move |opened| member_to_remove(opened, &lid))
        .await?;
    let lid = form.lid;
    state
        .with_machine(move |replica, machine| {
            machine
                .remove(replica, &lid, now(), &mut OsEntropy)
                .map_err(refusal)
        })
        .await?;
    confirmed(&state).await;
    members_changed(&state, name);
    Ok(Redirect::to("/samenwerking?gedaan=verwijderd").into_response())
}

/// `POST /samenwerking/bevestigen`: confirms a waiting join, after the fingerprints matched.
pub async fn confirm(
    State(state): State<AppState>,
    Form(form): Form<MemberQuery>,
) -> Result<Response, AppError> {
    require_coordinator(&state).await?;
    let lid = form.lid;
    let name = state
        .with_machine(move |replica, machine| {
            machine
                .confirm_join(replica, &lid, now(), &mut OsEntropy)
                .map_err(refusal)
        })
        .await?
        .org_id;
    confirmed(&state).await;
    members_changed(&state, name);
    Ok(Redirect::to("/samenwerking?gedaan=bevestigd").into_response())
}

/// `POST /samenwerking/weigeren`: refuses a waiting join.
pub async fn refuse(
    State(state): State<AppState>,
    Form(form): Form<MemberQuery>,
) -> Result<Response, AppError> {
    require_coordinator(&state).await?;
    let lid = form.lid;
    let name = state
        .with_machine(move |replica, machine| {
            machine.refuse_join(replica, &lid, now()).map_err(refusal)
        })
        .await?
        .org_id;
    confirmed(&state).await;
    members_changed(&state, name);
    Ok(Redirect::to("/samenwerking?gedaan=geweigerd").into_response())
}

#[derive(serde::Deserialize)]
pub struct PublishForm {
    #[serde(default)]
    werkwijze: String,
}

/// `POST /samenwerking/publiceren`: publishes a definition in force to the partnership.
pub async fn publish(
    State(state): State<AppState>,
    Form(form): Form<PublishForm>,
) -> Result<Response, AppError> {
    require_coordinator(&state).await?;
    let name = form.werkwijze.clone();
    let loaded = state
        .with(move |opened| {
            opened.registry.latest(&name).cloned().ok_or_else(|| {
                AppError::NotFound(format!("Er is geen werkwijze {name} in gebruik."))
            })
        })
        .await?;
    publish_loaded(&state, loaded).await?;
    Ok(Redirect::to("/samenwerking?gedaan=gepubliceerd").into_response())
}

/// Publishes `loaded` to the partnership, as `kompas workflow publish` does.
pub(super) async fn publish_loaded(state: &AppState, loaded: Loaded) -> Result<(), AppError> {
    // Written by the sync's own thread, which then sends it at once.
    state
        .with_machine(move |replica, _| {
            published::publish::<SledStore>(replica, &loaded, now()).map_err(|e| {
                if e.is_input_error() {
                    AppError::Refused(capitalise(&e.to_string()))
                } else {
                    AppError::internal(e)
                }
            })
        })
        .await?;
    // The sync thread reads the definitions in force again, so the new one counts here at once.
    state.definitions_changed();
    members_changed(state, String::new());
    Ok(())
}
