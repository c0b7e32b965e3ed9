//! The samenwerkingen of a data directory: one store each (`DataDir::stores`), all with the same
//! organisation identity. Which one a command concerns (`--samenwerking NAAM`, a default when
//! there is one, a refusal listing the names when it is ambiguous), and the store a new or
//! joined samenwerking goes into.

use kompas_engine::store::DataDir;
use kompas_engine::sync::replication::{Machine, Mode};
use kompas_engine::{Replica, SledStore, composition};

use crate::exit::{self, Refused};

/// How a store that belongs to no samenwerking yet is named.
const NONE_YET: &str = "(nog geen samenwerking)";

/// One samenwerking of the data directory, as a listing shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Partnership {
    /// The number of its store in the data directory.
    #[serde(skip)]
    pub store: u32,
    /// The workspace id (hex), once the organisation created or joined one.
    #[serde(rename = "workspace")]
    pub id: Option<String>,
    /// Its name, once the organisation created or joined one.
    pub name: Option<String>,
    /// This organisation's role in it.
    pub role: Option<String>,
    /// Its relays.
    pub relays: Vec<String>,
    /// How many documents its store holds.
    pub documents: usize,
}

impl Partnership {
    /// How people read which samenwerking this is.
    pub fn label(&self) -> String {
        match (&self.name, &self.id) {
            (Some(name), _) => name.clone(),
            (None, Some(id)) => format!("samenwerking {id}"),
            (None, None) => NONE_YET.to_string(),
        }
    }

    /// Whether `wanted` names it: its name (upper or lower case alike) or the start of its id.
    fn is_named(&self, wanted: &str) -> bool {
        let wanted = wanted.trim().to_lowercase();
        self.name
            .as_deref()
            .is_some_and(|n| n.trim().to_lowercase() == wanted)
            || self
                .id
                .as_deref()
                .is_some_and(|id| wanted.len() >= 4 && id.starts_with(&wanted))
    }

    /// A store that belongs to no samenwerking and holds nothing: no choice at all.
    fn is_blank(&self) -> bool {
        self.id.is_none() && self.documents == 0
    }
}

/// How people read which samenwerking `replica` holds: its name from the member list, without
/// reading its documents.
pub fn label_of(replica: &Replica<SledStore>) -> String {
    match kompas_engine::sync::replication::known_members(replica.store()) {
        Ok(Some(set)) => set.name().to_string(),
        _ => NONE_YET.to_string(),
    }
}

/// What one store holds, read from its replica.
fn describe(store: u32, replica: &Replica<SledStore>) -> anyhow::Result<Partnership> {
    let documents = kompas_engine::Store::ids(replica.store())?.len();
    let described = match Machine::load(replica, Mode::Once)? {
        Some(machine) => {
            let set = machine.members_with_pending().set();
            Partnership {
                store,
                id: Some(machine.workspace().to_string()),
                name: Some(set.name().to_string()),
                role: set
                    .role_of(&machine.me())
                    .map(|r| crate::commands::workspace::role_nl(r).to_string()),
                relays: machine.state().relays.clone(),
                documents,
            }
        }
        None => Partnership {
            store,
            id: None,
            name: None,
            role: None,
            relays: Vec::new(),
            documents,
        },
    };
    Ok(described)
}

/// Every samenwerking of the data directory, in the order they were added.
pub fn list(data: &DataDir) -> anyhow::Result<Vec<Partnership>> {
    let mut all = Vec::new();
    for store in data.stores()? {
        let replica = composition::open(data.store(store)?)?;
        all.push(describe(store, &replica)?);
    }
    Ok(all)
}

/// The names as a refusal lists them.
fn names(all: &[&Partnership]) -> String {
    all.iter().map(|p| p.label()).collect::<Vec<_>>().join(", ")
}

/// The store of the samenwerking a command concerns: the one `wanted` names, or without a name
/// the only one there is.
pub fn choose(data: &DataDir, wanted: Option<&str>) -> anyhow::Result<u32> {
    let stores = data.stores()?;
    if wanted.is_none()
        && let [only] = stores.as_slice()
    {
        return Ok(*only);
    }
    let all = list(data)?;
    let candidates: Vec<&Partnership> = all.iter().filter(|p| !p.is_blank()).collect();
    match wanted {
        Some(wanted) => {
            let named: Vec<&Partnership> = all.iter().filter(|p| p.is_named(wanted)).collect();
            match named.as_slice() {
                [one] => Ok(one.store),
                [] => Err(Refused {
                    message: format!(
                        "deze kompas-map heeft geen samenwerking {wanted:?}; wel: {}",
                        names(&candidates)
                    ),
                    code: exit::NOT_FOUND,
                }
                .into()),
                several => Err(Refused::input(format!(
                    "meer samenwerkingen heten {wanted:?}; kies er een met het begin van het id: {}",
                    several
                        .iter()
                        .map(|p| format!("{} ({})", p.label(), p.id.as_deref().unwrap_or("")))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))),
            }
        }
        None => match candidates.as_slice() {
            [one] => Ok(one.store),
            [] => Ok(stores.first().copied().unwrap_or(1)),
            several => Err(Refused::input(format!(
                "deze kompas-map hoort bij {} samenwerkingen ({}); kies er een met --samenwerking NAAM (of KOMPAS_SAMENWERKING=NAAM)",
                several.len(),
                names(several)
            ))),
        },
    }
}

/// The store a samenwerking this organisation creates or joins goes into: the one that belongs
/// to none yet (where the documents made before it wait), or a new one with the organisation's
/// identity. The flag says whether it is new, so a failed attempt can remove it again.
pub fn store_for_new(data: &DataDir) -> anyhow::Result<(u32, bool)> {
    let all = list(data)?;
    if let Some(free) = all.iter().find(|p| p.id.is_none()) {
        return Ok((free.store, false));
    }
    let Some(first) = all.first() else {
        return Err(kompas_engine::ReplicaError::NotInitialised.into());
    };
    let identity = composition::open(data.store(first.store)?)?
        .identity()
        .clone();
    let (store, _) = composition::init_in(data, identity)?;
    Ok((store, true))
}

/// Refuses a samenwerking this directory already has: the same workspace, or (for a new one)
/// one of the same name, since names are how people choose one.
pub fn refuse_duplicate(
    data: &DataDir,
    id: Option<&str>,
    name: Option<&str>,
) -> anyhow::Result<()> {
    for p in list(data)? {
        if id.is_some() && p.id.as_deref() == id {
            return Err(Refused::input(format!(
                "deze organisatie is al lid van {} (in deze kompas-map)",
                p.label()
            )));
        }
        if name.is_some_and(|name| p.is_named(name)) && p.name.is_some() {
            return Err(Refused::input(format!(
                "deze kompas-map heeft al een samenwerking {}; kies een andere naam",
                p.label()
            )));
        }
    }
    Ok(())
}
