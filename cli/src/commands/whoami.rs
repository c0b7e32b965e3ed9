//! `kompas whoami`: the organisation, its type, its public key (to hand to a relay operator), its
//! key fingerprint and its workspace.

use kompas_engine::OrgProfile;
use kompas_engine::identity::hex;
use kompas_engine::sync::replication::{Machine, Mode};

use crate::args::Global;
use crate::context::open_global;
use crate::output::emit;

#[derive(serde::Serialize)]
struct WhoAmI {
    #[serde(flatten)]
    org: OrgProfile,
    /// The Ed25519 public key in hex, as a relay's `--allow-create` takes it.
    public_key: String,
    fingerprint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    workspace: Option<WorkspaceInfo>,
}

#[derive(serde::Serialize)]
struct WorkspaceInfo {
    id: String,
    name: String,
    role: Option<String>,
    relays: Vec<String>,
}

pub fn run(global: &Global) -> anyhow::Result<()> {
    let opened = open_global(global)?;
    let replica = &opened.replica;
    let identity = replica.identity();
    let workspace = Machine::load(replica, Mode::Once)?.map(|m| {
        let tip = m.members_with_pending().set();
        WorkspaceInfo {
            id: m.workspace().to_string(),
            name: tip.name().to_string(),
            role: tip
                .role_of(&m.me())
                .map(|r| super::workspace::role_nl(r).to_string()),
            relays: m.state().relays.clone(),
        }
    });
    let who = WhoAmI {
        org: identity.profile.clone(),
        public_key: hex(identity.verifying_key()?.as_bytes()),
        fingerprint: identity.fingerprint()?,
        workspace,
    };
    emit(global.json, &who, |w| {
        let mut out = format!(
            "{} ({})\nOrganisatie-id:      {}\nPublieke sleutel:    {}\nSleutelvingerafdruk: {}",
            w.org.name, w.org.org_type, w.org.org_id, w.public_key, w.fingerprint
        );
        match &w.workspace {
            Some(ws) => out.push_str(&format!(
                "\nSamenwerking:        {} ({}), rol: {}\nRelays:              {}",
                ws.name,
                ws.id,
                ws.role.as_deref().unwrap_or("nog geen lid"),
                ws.relays.join(", ")
            )),
            None => out.push_str("\nSamenwerking:        geen (kompas workspace create of join)"),
        }
        out
    })
}
