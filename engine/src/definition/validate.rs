//! Meaning checks: turns the syntax into the model, reporting every problem with its place.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde_saphyr::Spanned;

use super::cron::CronRule;
use super::diagnostic::{Position, Sink};
use super::model::{
    Approval, ConflictRule, DEFAULT_TIME_ZONE, Definition, Guard, Phase, Recurrence, Role,
    Schedule, Task, Transition,
};
use super::period::Period;
use super::raw::{
    RawActionFields, RawDefinition, RawField, RawGuard, RawKind, RawPhase, RawSchedule,
};
use crate::catalog::{ActionFields, ActionSource, FieldDef, FieldType, KindDef};
use crate::identity::OrgType;

/// The roles a definition has when it declares none.
const DEFAULT_ROLES: [(&str, &str); 2] = [
    (
        "coordinator",
        "Zet de samenwerking op gang en bewaakt de voortgang.",
    ),
    (
        "partner",
        "Werkt mee en stemt in namens de eigen organisatie.",
    ),
];

fn at<T>(s: &Spanned<T>) -> Position {
    s.referenced.into()
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

fn is_field_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(['-', '_'])
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn list(names: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    let v: Vec<String> = names.into_iter().map(|s| s.as_ref().to_string()).collect();
    if v.is_empty() {
        "(geen)".into()
    } else {
        v.join(", ")
    }
}

/// Checks `raw` and builds the model; `None` if there is any error (all are in `sink`).
pub(crate) fn validate(raw: &RawDefinition, sink: &mut Sink) -> Option<Definition> {
    let mut v = Validator { sink };
    let name = v.name(&raw.naam, "de werkwijze");
    let version = match semver::Version::parse(raw.versie.value.trim()) {
        Ok(ver) => Some(ver),
        Err(_) => {
            v.sink.error(
                at(&raw.versie),
                format!("{:?} is geen geldige versie", raw.versie.value),
                "schrijf drie getallen met punten, zoals 1.0.0 (semver)",
            );
            None
        }
    };
    let time_zone = match &raw.tijdzone {
        None => DEFAULT_TIME_ZONE.to_string(),
        Some(tz) => {
            if jiff::tz::TimeZone::get(tz.value.trim()).is_err() {
                v.sink.error(
                    at(tz),
                    format!("onbekende tijdzone {:?}", tz.value),
                    "gebruik een IANA-naam, zoals Europe/Amsterdam",
                );
            }
            tz.value.trim().to_string()
        }
    };
    let roles = v.roles(raw);
    let role_names: BTreeSet<String> = roles.iter().map(|r| r.name.clone()).collect();
    let kinds = v.kinds(&raw.soorten);
    let kind_map: BTreeMap<&str, &KindDef> = kinds.iter().map(|k| (k.name.as_str(), k)).collect();
    let phase_names = v.phase_names(&raw.fasen);
    let phases: Vec<Phase> = raw
        .fasen
        .iter()
        .map(|p| v.phase(p, &kind_map, &role_names, &phase_names))
        .collect();
    let start = v.start(raw, &phase_names);
    if let Some(start) = &start {
        v.reachability(raw, start);
    }
    let schedules = v.schedules(&raw.planning, &phase_names);
    let conflicts = v.conflicts(raw, &phase_names);
    if v.sink.has_errors() {
        return None;
    }
    Some(Definition {
        name: name?,
        version: version?,
        title: raw.titel.clone(),
        description: raw.beschrijving.clone(),
        time_zone,
        roles,
        kinds,
        phases,
        start: start?,
        schedules,
        conflicts,
    })
}

struct Validator<'s> {
    sink: &'s mut Sink,
}

