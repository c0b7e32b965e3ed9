//! `kompas demo`: builds a small, realistic partnership in fresh data directories and shows it.
//!
//! A relay runs inside the process on a loopback port. Three organisations each get their own
//! replica: the municipality creates the workspace and invites the school partnership and the youth
//! care provider, who join with the invite codes. They edit the same documents concurrently and
//! sync through the relay (sealed, signed bundles), so every replica ends up with the same content,
//! the same heads and a history that names each author.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use std::time::Duration;

use anyhow::Context as _;
use kompas_engine::definition::Registry;
use kompas_engine::identity::Identity;
use kompas_engine::published;
use kompas_engine::runtime::{Flows, Fresh, INSTANCE_KIND};
use kompas_engine::store::DataDir;
use kompas_engine::sync::membership::Role;
use kompas_engine::sync::replication::{Machine, Mode, SyncError};
use kompas_engine::{DocId, OrgType, Replica, SledStore, Timestamp};
use kompas_relay::{RelayConfig, RelayState};

use super::doc::{create, parse_assignments};
use super::sync::drive;
use crate::args::{DemoArgs, Global};
use crate::context::{now, random};
use crate::driver::OsEntropy;
use crate::exit::Refused;
use crate::output::emit;

const DEMO_MARKER: &str = "kompas-demo.json";

struct Org {
    replica: Replica<SledStore>,
    dir: PathBuf,
    _lock: DataDir,
}

impl Org {
    fn new(root: &Path, slug: &str, name: &str, org_type: OrgType) -> anyhow::Result<Org> {
        let dir = root.join(slug);
        let lock = DataDir::create(&dir)?;
        let (_, replica) = kompas_engine::composition::init_in(
            &lock,
            Identity::new(name, org_type, random(), random()),
        )?;
        Ok(Org {
            replica,
            dir,
            _lock: lock,
        })
    }

    fn new_doc(&self, kind: &str, fields: &[&str]) -> anyhow::Result<DocId> {
        let raw: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
        create(&self.replica, kind, &parse_assignments(&raw)?)
    }

    fn set(&self, id: &DocId, fields: &[&str]) -> anyhow::Result<()> {
        let raw: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
        self.replica.update(id, &parse_assignments(&raw)?, now())?;
        Ok(())
    }

    fn flows<'a>(&'a self, registry: &'a Registry) -> Flows<'a, SledStore> {
        Flows::new(&self.replica, registry)
    }

    /// Syncs once with the workspace's relays.
    fn sync(&self) -> anyhow::Result<()> {
        let mut machine =
            Machine::load(&self.replica, Mode::Once)?.ok_or(SyncError::NoWorkspace)?;
        let summary = drive(&self.replica, &mut machine, Some(SYNC_LIMIT), false)?;
        if !summary.complete() {
            anyhow::bail!(
                "{} kon niet synchroniseren met de demo-relay",
                self.replica.identity().profile.name
            );
        }
        Ok(())
    }

    /// Invites `other`, which joins with the code.
    fn invite(&self, other: &Org) -> anyhow::Result<()> {
        let mut machine =
            Machine::load(&self.replica, Mode::Once)?.ok_or(SyncError::NoWorkspace)?;
        let expires = Timestamp(now().0 + 7 * 24 * 3600 * 1000);
        let code = machine.invite(&self.replica, Role::Partner, expires, now(), &mut OsEntropy)?;
        self.sync()?;
        Machine::join(&other.replica, &code)?;
        other.sync()
    }
}

/// How long one demo sync may take.
const SYNC_LIMIT: Duration = Duration::from_secs(30);

