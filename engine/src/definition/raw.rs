//! The syntax of a workflow file: what the YAML may contain, as serde and JSON Schema types.
//!
//! Names that other parts refer to carry their source location ([`Spanned`]) so that the
//! meaning checks in `validate` can point at the exact spot. Nothing here checks meaning.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

/// A text with the place it was written.
pub(crate) type Text = Spanned<String>;

/// A workflow definition: the way partners work together, in one file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(title = "Kompas-werkwijze")]
pub struct RawDefinition {
    /// Korte naam van de werkwijze: kleine letters, cijfers en streepjes (bijv. kwaliteitskompas).
    #[schemars(with = "String")]
    pub naam: Text,
    /// Versie volgens semver, bijv. 1.0.0.
    #[schemars(with = "String")]
    pub versie: Text,
    /// De titel zoals deelnemers hem zien.
    pub titel: String,
    /// Waar de werkwijze voor is.
    #[serde(default)]
    pub beschrijving: String,
    /// Tijdzone voor termijnen en planning (standaard Europe/Amsterdam).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub tijdzone: Option<Text>,
    /// De rollen die organisaties in deze werkwijze kunnen hebben.
    #[serde(default)]
    pub rollen: Vec<RawRole>,
    /// De documentsoorten die de fasen opleveren.
    #[serde(default)]
    pub soorten: Vec<RawKind>,
    /// De fasen (bouwstenen, stappen), in hun gewone volgorde.
    pub fasen: Vec<RawPhase>,
    /// De fase waarin een nieuwe doorloop begint (standaard de eerste).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub start: Option<Text>,
    /// Terugkerende momenten, zoals de gezamenlijke evaluatie.
    #[serde(default)]
    pub planning: Vec<RawSchedule>,
    /// Wat er gebeurt als partners tegelijk een andere overgang vragen.
    #[serde(default)]
    pub conflicten: Option<RawConflicts>,
}

/// A role organisations can have.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawRole {
    /// Naam van de rol, bijv. coordinator of partner.
    #[schemars(with = "String")]
    pub naam: Text,
    /// Wat deze rol doet.
    #[serde(default)]
    pub omschrijving: String,
    /// Organisatietypen die deze rol mogen hebben (leeg: alle).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub organisaties: Vec<Text>,
}

/// A document kind with its fields.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawKind {
    /// Naam van de soort: kleine letters, cijfers en streepjes.
    #[schemars(with = "String")]
    pub naam: Text,
    /// Zoals mensen de soort noemen.
    pub label: String,
    /// Waar documenten van deze soort voor zijn.
    #[serde(default)]
    pub omschrijving: String,
    /// De velden, in de volgorde waarin ze getoond worden.
    pub velden: Vec<RawField>,
    /// Maakt documenten van deze soort tot acties: welk veld de eigenaar is (type organisatie),
    /// welk de deadline (type datum) en welk vastlegt waar de actie is afgesproken (type tekst).
    #[serde(default)]
    pub actie: Option<RawActionFields>,
}

/// The fields that make a kind's documents actions.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawActionFields {
    /// Het veld met de organisatie die eigenaar is.
    #[schemars(with = "String")]
    pub eigenaar: Text,
    /// Het veld met de datum waarop de actie klaar moet zijn.
    #[schemars(with = "String")]
    pub deadline: Text,
    /// Het veld waarin staat waar de actie is afgesproken.
    #[schemars(with = "String")]
    pub bron: Text,
}

/// How the items of a list become actions.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawActionSource {
    /// De werkwijze die elke actie volgt, bijvoorbeeld verbeteracties.
    #[schemars(with = "String")]
    pub werkwijze: Text,
    /// Het veld van een item met wat er gedaan wordt.
    #[schemars(with = "String")]
    pub tekst: Text,
    /// Het veld van een item met de datum waarop het klaar moet zijn.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub deadline: Option<Text>,
    /// Het veld van een item dat zegt wie het doet; noemt het een organisatie uit de
    /// samenwerking, dan wordt die de eigenaar.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub eigenaar: Option<Text>,
}

/// One typed field of a kind or of a list item.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawField {
    /// Naam van het veld, zoals in VELD=WAARDE.
    #[schemars(with = "String")]
    pub naam: Text,
    /// Zoals mensen het veld noemen (standaard de naam).
    #[serde(default)]
    pub label: Option<String>,
    /// Het type: tekst, lange-tekst, getal, telling (een aantal dat kleine aantallen beschermt), percentage, datum, keuze, lijst, verwijzing, cijfer of organisatie (een lid van de samenwerking).
    #[schemars(with = "FieldTypeName")]
    pub r#type: Text,
    /// Of het veld ingevuld moet zijn voordat een fase verder kan.
    #[serde(default)]
    pub verplicht: bool,
    /// Uitleg voor wie het veld invult.
    #[serde(default)]
    pub hulp: String,
    /// De keuzes (alleen bij type keuze).
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub opties: Option<Spanned<Vec<String>>>,
    /// De velden van elk lijstitem (alleen bij type lijst).
    #[serde(default)]
    pub velden: Option<Vec<RawField>>,
    /// De soort waarnaar verwezen wordt (alleen bij type verwijzing).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub soort: Option<Text>,
    /// Alleen bij type lijst: elk item kan een actie worden die een eigen werkstroom volgt.
    #[serde(default)]
    pub acties: Option<RawActionSource>,
    /// Het veld (van type cijfer) met de indicator in wier eenheid dit getal staat (alleen bij
    /// type getal), bijv. eenheid-van: indicator.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub eenheid_van: Option<Text>,
}

