//! `kompas whoami`: the organisation, its type, its public key (to hand to a relay operator), its
//! key fingerprint and its workspace (every samenwerking when the data directory has several and
//! none was chosen).

use kompas_engine::OrgProfile;
use kompas_engine::identity::hex;
use kompas_engine::sync::replication::{Machine, Mode};

use crate::args::Global;
use kompas_engine::composition;

use crate::context::{lock, open_locked};
use crate::output::emit;
use crate::partnerships::{self, Partnership};
use crate::workflows;

#[derive(serde::Serialize)]
struct WhoAmI {
    #[serde(flatten)]
    org: OrgProfile,
    /// The Ed25519 public key in hex, as a relay's `--allow-create` takes it.
    public_key: String,
    fingerprint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    workspace: Option<WorkspaceInfo>,
    /// Every samenwerking, when there are several and none was chosen.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    samenwerkingen: Vec<Partnership>,
}

#[derive(serde::Serialize)]
struct WorkspaceInfo {
    id: String,
    name: String,
    role: Option<String>,
    relays: Vec<String>,
}

pub fn run(global: &Global) -> anyhow::Result<()> {
    let data = lock(&global.data)?;
    let all = partnerships::list(&data)?;
    if global.samenwerking.is_none() && all.len() > 1 {
        let replica = composition::open(data.store(all[0].store)?)?;
        let identity = replica.identity();
        let who = WhoAmI {
            org: identity.profile.clone(),
            public_key: hex(identity.verifying_key()?.as_bytes()),
            fingerprint: identity.fingerprint()?,
            workspace: None,
            samenwerkingen: all,
        };
        return emit(global.json, &who, render);
    }
    let store = partnerships::choose(&data, global.samenwerking.as_deref())?;
    let opened = open_locked(data, store, workflows::folder(global).as_deref())?;
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
        samenwerkingen: Vec::new(),
    };
    emit(global.json, &who, render)
}

fn render(w: &WhoAmI) -> String {
    {
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
            None if w.samenwerkingen.is_empty() => {
                out.push_str("\nSamenwerking:        geen (kompas workspace create of join)")
            }
            None => {
                for p in &w.samenwerkingen {
                    out.push_str(&format!(
                        "\nSamenwerking:        {}{}",
                        p.label(),
                        p.role
                            .as_deref()
                            .map(|r| format!(", rol: {r}"))
                            .unwrap_or_default()
                    ));
                }
            }
        }
        out
    }
}
