//! `kompas init`: creates the data directory, the organisation's identity and its key pair.

use kompas_engine::OrgProfile;
use kompas_engine::identity::Identity;
use kompas_engine::store::DataDir;

use crate::args::{Global, InitArgs};
use crate::context::random;
use crate::exit::Refused;
use crate::output::emit;

#[derive(serde::Serialize)]
struct Initialised {
    data: String,
    #[serde(flatten)]
    org: OrgProfile,
    fingerprint: String,
}

pub fn run(global: &Global, args: InitArgs) -> anyhow::Result<()> {
    let name = args.org.trim();
    if name.is_empty() {
        return Err(Refused::input(
            "de naam van de organisatie mag niet leeg zijn",
        ));
    }
    let org_type = args.org_type.parse()?;
    let dir = DataDir::create(&global.data)?;
    let identity = Identity::new(name, org_type, random(), random());
    let result = Initialised {
        data: global.data.display().to_string(),
        org: identity.profile.clone(),
        fingerprint: identity.fingerprint()?,
    };
    // The first store: where the documents wait for the samenwerking this organisation
    // creates or joins first.
    kompas_engine::composition::init_in(&dir, identity)?;
    emit(global.json, &result, |r| {
        format!(
            "Kompas-map {} ingericht voor {} ({}).\nSleutelvingerafdruk: {}\nVolgende stap: kompas doc new ambitie --set titel=\"...\"",
            r.data, r.org.name, r.org.org_type, r.fingerprint
        )
    })
}