/// A relay inside this process, on a loopback port, storing its data under the demo directory.
struct EmbeddedRelay {
    runtime: tokio::runtime::Runtime,
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl EmbeddedRelay {
    fn start(data: PathBuf) -> anyhow::Result<EmbeddedRelay> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        let state = RelayState::open(RelayConfig::new(data), random())
            .context("kan de demo-relay niet openen")?;
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .context("kan de demo-relay niet laten luisteren")?;
        let url = format!("ws://{}", listener.local_addr()?);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = runtime.spawn(kompas_relay::server::serve(listener, state, async move {
            let _ = stopped.await;
        }));
        Ok(EmbeddedRelay {
            runtime,
            url,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Stops the relay gracefully.
    fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            self.runtime
                .block_on(task)
                .context("de demo-relay stopte niet netjes")??;
        }
        Ok(())
    }
}

/// Syncs every organisation, round after round, until all replicas list the same documents.
fn sync_until_converged(orgs: &[&Org]) -> anyhow::Result<bool> {
    for _ in 0..4 {
        for org in orgs {
            org.sync()?;
        }
        // Workflow instances count too: a partner's approval lives in the instance document.
        let views: Vec<_> = orgs
            .iter()
            .map(|o| {
                let mut all = o.replica.list(None, true)?;
                all.extend(o.replica.list(Some(INSTANCE_KIND), true)?);
                Ok::<_, kompas_engine::ReplicaError>(all)
            })
            .collect::<Result<_, _>>()?;
        if views.windows(2).all(|w| w[0] == w[1]) {
            return Ok(true);
        }
    }
    Ok(false)
}

#[derive(serde::Serialize)]
struct DemoReport {
    dir: String,
    relay: String,
    organisations: Vec<DemoOrg>,
    documents: usize,
    converged: bool,
    shared_ambition: String,
    published_definition: String,
    definition_everywhere: bool,
    figures: super::figures::demo::DemoFigures,
    flow: String,
    flow_phase: String,
    flow_history: Vec<String>,
}

#[derive(serde::Serialize)]
struct DemoOrg {
    name: String,
    data: String,
    documents: usize,
}

pub fn run(global: &Global, args: DemoArgs) -> anyhow::Result<()> {
    let root = prepare(&args.dir)?;
    let gemeente = Org::new(&root, "gemeente", "Gemeente Havenstad", OrgType::Gemeente)?;
    let swv = Org::new(
        &root,
        "samenwerkingsverband",
        "Samenwerkingsverband PO Havenstad",
        OrgType::Samenwerkingsverband,
    )?;
    let aanbieder = Org::new(&root, "aanbieder", "Jeugdhulp De Vaart", OrgType::Aanbieder)?;
    let orgs = [&gemeente, &swv, &aanbieder];
    let relay = EmbeddedRelay::start(root.join("relay"))?;
    let mut machine = Machine::create(
        &gemeente.replica,
        "Samen voor de jeugd van Havenstad",
        vec![relay.url.clone()],
        now(),
        &mut OsEntropy,
    )?;
    drive(&gemeente.replica, &mut machine, Some(SYNC_LIMIT), false)?;

    let samenwerking = gemeente.new_doc(
        "samenwerking",
        &[
            "naam=Samen voor de jeugd van Havenstad",
            "partners=Gemeente Havenstad: regie en inkoop jeugdhulp.\nSamenwerkingsverband: passend onderwijs voor elk kind.\nJeugdhulp De Vaart: hulp dichtbij huis en school.\nDe jongerenraad en de ouderraad zitten vast aan tafel.",
            "mandaat=Elke partner stuurt iemand die namens de eigen organisatie afspraken kan maken.",
        ],
    )?;
    let ambitie = gemeente.new_doc(
        "ambitie",
        &[
            "titel=Meer kinderen gaan met plezier en zonder onderbreking naar school",
            "toelichting=We willen dat minder kinderen thuis zitten en dat meer kinderen een passende plek op school hebben.",
            "onderbouwing=Leerkrachten zien meer kinderen met zorgen thuis; het aantal thuiszitters is de laatste jaren niet gedaald.",
        ],
    )?;
    let ambitie_gezond = gemeente.new_doc(
        "ambitie",
        &["titel=Meer jongeren groeien veilig en gezond op", "toelichting=Minder zorgen over veiligheid thuis, meer jongeren die goed in hun vel zitten.", "onderbouwing=Jongeren noemen prestatiedruk; we weten nog weinig over hoe veilig ze zich thuis voelen."],
    )?;
    // The municipality reads in (synthetic) figures; the provider puts a persona beside them.
    // The societal result below is measured by one of these indicators, in its unit.
    let figures = super::figures::demo::seed(&gemeente.replica, &aanbieder.replica)?;
    let out_of_school = super::figures::demo::OUT_OF_SCHOOL_INDICATOR;
    let resultaat = gemeente.new_doc(
        "maatschappelijk-resultaat",
        &[
            "titel=Minder thuiszitters",
            &format!("ambitie={ambitie}"),
            &format!("indicator={out_of_school}"),
            // Per 1,000 pupils: 6.5 in 2021, the year the partnership started measuring.
            "nulmeting=6,5",
            "streefwaarde=4",
            "streefdatum=2030-07-31",
        ],
    )?;
    gemeente.invite(&swv)?;
    gemeente.invite(&aanbieder)?;

    // Concurrently, without syncing in between: the school partnership sharpens the ambition,
    // the provider adds its activity and the municipality records an evaluation.
    swv.set(
        &ambitie,
        &["toelichting=We willen dat minder kinderen thuis zitten en dat meer kinderen een passende plek op school hebben. Scholen en jeugdhulp signaleren samen en vroeg."],
    )?;
    let activiteit = aanbieder.new_doc(
        "activiteit",
        &[
            "titel=Jeugdhulp op school",
            "uitvoerder=Jeugdhulp De Vaart",
            &format!("resultaat={resultaat}"),
            "beschrijving=Een jeugdhulpverlener heeft vaste uren op de basisschool, zodat leerkrachten en ouders snel terechtkunnen.",
            "bereik=140",
        ],
    )?;
    let evaluatie = gemeente.new_doc(
        "evaluatie",
        &[
            "titel=Evaluatie najaar 2026",
            "datum=2026-11-20",
            "bevindingen=Het aantal thuiszitters daalt licht: van 6,5 naar 5,8 per 1.000 leerlingen sinds 2021, nog ver van de 4 die we willen halen. Scholen herkennen het beeld; de wachttijd voor hulp blijft een zorg.",
            r#"verbeteracties=[{"actie":"Wachttijden per aanbieder elk kwartaal delen","eigenaar":"Jeugdhulp De Vaart","deadline":"2027-03-31"}]"#,
        ],
    )?;

    // As coordinator, the municipality publishes the way of working the partnership will follow,
    // so every partner has exactly the same text, whatever version its own kompas has built in.
    let way = kompas_engine::composition::builtin()
        .latest("kwaliteitskompas")
        .context("de ingebouwde werkwijze kwaliteitskompas ontbreekt")?;
    published::publish(&gemeente.replica, way, now())?;

    // Everyone syncs through the relay; the copies merge.
    let documents_converged = sync_until_converged(&orgs)?;
    for id in figures.documents.iter().chain([&figures.persona]) {
        for org in &orgs {
            org.replica
                .get(id)
                .context("de cijfers kwamen niet bij elke organisatie aan")?;
        }
    }

    let mut definition_everywhere = true;
    for org in &orgs {
        let counted = crate::workflows::published_in(&org.replica)?;
        definition_everywhere &= counted.loaded.iter().any(|l| l.hash == way.hash);
    }

    // The municipality starts the Kwaliteitskompas; the partners approve the shared ambitions.
    let (registry, _) = crate::workflows::load(&gemeente.replica, None)?;
    let g = gemeente.flows(&registry);
    // The instance works on its own documents: those it starts with and those linked later.
    let flow = g.start(
        "kwaliteitskompas",
        Some("Kwaliteitskompas Havenstad 2027"),
        &[
            samenwerking,
            ambitie.clone(),
            ambitie_gezond,
            resultaat,
            activiteit,
            evaluatie,
        ],
        now(),
        Fresh {
            doc: random(),
            fact: random(),
        },
    )?;
    g.advance(&flow, None, now(), random())?;
    // The state of the youth lists the latest figures the municipality read in.
    let key_figures: Vec<serde_json::Value> = figures
        .latest
        .iter()
        .map(|f| {
            serde_json::json!({
                "indicator": f.indicator,
                "waarde": f.value,
                "periode": f.period,
                "bron": f.source,
            })
        })
        .collect();
    let staat = gemeente.new_doc(
        "staat-van-de-jeugd",
        &[
            "titel=Staat van de jeugd in Havenstad 2027",
            "peildatum=2027-01-01",
            &format!("cijfers={}", serde_json::to_string(&key_figures)?),
            "signalen=Leerkrachten zien meer kinderen met zorgen thuis; jongeren noemen prestatiedruk.",
        ],
    )?;
    g.link(&flow, &staat, now(), random())?;
    g.advance(&flow, None, now(), random())?;
    sync_until_converged(&orgs)?;
    for partner in [&swv, &aanbieder] {
        partner
            .flows(&registry)
            .verdict(&flow, true, "", now(), [random(), random()])?;
    }
    sync_until_converged(&orgs)?;
    g.verdict(&flow, true, "", now(), [random(), random()])?;
    let status = g.advance(&flow, None, now(), random())?;
    let flow_synced = sync_until_converged(&orgs)?;
    let relay_url = relay.url.clone();
    relay.stop()?;
    let states: Vec<_> = orgs
        .iter()
        .map(|o| o.flows(&registry).status(&flow, status.state.entered))
        .collect::<Result<_, _>>()?;
    let flow_converged = states.windows(2).all(|w| w[0].state == w[1].state);

    let views: Vec<_> = orgs
        .iter()
        .map(|o| o.replica.list(None, false))
        .collect::<Result<_, _>>()?;
    let converged = views.windows(2).all(|w| w[0] == w[1])
        && flow_converged
        && documents_converged
        && definition_everywhere
        && flow_synced;
    let report = DemoReport {
        dir: root.display().to_string(),
        relay: relay_url,
        organisations: orgs
            .iter()
            .zip(&views)
            .map(|(o, v)| DemoOrg {
                name: o.replica.identity().profile.name.clone(),
                data: o.dir.display().to_string(),
                documents: v.len(),
            })
            .collect(),
        documents: views.first().map_or(0, Vec::len),
        converged,
        shared_ambition: ambitie.to_string(),
        published_definition: format!("{} {}", way.definition.name, way.definition.version),
        definition_everywhere,
        figures,
        flow: flow.to_string(),
        flow_phase: status.state.phase_title.clone(),
        flow_history: status
            .state
            .history
            .iter()
            .map(|h| {
                format!(
                    "van ‘{}’ naar ‘{}’ ({})",
                    h.from_title,
                    h.to_title,
                    h.by.join(", ")
                )
            })
            .collect(),
    };
    emit(global.json, &report, render)?;
    if !converged {
        anyhow::bail!("de drie kopieën zijn niet gelijk geworden; dit is een fout in kompas");
    }
    Ok(())
}

/// Makes `dir` an empty demo directory, replacing an earlier demo but nothing else.
fn prepare(dir: &Path) -> anyhow::Result<PathBuf> {
    if dir.exists() {
        let is_demo = dir.join(DEMO_MARKER).exists();
        let empty = fs::read_dir(dir)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !is_demo && !empty {
            return Err(Refused::input(format!(
                "{} bestaat al en is geen eerdere demo; kies een andere map met --dir",
                dir.display()
            )));
        }
        if is_demo {
            fs::remove_dir_all(dir)
                .with_context(|| format!("kan de oude demo in {} niet opruimen", dir.display()))?;
        }
    }
    fs::create_dir_all(dir).with_context(|| format!("kan {} niet maken", dir.display()))?;
    fs::write(dir.join(DEMO_MARKER), b"{\"kompas\":\"demo\"}\n")
        .with_context(|| format!("kan {} niet schrijven", dir.display()))?;
    Ok(dir.to_path_buf())
}

fn render(r: &DemoReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Voorbeeldsamenwerking gemaakt in {}\n", r.dir);
    for o in &r.organisations {
        let _ = writeln!(
            out,
            "  {:<36} {} documenten  ({})",
            o.name, o.documents, o.data
        );
    }
    let _ = writeln!(
        out,
        "\nDrie organisaties schreven tegelijk aan dezelfde documenten en wisselden hun wijzigingen uit\nvia een relay op {} (versleuteld en ondertekend: de relay kan niets lezen).\nAlle kopieën zijn {}.",
        r.relay,
        if r.converged { "gelijk" } else { "NIET gelijk" }
    );
    let first = r
        .organisations
        .first()
        .map_or(String::new(), |o| o.data.clone());
    let _ = writeln!(
        out,
        "\nDe gemeente publiceerde de werkwijze {} in de samenwerking; {}.",
        r.published_definition,
        if r.definition_everywhere {
            "alle partners hebben haar"
        } else {
            "NIET alle partners hebben haar"
        }
    );
    let _ = writeln!(
        out,
        "De gemeente startte het Kwaliteitskompas; de drie partners stemden in met de ambities."
    );
    for h in &r.flow_history {
        let _ = writeln!(out, "  {h}");
    }
    let _ = writeln!(out, "De werkstroom staat nu in fase ‘{}’.", r.flow_phase);
    let _ = writeln!(out, "\nKijk zelf:");
    let _ = writeln!(out, "  kompas --data {first} doc list");
    let _ = writeln!(
        out,
        "  kompas --data {first} doc show {}",
        r.shared_ambition
    );
    let _ = writeln!(
        out,
        "  kompas --data {first} doc history {}",
        r.shared_ambition
    );
    let f = &r.figures;
    let _ = writeln!(
        out,
        "\nCijfers (synthetisch): {} waarnemingen bij indicator {}; persona Noor staat ernaast voor {} meisjes met jeugdhulp in Havenstad.",
        f.observations, f.indicator, f.young_people_like_her
    );
    let (ind, area) = (&f.indicator, super::figures::demo::AREA);
    let _ = writeln!(
        out,
        "  kompas --data {first} figures show {ind} --area {area}"
    );
    let _ = writeln!(
        out,
        "  kompas --data {first} figures compare {ind} --area {area} --with national,region,peers"
    );
    let _ = writeln!(
        out,
        "  kompas --data {first} figures chart {ind} --area {area} --with national,region,peers --out jeugdhulp.svg"
    );
    let _ = writeln!(
        out,
        "  kompas --data {first} figures show {} --area {area}    # het maatschappelijk resultaat: minder thuiszitters",
        super::figures::demo::OUT_OF_SCHOOL_INDICATOR
    );
    let _ = writeln!(
        out,
        "  kompas --data {first} doc list --kind staat-van-de-jeugd"
    );
    let _ = writeln!(out, "  kompas --data {first} flow status {}", r.flow);
    let _ = writeln!(out, "  kompas --data {first} flow todo");
    if let Some(partner) = r.organisations.get(1) {
        let _ = writeln!(out, "  kompas --data {} workflow list", partner.data);
    }
    let _ = writeln!(
        out,
        "Werk verder in de webapp (in je browser, alleen op deze computer):\n  kompas serve --data {first}"
    );
    out
}