/// The field types, for the schema only.
#[derive(JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[allow(dead_code)]
enum FieldTypeName {
    Tekst,
    LangeTekst,
    Getal,
    Telling,
    Percentage,
    Datum,
    Keuze,
    Lijst,
    Verwijzing,
    Cijfer,
    Organisatie,
}

/// A phase (building block, step).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawPhase {
    /// Naam van de fase: kleine letters, cijfers en streepjes.
    #[schemars(with = "String")]
    pub naam: Text,
    /// De titel zoals deelnemers hem zien.
    pub titel: String,
    /// Wat er in deze fase gebeurt.
    #[serde(default)]
    pub omschrijving: String,
    /// De documentsoorten waaraan in deze fase gewerkt wordt.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub soorten: Vec<Text>,
    /// De rollen die de fase verder mogen zetten (leeg: iedereen).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub wie: Vec<Text>,
    /// Taken in deze fase, met vragen die helpen.
    #[serde(default)]
    pub taken: Vec<RawTask>,
    /// Naar welke fasen het hierna kan gaan, met hun voorwaarden.
    #[serde(default)]
    pub naar: Vec<RawTransition>,
    /// Hoe lang de fase mag duren (ISO-8601, bijv. P6W).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub termijn: Option<Text>,
    /// Hoe lang voor het einde van de termijn een herinnering komt (ISO-8601, bijv. P7D).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub herinnering: Option<Text>,
    /// Of de doorloop hier eindigt.
    #[serde(default)]
    pub eind: bool,
}

/// A task within a phase.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawTask {
    /// Wat er gedaan moet worden.
    pub titel: String,
    /// Toelichting.
    #[serde(default)]
    pub omschrijving: String,
    /// Vragen die helpen bij de taak.
    #[serde(default)]
    pub vragen: Vec<String>,
    /// Welke rollen de taak oppakken (leeg: iedereen).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub wie: Vec<Text>,
}

/// An allowed transition to another phase.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawTransition {
    /// De fase waar het naartoe gaat.
    #[schemars(with = "String")]
    pub fase: Text,
    /// Hoe de overgang heet (bijv. "Ambities vastgesteld").
    #[serde(default)]
    pub label: String,
    /// Wat er nodig is voordat de overgang mag.
    #[serde(default)]
    pub vereist: Option<RawGuard>,
    /// Of de overgang een nieuwe ronde van de cyclus begint: de fasen werken dan aan nieuwe
    /// documenten, en die van de vorige ronde blijven leesbaar als archief.
    #[serde(default)]
    pub nieuwe_ronde: bool,
}

/// What a transition needs.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawGuard {
    /// Velden die in elk document van die soort ingevuld moeten zijn, als soort.veld.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub velden: Vec<Text>,
    /// Minstens één van deze velden (soort.veld) moet ingevuld zijn, in een document van die
    /// soort.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub minstens_een_van: Vec<Text>,
    /// Alle verplichte velden van de soorten van deze fase moeten ingevuld zijn.
    #[serde(default)]
    pub verplichte_velden: bool,
    /// Wie moet instemmen: iedere-partner, coordinator of quorum.
    #[serde(default)]
    #[schemars(with = "Option<ApprovalName>")]
    pub goedkeuring: Option<Text>,
    /// Hoeveel organisaties moeten instemmen (alleen bij goedkeuring: quorum).
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub quorum: Option<Spanned<u32>>,
    /// Rollen waarvan iedere organisatie ook moet instemmen, waar de samenwerking ze heeft
    /// (bijvoorbeeld jongeren-en-ouders).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub instemming_van: Vec<Text>,
}

/// The approval rules, for the schema only.
#[derive(JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[allow(dead_code)]
enum ApprovalName {
    IederePartner,
    Coordinator,
    Quorum,
}

/// A recurring moment.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawSchedule {
    /// Naam van het moment.
    #[schemars(with = "String")]
    pub naam: Text,
    /// Zoals deelnemers het zien.
    #[serde(default)]
    pub titel: String,
    /// De fase die op dat moment aan de beurt is.
    #[schemars(with = "String")]
    pub fase: Text,
    /// Om de hoeveel tijd (ISO-8601, bijv. P6M), gerekend vanaf de start van de doorloop.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub herhaal: Option<Text>,
    /// Of op vaste momenten (cron, bijv. "0 9 1 3,9 *"), in de tijdzone van de werkwijze.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub cron: Option<Text>,
    /// Hoe lang vooraf een herinnering komt (ISO-8601, bijv. P14D).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub herinnering: Option<Text>,
}

/// How concurrent conflicting transition requests resolve.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawConflicts {
    /// voorrang (de lijst beslist) of melden (mensen beslissen).
    #[schemars(with = "ConflictRuleName")]
    pub regel: Text,
    /// Fasen in volgorde van voorrang, de belangrijkste eerst (bij regel: voorrang).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub voorrang: Vec<Text>,
}

/// The conflict rules, for the schema only.
#[derive(JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[allow(dead_code)]
enum ConflictRuleName {
    Voorrang,
    Melden,
}