impl Validator<'_> {
    fn name(&mut self, name: &Spanned<String>, what: &str) -> Option<String> {
        if is_name(&name.value) {
            Some(name.value.clone())
        } else {
            self.sink.error(
                at(name),
                format!("{:?} is geen geldige naam voor {what}", name.value),
                "gebruik kleine letters, cijfers en streepjes, zoals samen-leren",
            );
            None
        }
    }

    /// Reports names that occur twice, pointing at the second one.
    fn unique<'a>(&mut self, names: impl IntoIterator<Item = &'a Spanned<String>>, what: &str) {
        let mut seen: BTreeMap<&str, Position> = BTreeMap::new();
        for n in names {
            if let Some(first) = seen.get(n.value.as_str()) {
                self.sink.error(
                    at(n),
                    format!("{what} {:?} bestaat al", n.value),
                    format!(
                        "de eerste staat op regel {}; geef ze elk een eigen naam",
                        first.line
                    ),
                );
            } else {
                seen.insert(&n.value, at(n));
            }
        }
    }

    fn roles(&mut self, raw: &RawDefinition) -> Vec<Role> {
        if raw.rollen.is_empty() {
            return DEFAULT_ROLES
                .iter()
                .map(|(n, d)| Role {
                    name: (*n).into(),
                    description: (*d).into(),
                    org_types: Vec::new(),
                })
                .collect();
        }
        self.unique(raw.rollen.iter().map(|r| &r.naam), "rol");
        raw.rollen
            .iter()
            .map(|r| {
                self.name(&r.naam, "een rol");
                let org_types = r
                    .organisaties
                    .iter()
                    .filter_map(|t| match t.value.parse::<OrgType>() {
                        Ok(t) => Some(t),
                        Err(_) => {
                            self.sink.error(
                                at(t),
                                format!("onbekend organisatietype {:?}", t.value),
                                format!(
                                    "kies uit {}",
                                    list(OrgType::ALL.iter().map(|t| t.as_str()))
                                ),
                            );
                            None
                        }
                    })
                    .collect();
                Role {
                    name: r.naam.value.clone(),
                    description: r.omschrijving.clone(),
                    org_types,
                }
            })
            .collect()
    }

    fn kinds(&mut self, raw: &[RawKind]) -> Vec<KindDef> {
        self.unique(raw.iter().map(|k| &k.naam), "documentsoort");
        let names: BTreeSet<&str> = raw.iter().map(|k| k.naam.value.as_str()).collect();
        raw.iter()
            .map(|k| {
                self.name(&k.naam, "een documentsoort");
                // A definition that declared a kind the engine owns would lose its fields to
                // the engine's, or its documents to the engine's rules.
                if crate::kinds::is_engine_owned(&k.naam.value) {
                    self.sink.error(
                        at(&k.naam),
                        format!("de soortnaam {:?} is voorbehouden aan kompas", k.naam.value),
                        "kies een andere naam",
                    );
                }
                if k.velden.is_empty() {
                    self.sink.error(
                        at(&k.naam),
                        format!("documentsoort {} heeft geen velden", k.naam.value),
                        "geef de soort minstens één veld onder velden:",
                    );
                }
                let fields = self.fields(&k.velden, &names, true);
                let action = k.actie.as_ref().map(|a| self.action_fields(a, &fields));
                KindDef {
                    name: k.naam.value.clone(),
                    label: k.label.clone(),
                    description: k.omschrijving.clone(),
                    fields,
                    action,
                }
            })
            .collect()
    }

    fn fields(&mut self, raw: &[RawField], kinds: &BTreeSet<&str>, top: bool) -> Vec<FieldDef> {
        self.unique(raw.iter().map(|f| &f.naam), "veld");
        raw.iter()
            .map(|f| {
                let unit_of = f.eenheid_van.as_ref().map(|u| {
                    self.unit_of(f, u, raw);
                    u.value.clone()
                });
                if !is_field_name(&f.naam.value) {
                    self.sink.error(
                        at(&f.naam),
                        format!("{:?} is geen geldige veldnaam", f.naam.value),
                        "gebruik kleine letters, cijfers, - en _, zoals nulmeting",
                    );
                }
                let ty = self.field_type(f, kinds, top);
                let actions = self.action_source(f, &ty);
                FieldDef {
                    name: f.naam.value.clone(),
                    label: f.label.clone().unwrap_or_else(|| f.naam.value.clone()),
                    ty,
                    required: f.verplicht,
                    help: f.hulp.clone(),
                    actions,
                    unit_of,
                }
            })
            .collect()
    }

    /// The `actie:` block of a kind: each named field must exist with the right type.
    fn action_fields(&mut self, raw: &RawActionFields, fields: &[FieldDef]) -> ActionFields {
        let mut expect =
            |name: &Spanned<String>, want: FieldType, type_name: &str, what: &str| match fields
                .iter()
                .find(|f| f.name == name.value)
            {
                Some(f) if f.ty == want => {}
                Some(f) => self.sink.error(
                    at(name),
                    format!("veld {} is {}, maar {what}", f.name, f.ty.describe()),
                    format!("maak {} van type {type_name}", f.name),
                ),
                None => self.sink.error(
                    at(name),
                    format!("deze soort heeft geen veld {:?}", name.value),
                    format!(
                        "noem een veld van de soort: {}",
                        fields
                            .iter()
                            .map(|f| f.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ),
            };
        expect(
            &raw.eigenaar,
            FieldType::Organisation,
            "organisatie",
            "de eigenaar is een organisatie",
        );
        expect(
            &raw.deadline,
            FieldType::Date,
            "datum",
            "een deadline is een datum",
        );
        expect(
            &raw.bron,
            FieldType::Text,
            "tekst",
            "de bron is een korte tekst (DOCUMENT#NUMMER)",
        );
        ActionFields {
            owner: raw.eigenaar.value.clone(),
            deadline: raw.deadline.value.clone(),
            origin: raw.bron.value.clone(),
        }
    }

    /// The `acties:` block of a list field: its text and deadline name fields of the items.
    fn action_source(&mut self, f: &RawField, ty: &FieldType) -> Option<ActionSource> {
        let raw = f.acties.as_ref()?;
        let FieldType::List { fields } = ty else {
            self.sink.error(
                at(&raw.werkwijze),
                "acties horen alleen bij een veld van type lijst",
                "haal acties weg of maak het veld een lijst",
            );
            return None;
        };
        let mut expect = |name: &Spanned<String>, want: &[FieldType], what: &str| match fields
            .iter()
            .find(|f| f.name == name.value)
        {
            Some(f) if want.contains(&f.ty) => {}
            Some(f) => self.sink.error(
                at(name),
                format!("veld {} is {}, maar {what}", f.name, f.ty.describe()),
                "noem een ander veld van het lijstitem",
            ),
            None => self.sink.error(
                at(name),
                format!("een item van deze lijst heeft geen veld {:?}", name.value),
                format!(
                    "velden van een item: {}",
                    fields
                        .iter()
                        .map(|f| f.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
        };
        expect(
            &raw.tekst,
            &[FieldType::Text, FieldType::LongText],
            "de tekst van een actie is tekst",
        );
        if let Some(d) = &raw.deadline {
            expect(d, &[FieldType::Date], "een deadline is een datum");
        }
        if let Some(o) = &raw.eigenaar {
            expect(o, &[FieldType::Text], "wie het doet is een korte tekst");
        }
        self.name(&raw.werkwijze, "een werkwijze");
        Some(ActionSource {
            definition: raw.werkwijze.value.clone(),
            text: raw.tekst.value.clone(),
            deadline: raw.deadline.as_ref().map(|d| d.value.clone()),
            owner: raw.eigenaar.as_ref().map(|o| o.value.clone()),
        })
    }

    /// `eenheid-van` names a sibling field of type cijfer, and stands on a number field.
    fn unit_of(&mut self, f: &RawField, unit_of: &Spanned<String>, siblings: &[RawField]) {
        if f.r#type.value != "getal" {
            self.sink.error(
                at(unit_of),
                format!(
                    "eenheid-van hoort alleen bij een veld van type getal, dit is {}",
                    f.r#type.value
                ),
                "haal eenheid-van weg of maak het type getal",
            );
        }
        match siblings.iter().find(|s| s.naam.value == unit_of.value) {
            Some(s) if s.r#type.value == "cijfer" => {}
            Some(s) => self.sink.error(
                at(unit_of),
                format!(
                    "eenheid-van noemt veld {}, maar dat is van type {} en niet cijfer",
                    unit_of.value, s.r#type.value
                ),
                "noem het veld (van type cijfer) met de indicator",
            ),
            None => self.sink.error(
                at(unit_of),
                format!(
                    "eenheid-van noemt veld {:?}, dat hier niet bestaat",
                    unit_of.value
                ),
                format!(
                    "velden hier: {}",
                    siblings
                        .iter()
                        .map(|s| s.naam.value.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
        }
    }

    fn field_type(&mut self, f: &RawField, kinds: &BTreeSet<&str>, top: bool) -> FieldType {
        let ty = f.r#type.value.as_str();
        let here = at(&f.r#type);
        if ty != "keuze"
            && let Some(o) = &f.opties
        {
            self.sink.error(
                at(o),
                "opties horen alleen bij een veld van type keuze",
                "haal opties weg of maak het type keuze",
            );
        }
        if ty != "lijst" && f.velden.is_some() {
            self.sink.error(
                here,
                format!("alleen een veld van type lijst heeft eigen velden, dit is {ty}"),
                "maak het type lijst of haal velden weg",
            );
        }
        if ty != "verwijzing"
            && let Some(s) = &f.soort
        {
            self.sink.error(
                at(s),
                "soort hoort alleen bij een veld van type verwijzing",
                "haal soort weg of maak het type verwijzing",
            );
        }
        match ty {
            "tekst" => FieldType::Text,
            "lange-tekst" => FieldType::LongText,
            "getal" => FieldType::Number,
            "telling" => FieldType::Count,
            "percentage" => FieldType::Percentage,
            "datum" => FieldType::Date,
            "cijfer" => FieldType::Figure,
            "organisatie" => {
                if !top {
                    self.sink.error(
                        here,
                        "een organisatieveld kan niet in een lijst staan",
                        "maak er een tekstveld van, of zet het in de soort zelf",
                    );
                }
                FieldType::Organisation
            }
            "keuze" => {
                let options = match &f.opties {
                    Some(o) if !o.value.is_empty() => {
                        let mut seen = BTreeSet::new();
                        for opt in &o.value {
                            if !seen.insert(opt.as_str()) {
                                self.sink.error(
                                    at(o),
                                    format!("de optie {opt:?} staat er twee keer in"),
                                    "noem elke optie één keer",
                                );
                            }
                        }
                        o.value.clone()
                    }
                    _ => {
                        self.sink.error(
                            here,
                            format!("keuzeveld {} heeft geen opties", f.naam.value),
                            "noem de keuzes onder opties:, bijvoorbeeld opties: [open, klaar]",
                        );
                        Vec::new()
                    }
                };
                FieldType::Choice { options }
            }
            "lijst" => {
                if !top {
                    self.sink.error(
                        here,
                        "een lijst kan geen lijst bevatten",
                        "maak een aparte documentsoort en verwijs ernaar",
                    );
                }
                match &f.velden {
                    Some(fields) if !fields.is_empty() => FieldType::List {
                        fields: self.fields(fields, kinds, false),
                    },
                    _ => {
                        self.sink.error(
                            here,
                            format!("lijstveld {} heeft geen velden", f.naam.value),
                            "noem de velden van elk item onder velden:",
                        );
                        FieldType::List { fields: Vec::new() }
                    }
                }
            }
            "verwijzing" => match &f.soort {
                Some(s) if kinds.contains(s.value.as_str()) => FieldType::Link {
                    kind: s.value.clone(),
                },
                Some(s) => {
                    self.sink.error(
                        at(s),
                        format!("verwijzing naar onbekende documentsoort {:?}", s.value),
                        format!("bekende soorten: {}", list(kinds)),
                    );
                    FieldType::Link {
                        kind: s.value.clone(),
                    }
                }
                None => {
                    self.sink.error(
                        here,
                        format!(
                            "verwijzingsveld {} zegt niet naar welke soort",
                            f.naam.value
                        ),
                        "voeg soort: NAAM toe",
                    );
                    FieldType::Link {
                        kind: String::new(),
                    }
                }
            },
            other => {
                self.sink.error(
                    here,
                    format!("onbekend veldtype {other:?}"),
                    "kies uit tekst, lange-tekst, getal, telling, percentage, datum, keuze, lijst, verwijzing, cijfer, organisatie",
                );
                FieldType::Text
            }
        }
    }

    fn phase_names(&mut self, raw: &[RawPhase]) -> BTreeSet<String> {
        if raw.is_empty() {
            self.sink.error(
                Position { line: 1, column: 1 },
                "de werkwijze heeft geen fasen",
                "noem minstens één fase onder fasen:",
            );
        }
        self.unique(raw.iter().map(|p| &p.naam), "fase");
        raw.iter().map(|p| p.naam.value.clone()).collect()
    }

    fn phase_ref(&mut self, name: &Spanned<String>, phases: &BTreeSet<String>, what: &str) -> bool {
        if phases.contains(&name.value) {
            return true;
        }
        self.sink.error(
            at(name),
            format!("{what} verwijst naar onbekende fase {:?}", name.value),
            format!("bekende fasen: {}", list(phases)),
        );
        false
    }

    fn role_refs(&mut self, refs: &[Spanned<String>], roles: &BTreeSet<String>) -> Vec<String> {
        for r in refs {
            if !roles.contains(&r.value) {
                self.sink.error(
                    at(r),
                    format!("onbekende rol {:?}", r.value),
                    format!("bekende rollen: {}", list(roles)),
                );
            }
        }
        refs.iter().map(|r| r.value.clone()).collect()
    }

    fn period(&mut self, text: &Spanned<String>, what: &str) -> Option<Period> {
        match Period::parse(&text.value) {
            Ok(p) => Some(p),
            Err(e) => {
                self.sink.error(
                    at(text),
                    format!("{what}: {e}"),
                    "een duur is hoogstens 10 jaar, zoals P14D, 14d of \"14 dagen\", P6W of \"6 weken\", P6M of \"6 maanden\"",
                );
                None
            }
        }
    }

    fn phase(
        &mut self,
        p: &RawPhase,
        kinds: &BTreeMap<&str, &KindDef>,
        roles: &BTreeSet<String>,
        phases: &BTreeSet<String>,
    ) -> Phase {
        self.name(&p.naam, "een fase");
        let mut phase_kinds = Vec::new();
        for k in &p.soorten {
            if kinds.contains_key(k.value.as_str()) {
                phase_kinds.push(k.value.clone());
            } else {
                self.sink.error(
                    at(k),
                    format!(
                        "fase {} werkt aan onbekende documentsoort {:?}",
                        p.naam.value, k.value
                    ),
                    format!("bekende soorten: {}", list(kinds.keys())),
                );
            }
        }
        let actors = self.role_refs(&p.wie, roles);
        let tasks = p
            .taken
            .iter()
            .map(|t| Task {
                title: t.titel.clone(),
                description: t.omschrijving.clone(),
                questions: t.vragen.clone(),
                roles: self.role_refs(&t.wie, roles),
            })
            .collect();
        self.unique(p.naar.iter().map(|t| &t.fase), "overgang naar fase");
        let transitions = p
            .naar
            .iter()
            .map(|t| {
                self.phase_ref(&t.fase, phases, "overgang");
                Transition {
                    to: t.fase.value.clone(),
                    label: t.label.clone(),
                    guard: t
                        .vereist
                        .as_ref()
                        .map(|g| self.guard(g, p, kinds, roles))
                        .unwrap_or_default(),
                    new_round: t.nieuwe_ronde,
                }
            })
            .collect::<Vec<_>>();
        if !p.eind && transitions.is_empty() {
            self.sink.error(
                at(&p.naam),
                format!(
                    "fase {} heeft geen uitweg en is geen eindfase",
                    p.naam.value
                ),
                "voeg naar: toe met een volgende fase, of zet eind: true",
            );
        }
        let deadline = p.termijn.as_ref().and_then(|t| self.period(t, "termijn"));
        let reminder = p
            .herinnering
            .as_ref()
            .and_then(|t| self.period(t, "herinnering"));
        if let (Some(h), None) = (&p.herinnering, &p.termijn) {
            self.sink.error(
                at(h),
                format!(
                    "fase {} heeft een herinnering maar geen termijn",
                    p.naam.value
                ),
                "een herinnering komt een tijd vóór het einde van de termijn; voeg termijn: toe",
            );
        }
        let required = phase_kinds
            .iter()
            .filter_map(|k| kinds.get(k.as_str()))
            .flat_map(|k| {
                k.fields
                    .iter()
                    .filter(|f| f.required)
                    .map(|f| (k.name.clone(), f.name.clone()))
            })
            .collect();
        Phase {
            name: p.naam.value.clone(),
            title: p.titel.clone(),
            description: p.omschrijving.clone(),
            kinds: phase_kinds,
            required,
            actors,
            tasks,
            transitions,
            deadline,
            reminder,
            is_final: p.eind,
        }
    }

    fn guard(
        &mut self,
        g: &RawGuard,
        p: &RawPhase,
        kinds: &BTreeMap<&str, &KindDef>,
        roles: &BTreeSet<String>,
    ) -> Guard {
        let fields = self.field_refs(&g.velden, p, kinds);
        let any_of = self.field_refs(&g.minstens_een_van, p, kinds);
        if g.verplichte_velden && p.soorten.is_empty() {
            self.sink.warning(
                at(&p.naam),
                format!(
                    "verplichte-velden heeft geen effect: fase {} werkt aan geen enkele soort",
                    p.naam.value
                ),
                "noem de soorten van de fase onder soorten:",
            );
        }
        let approval = match (&g.goedkeuring, &g.quorum) {
            (None, None) => None,
            (None, Some(q)) => {
                self.sink.error(
                    at(q),
                    "quorum zonder goedkeuring: quorum",
                    "zet goedkeuring: quorum naast het quorum",
                );
                None
            }
            (Some(rule), q) => match (rule.value.as_str(), q) {
                ("iedere-partner", None) => Some(Approval::EveryPartner),
                ("coordinator", None) => Some(Approval::Coordinator),
                ("quorum", Some(n)) if n.value > 0 => Some(Approval::Quorum(n.value)),
                ("quorum", Some(n)) => {
                    self.sink.error(
                        at(n),
                        "een quorum moet minstens 1 zijn",
                        "bijvoorbeeld quorum: 2",
                    );
                    None
                }
                ("quorum", None) => {
                    self.sink.error(
                        at(rule),
                        "goedkeuring: quorum zegt niet hoeveel organisaties",
                        "voeg quorum: N toe, bijvoorbeeld quorum: 2",
                    );
                    None
                }
                ("iedere-partner" | "coordinator", Some(n)) => {
                    self.sink.error(
                        at(n),
                        format!("quorum hoort niet bij goedkeuring: {}", rule.value),
                        "haal quorum weg of zet goedkeuring: quorum",
                    );
                    None
                }
                (other, _) => {
                    self.sink.error(
                        at(rule),
                        format!("onbekende goedkeuringsregel {other:?}"),
                        "kies iedere-partner, coordinator of quorum",
                    );
                    None
                }
            },
        };
        let role_approvals = self
            .role_refs(&g.instemming_van, roles)
            .into_iter()
            .filter(|r| roles.contains(r))
            .collect();
        Guard {
            fields,
            any_of,
            required_fields: g.verplichte_velden,
            approval,
            role_approvals,
        }
    }

    /// Checks `soort.veld` references of a guard against the phase's kinds.
    fn field_refs(
        &mut self,
        refs: &[Spanned<String>],
        p: &RawPhase,
        kinds: &BTreeMap<&str, &KindDef>,
    ) -> Vec<(String, String)> {
        let mut fields = Vec::new();
        for f in refs {
            let Some((kind, field)) = f.value.split_once('.') else {
                self.sink.error(
                    at(f),
                    format!("{:?} noemt geen soort en veld", f.value),
                    "schrijf soort.veld, zoals ambitie.titel",
                );
                continue;
            };
            if !p.soorten.iter().any(|k| k.value == kind) {
                self.sink.error(
                    at(f),
                    format!(
                        "voorwaarde vraagt veld {field} van soort {kind}, maar fase {} werkt niet aan {kind}",
                        p.naam.value
                    ),
                    format!(
                        "soorten van deze fase: {}",
                        list(p.soorten.iter().map(|k| &k.value))
                    ),
                );
                continue;
            }
            let Some(def) = kinds.get(kind) else { continue };
            if def.field(field).is_none() {
                self.sink.error(
                    at(f),
                    format!("documentsoort {kind} heeft geen veld {field:?}"),
                    format!("velden: {}", list(def.fields.iter().map(|f| &f.name))),
                );
                continue;
            }
            fields.push((kind.to_string(), field.to_string()));
        }
        fields
    }

    fn start(&mut self, raw: &RawDefinition, phases: &BTreeSet<String>) -> Option<String> {
        match &raw.start {
            Some(s) => self.phase_ref(s, phases, "start").then(|| s.value.clone()),
            None => raw.fasen.first().map(|p| p.naam.value.clone()),
        }
    }

    fn reachability(&mut self, raw: &RawDefinition, start: &str) {
        let edges: BTreeMap<&str, Vec<&str>> = raw
            .fasen
            .iter()
            .map(|p| {
                (
                    p.naam.value.as_str(),
                    p.naar.iter().map(|t| t.fase.value.as_str()).collect(),
                )
            })
            .collect();
        let mut seen = BTreeSet::from([start]);
        let mut queue = VecDeque::from([start]);
        while let Some(p) = queue.pop_front() {
            for next in edges.get(p).into_iter().flatten() {
                if seen.insert(next) {
                    queue.push_back(next);
                }
            }
        }
        for p in &raw.fasen {
            if !seen.contains(p.naam.value.as_str()) {
                self.sink.error(
                    at(&p.naam),
                    format!("fase {} is onbereikbaar vanaf {start}", p.naam.value),
                    "laat een andere fase ernaar verwijzen met naar:, of haal de fase weg",
                );
            }
        }
    }

    fn schedules(&mut self, raw: &[RawSchedule], phases: &BTreeSet<String>) -> Vec<Schedule> {
        self.unique(raw.iter().map(|s| &s.naam), "planningsmoment");
        raw.iter()
            .filter_map(|s| {
                self.name(&s.naam, "een planningsmoment");
                self.phase_ref(&s.fase, phases, "planning");
                let recurrence = match (&s.herhaal, &s.cron) {
                    (Some(h), None) => self.period(h, "herhaal").map(Recurrence::Every),
                    (None, Some(c)) => match CronRule::parse(&c.value) {
                        Ok(rule) => Some(Recurrence::Cron(Box::new(rule))),
                        Err(e) => {
                            self.sink.error(
                                at(c),
                                e.to_string(),
                                "vijf delen: minuut uur dag maand weekdag, zoals \"0 9 1 3,9 *\" (1 maart en 1 september, 9.00 uur)",
                            );
                            None
                        }
                    },
                    (Some(h), Some(_)) => {
                        self.sink.error(
                            at(h),
                            format!("planningsmoment {} heeft zowel herhaal als cron", s.naam.value),
                            "kies één van de twee",
                        );
                        None
                    }
                    (None, None) => {
                        self.sink.error(
                            at(&s.naam),
                            format!("planningsmoment {} zegt niet wanneer", s.naam.value),
                            "voeg herhaal: P6M of cron: \"0 9 1 3,9 *\" toe",
                        );
                        None
                    }
                };
                let reminder = s
                    .herinnering
                    .as_ref()
                    .and_then(|t| self.period(t, "herinnering"));
                Some(Schedule {
                    name: s.naam.value.clone(),
                    title: s.titel.clone(),
                    phase: s.fase.value.clone(),
                    recurrence: recurrence?,
                    reminder,
                })
            })
            .collect()
    }

    fn conflicts(&mut self, raw: &RawDefinition, phases: &BTreeSet<String>) -> ConflictRule {
        let Some(c) = &raw.conflicten else {
            return ConflictRule::Surface;
        };
        match c.regel.value.as_str() {
            "melden" => {
                if let Some(first) = c.voorrang.first() {
                    self.sink.warning(
                        at(first),
                        "voorrang heeft geen effect bij regel: melden",
                        "haal voorrang weg of zet regel: voorrang",
                    );
                }
                ConflictRule::Surface
            }
            "voorrang" => {
                if c.voorrang.is_empty() {
                    self.sink.error(
                        at(&c.regel),
                        "regel: voorrang zonder voorranglijst",
                        "noem onder voorrang: de fasen, de belangrijkste eerst",
                    );
                }
                self.unique(c.voorrang.iter(), "fase in de voorranglijst");
                for p in &c.voorrang {
                    self.phase_ref(p, phases, "voorrang");
                }
                ConflictRule::Precedence(c.voorrang.iter().map(|p| p.value.clone()).collect())
            }
            other => {
                self.sink.error(
                    at(&c.regel),
                    format!("onbekende conflictregel {other:?}"),
                    "kies voorrang of melden",
                );
                ConflictRule::Surface
            }
        }
    }
}
