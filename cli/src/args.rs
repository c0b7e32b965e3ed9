//! The command-line grammar (clap). Only this crate knows clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// kompas: een eigen, offline bruikbare kopie van de gedeelde documenten van een samenwerking
/// rond jeugd, volgens het Kwaliteitskompas.
#[derive(Parser, Debug)]
#[command(name = "kompas", version, after_help = crate::exit::HELP)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts.
#[derive(Args, Debug, Clone)]
pub struct Global {
    /// De kompas-map met de gegevens van deze organisatie.
    #[arg(
        long,
        global = true,
        env = "KOMPAS_DATA",
        default_value = "kompas-data",
        value_name = "MAP"
    )]
    pub data: PathBuf,
    /// De samenwerking waar de opdracht over gaat (naam of begin van het id); nodig als de
    /// kompas-map er meer heeft. `kompas samenwerkingen` toont ze.
    #[arg(long, global = true, env = "KOMPAS_SAMENWERKING", value_name = "NAAM")]
    pub samenwerking: Option<String>,
    /// Geef de uitvoer als JSON (voor scripts).
    #[arg(long, global = true)]
    pub json: bool,
    /// Map met eigen werkwijzen (YAML); standaard de map workflows in de kompas-map, als die er is.
    #[arg(
        long,
        global = true,
        env = "KOMPAS_WORKFLOWS",
        value_name = "MAP",
        alias = "werkwijzen"
    )]
    pub workflows: Option<PathBuf>,
    /// Stil: alleen het resultaat en fouten, geen voortgang of toelichting.
    #[arg(short, long, global = true, alias = "stil", conflicts_with = "verbose")]
    pub quiet: bool,
    /// Uitgebreid: ook de gebruikte kompas-map, elke stap van een synchronisatie en de
    /// afsluitcode bij een fout.
    #[arg(short, long, global = true, alias = "uitgebreid")]
    pub verbose: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Richt een nieuwe kompas-map in voor deze organisatie.
    Init(InitArgs),
    /// Documenten maken, bekijken en bewerken.
    #[command(subcommand)]
    Doc(DocCommand),
    /// Cijfers: indicatoren inlezen, tonen, vergelijken en in een grafiek zetten, met verhalen ernaast.
    #[command(subcommand)]
    Figures(FiguresCommand),
    /// Laat zien wat kompas doet: maakt een voorbeeldsamenwerking in een nieuwe map.
    #[cfg(feature = "demo")]
    Demo(DemoArgs),
    /// Werkwijzen (YAML) controleren, beschrijven, publiceren en in de gaten houden.
    #[command(subcommand)]
    Workflow(WorkflowCommand),
    /// Werkstromen: een werkwijze doorlopen met de partners.
    #[command(subcommand)]
    Flow(FlowCommand),
    /// Toon deze organisatie: naam, soort, sleutelvingerafdruk en samenwerking.
    Whoami,
    /// Toon de samenwerkingen van deze kompas-map (kies er een met --samenwerking NAAM).
    Samenwerkingen,
    /// De samenwerking: aanmaken, uitnodigen, aansluiten, leden en relays.
    #[command(subcommand)]
    Workspace(WorkspaceCommand),
    /// Wissel wijzigingen uit met de andere organisaties, via elke relay van elke samenwerking
    /// (of alleen die van --samenwerking).
    Sync(SyncArgs),
    /// Rapporten: de gezamenlijke evaluatie van een ronde, en verslagen van gesprekken over cijfers.
    #[command(subcommand)]
    Rapport(RapportCommand),
    /// De agenda van de samenwerking als iCalendar-bestand (.ics).
    Agenda(AgendaArgs),
    /// Start de webapp op deze computer (alleen via 127.0.0.1) voor elke samenwerking, met
    /// doorlopende synchronisatie.
    Serve(ServeArgs),
    /// Schrijf het script waarmee je shell opdrachten en opties aanvult met Tab.
    Completions(CompletionsArgs),
    /// Mail de herinneringen en deadlines van de werkstromen: één overzicht per ontvanger.
    #[command(after_help = crate::reminders::config::HELP)]
    Herinneringen(HerinneringenArgs),
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("wat").required(true).args(["verstuur", "proef"])))]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct HerinneringenArgs {
    #[command(subcommand)]
    pub instellen: Option<HerinneringenCommand>,
    /// Verstuur wat nu te melden is (voor cron of een systemd-timer); elke herinnering gaat één keer.
    #[arg(long)]
    pub verstuur: bool,
    /// Laat zien wat er verstuurd zou worden; verstuurt en onthoudt niets.
    #[arg(long)]
    pub proef: bool,
    /// Reken alsof het nu dit moment is, zoals 2027-03-01T09:00:00Z (om vooruit te kijken, en voor tests).
    #[arg(long, value_name = "MOMENT")]
    pub nu: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum HerinneringenCommand {
    /// Schrijf herinneringen.toml met deze gegevens (in een terminal vraagt kompas wat ontbreekt).
    Instellen(InstellenArgs),
}

/// The fields of `herinneringen.toml`; each is checked as a round reads it.
#[derive(Args, Debug)]
pub struct InstellenArgs {
    /// De mailserver van de organisatie, zoals smtp.gemeente.nl.
    #[arg(long, value_name = "SERVER")]
    pub server: Option<String>,
    /// De poort (standaard 587 bij starttls, 465 bij tls, 25 bij geen).
    #[arg(long, value_name = "POORT", allow_negative_numbers = true)]
    pub poort: Option<i64>,
    /// starttls, tls, of geen (alleen voor een mailserver op deze computer).
    #[arg(long, value_name = "BEVEILIGING")]
    pub beveiliging: Option<String>,
    /// Het adres waarvandaan kompas mailt, zoals "Kompas <kompas@gemeente.nl>".
    #[arg(long, value_name = "ADRES")]
    pub afzender: Option<String>,
    /// De gebruikersnaam op de mailserver; dan ook --wachtwoord-variabele of --wachtwoord-bestand.
    #[arg(long, value_name = "NAAM")]
    pub gebruiker: Option<String>,
    /// De omgevingsvariabele met het wachtwoord (het wachtwoord zelf wordt nooit opgeslagen).
    #[arg(long, value_name = "VARIABELE", conflicts_with = "wachtwoord_bestand")]
    pub wachtwoord_variabele: Option<String>,
    /// Het bestand met alleen het wachtwoord.
    #[arg(long, value_name = "BESTAND")]
    pub wachtwoord_bestand: Option<String>,
    /// Het PEM-bestand met de certificaten van de eigen CA van de organisatie, als het
    /// certificaat van de mailserver daarvan komt (een relatief pad geldt vanaf de huidige map).
    #[arg(long, value_name = "BESTAND")]
    pub ca_bestand: Option<std::path::PathBuf>,
    /// Een adres dat elke herinnering krijgt (herhaal de optie voor meer adressen).
    #[arg(long, value_name = "ADRES")]
    pub iedereen: Vec<String>,
    /// Een adres voor de herinneringen van werkstromen waarin je die rol hebt: ROL=ADRES.
    #[arg(long, value_name = "ROL=ADRES")]
    pub rol: Vec<String>,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// De shell. Voor bash bijvoorbeeld: `source <(kompas completions bash)` in ~/.bashrc.
    #[arg(value_name = "SHELL", value_parser = ["bash", "zsh", "fish", "powershell"])]
    pub shell: String,
}

#[derive(Subcommand, Debug)]
pub enum RapportCommand {
    /// Het rapport van een ronde over alle organisaties: HTML of PDF (naar de extensie van --out).
    Ronde {
        /// De werkstroom van het Kwaliteitskompas; standaard de laatst gestarte.
        #[arg(value_name = "WERKSTROOM")]
        flow: Option<String>,
        /// Het bestand: rapport.html of rapport.pdf. Zonder --out een korte samenvatting.
        #[arg(long, value_name = "BESTAND")]
        out: Option<PathBuf>,
        /// Het gebied waarvan de cijfers getoond worden, zoals GM0363.
        #[arg(long, value_name = "CODE")]
        gebied: Option<String>,
        /// De ronde van de cyclus (1 is de eerste); standaard de huidige. `kompas flow rounds`
        /// toont ze.
        #[arg(long, value_name = "NUMMER")]
        ronde: Option<u32>,
    },
    /// Leg vast dat de partners de ronde nu samen evalueerden; het volgende rapport toont wat sindsdien veranderde.
    Vastleggen {
        /// De werkstroom van het Kwaliteitskompas; standaard de laatst gestarte.
        #[arg(value_name = "WERKSTROOM")]
        flow: Option<String>,
    },
    /// Het verslag van een gesprek over cijfers, om te mailen (tekst, of HTML met --out verslag.html).
    Gesprek {
        /// Het document van het gesprek (soort cijfergesprek).
        #[arg(value_name = "ID")]
        id: String,
        /// Het bestand: verslag.html of verslag.txt. Zonder --out op het scherm.
        #[arg(long, value_name = "BESTAND")]
        out: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
pub struct AgendaArgs {
    /// Het bestand, zoals kompas.ics; zonder --out op het scherm.
    #[arg(long, value_name = "BESTAND")]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// De poort op 127.0.0.1 (0: kies een vrije poort).
    #[arg(long, default_value_t = 7420, value_name = "POORT", alias = "poort")]
    pub port: u16,
    /// Open de webapp meteen in de browser.
    #[arg(long)]
    pub open: bool,
}

#[derive(Subcommand, Debug)]
pub enum WorkspaceCommand {
    /// Maak een nieuwe samenwerking; deze organisatie wordt coördinator.
    Create {
        /// De naam van de samenwerking.
        #[arg(value_name = "NAAM")]
        name: String,
        /// Een relay (ws://host:poort of wss://host); mag vaker.
        #[arg(long = "relay", value_name = "URL", required = true)]
        relays: Vec<String>,
        #[command(flatten)]
        trust: RelayTrustArgs,
    },
    /// Maak een uitnodiging (een regel tekst) voor een nieuwe organisatie.
    Invite {
        /// De rol van de nieuwe organisatie.
        #[arg(long, default_value = "partner", value_parser = ["partner", "coordinator"], value_name = "ROL", alias = "rol")]
        role: String,
        /// Hoe lang de uitnodiging geldig is, bijvoorbeeld 7d, 12h, "2 weken" of P7D.
        #[arg(long, default_value = "7d", value_name = "DUUR", alias = "geldig")]
        expires: String,
        /// Laat de nieuwe organisatie wachten tot een coördinator haar aanmelding bevestigt,
        /// na het vergelijken van de vingerafdruk; de uitnodiging bevat dan geen sleutels.
        #[arg(long, alias = "bevestigen")]
        confirm: bool,
    },
    /// Trek een uitnodiging in die nog niet gebruikt is.
    Revoke {
        /// De uitnodiging (begint met kompas1-).
        #[arg(value_name = "UITNODIGING")]
        code: String,
    },
    /// Sluit aan bij een samenwerking met een uitnodiging.
    Join {
        /// De uitnodiging (begint met kompas1-).
        #[arg(value_name = "UITNODIGING")]
        code: String,
        /// PEM-bestand met een eigen certificaatautoriteit (CA) voor de TLS-certificaten van
        /// de relays, naast de vertrouwde certificaten van het systeem.
        #[arg(long, value_name = "BESTAND")]
        ca: Option<std::path::PathBuf>,
    },
    /// Toon de leden van de samenwerking.
    Members,
    /// Bevestig een aanmelding die op bevestiging wacht, nadat je de vingerafdruk hebt vergeleken.
    #[command(alias = "bevestig")]
    Confirm {
        /// Het organisatie-id (of het begin ervan), de vingerafdruk of de naam.
        #[arg(value_name = "ORGANISATIE")]
        org: String,
    },
    /// Weiger een aanmelding die op bevestiging wacht; die organisatie kan niet meer aansluiten.
    #[command(alias = "weiger")]
    Refuse {
        /// Het organisatie-id (of het begin ervan), de vingerafdruk of de naam.
        #[arg(value_name = "ORGANISATIE")]
        org: String,
    },
    /// Verwijder een organisatie; de anderen krijgen een nieuwe sleutel.
    Remove {
        /// Het organisatie-id (of het begin ervan) of de naam.
        #[arg(value_name = "ORGANISATIE")]
        org: String,
    },
    /// Relays van de samenwerking beheren.
    #[command(subcommand)]
    Relays(RelaysCommand),
}

#[derive(Subcommand, Debug)]
pub enum RelaysCommand {
    /// Voeg een relay toe.
    Add {
        /// Het adres van de relay (ws://host:poort of wss://host).
        url: String,
        #[command(flatten)]
        trust: RelayTrustArgs,
    },
    /// Haal een relay weg.
    Remove {
        /// Het adres van de relay, zoals `kompas workspace relays list` het toont.
        url: String,
    },
    /// Toon de relays.
    List,
}

/// How a relay added by a command is trusted.
#[derive(Args, Debug)]
pub struct RelayTrustArgs {
    /// PEM-bestand met een eigen certificaatautoriteit (CA) voor het TLS-certificaat van de
    /// relay(s), naast de vertrouwde certificaten van het systeem.
    #[arg(long, value_name = "BESTAND")]
    pub ca: Option<std::path::PathBuf>,
    /// De sleutel van de relay (kompas-relay key); zonder deze optie wordt de sleutel bij het
    /// eerste contact vastgelegd. Alleen bij één relay.
    #[arg(long, value_name = "SLEUTEL", alias = "relaysleutel")]
    pub relay_key: Option<String>,
}

#[derive(Args, Debug)]
pub struct SyncArgs {
    /// Blijf verbonden met elke samenwerking: ontvang en verstuur wijzigingen zodra ze er zijn.
    #[arg(long, alias = "blijf")]
    pub watch: bool,
    /// Stop na zoveel seconden (standaard 60 voor een eenmalige sync, nooit met --watch).
    #[arg(long, value_name = "SECONDEN", alias = "tijdslimiet")]
    pub timeout: Option<u64>,
}

#[derive(Subcommand, Debug)]
pub enum WorkflowCommand {
    /// Controleer werkwijzen en meld alle problemen met bestand:regel:kolom.
    Check {
        /// Bestanden of mappen; zonder: de ingebouwde werkwijzen en de werkwijzenmap.
        #[arg(value_name = "PAD")]
        paths: Vec<PathBuf>,
    },
    /// Druk het JSON Schema van het bestandsformaat af (voor editors).
    Schema,
    /// Druk een Mermaid-diagram van een werkwijze af.
    Diagram {
        /// De naam van de werkwijze, bijvoorbeeld kwaliteitskompas.
        #[arg(value_name = "WERKWIJZE")]
        name: String,
    },
    /// Toon de werkwijzen die gelden en waar ze vandaan komen.
    List,
    /// Publiceer een werkwijze in de samenwerking, zodat alle partners haar krijgen
    /// (alleen voor coördinatoren).
    Publish {
        /// Een werkwijzebestand, of de naam van een werkwijze die hier geldt.
        #[arg(value_name = "WERKWIJZE")]
        definition: String,
    },
    /// Vergeet de laatst geldige versie die deze map van een werkwijze uit de werkwijzenmap
    /// onthield (bijvoorbeeld een bestand dat een ingebouwde werkwijze verving).
    Forget {
        /// De naam van de werkwijze.
        #[arg(value_name = "WERKWIJZE")]
        name: String,
    },
    /// Houd de werkwijzenmap in de gaten en controleer elk gewijzigd bestand.
    Watch {
        /// De map; standaard de werkwijzenmap.
        #[arg(value_name = "MAP")]
        dir: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum FlowCommand {
    /// Start een werkstroom; deze organisatie wordt coördinator. Toont het id.
    Start {
        /// De werkwijze, bijvoorbeeld kwaliteitskompas.
        #[arg(value_name = "WERKWIJZE")]
        name: String,
        /// De titel van de werkstroom; standaard die van de werkwijze.
        #[arg(long, value_name = "TITEL", alias = "titel")]
        title: Option<String>,
        /// Het document (of de documenten) waaraan de werkstroom werkt, bijvoorbeeld één
        /// verbeteractie; meer documenten koppel je later met `kompas flow link`.
        #[arg(long = "voor", value_name = "DOCUMENT")]
        documents: Vec<String>,
    },
    /// Koppel een document aan een werkstroom: de fasen werken er voortaan aan.
    Link {
        /// De werkstroom.
        id: String,
        /// Het document (of de documenten).
        #[arg(required = true, value_name = "DOCUMENT")]
        documents: Vec<String>,
    },
    /// Toon waar een werkstroom staat, wat ontbreekt en wie aan de beurt is.
    Status {
        /// De werkstroom.
        id: String,
    },
    /// Doe mee met een werkstroom.
    Join {
        /// De werkstroom.
        id: String,
        /// De rol waarin deze organisatie meedoet (de rollen staan in de werkwijze).
        #[arg(long, default_value = "partner", value_name = "ROL", alias = "rol")]
        role: String,
    },
    /// Zet de werkstroom door naar de volgende fase.
    Advance {
        /// De werkstroom.
        id: String,
        /// De fase waarheen, als er meer dan één kan.
        #[arg(long, value_name = "FASE", alias = "naar")]
        to: Option<String>,
    },
    /// Stem in met de documenten van de huidige fase zoals ze nu zijn.
    Approve {
        /// De werkstroom.
        id: String,
    },
    /// Wijs de documenten van de huidige fase af.
    Reject {
        /// De werkstroom.
        id: String,
        /// Waarom: wat er aan de documenten moet veranderen.
        #[arg(long, value_name = "TEKST", alias = "reden")]
        reason: String,
    },
    /// Toon alle werkstromen.
    List,
    /// Wat deze organisatie te doen heeft in alle werkstromen: beurten, termijnen en geplande
    /// momenten, het dringendste eerst.
    Todo,
    /// Toon de afspraken van een gesprek of evaluatie, genummerd, en welke al een verbeteractie
    /// met een eigen werkstroom zijn.
    Agreements {
        /// Het gesprek over cijfers of de evaluatie.
        #[arg(value_name = "DOCUMENT")]
        document: String,
    },
    /// Maak van een afspraak een verbeteractie met een eigenaar uit de samenwerking, een deadline
    /// en een eigen werkstroom (verbeteracties).
    Action {
        /// Het gesprek over cijfers of de evaluatie.
        #[arg(value_name = "DOCUMENT")]
        document: String,
        /// Het nummer van de afspraak (zie `kompas flow agreements`).
        #[arg(value_name = "NUMMER")]
        number: usize,
        /// De organisatie die de actie trekt (naam of id); standaard wie de afspraak noemt.
        #[arg(long = "eigenaar", value_name = "ORGANISATIE")]
        owner: Option<String>,
        /// Uiterlijk klaar (JJJJ-MM-DD); standaard de datum bij de afspraak.
        #[arg(long, value_name = "DATUM")]
        deadline: Option<String>,
        /// De lijst met afspraken, als het document er meer dan één heeft.
        #[arg(long = "lijst", value_name = "VELD")]
        list: Option<String>,
    },
    /// Toon de rondes van een werkstroom als archief: per ronde de documenten, de stappen en wie
    /// instemde of afwees.
    Rounds {
        /// De werkstroom (het id dat `kompas flow list` toont).
        #[arg(value_name = "ID")]
        id: String,
        /// Alleen deze ronde (1 is de eerste).
        #[arg(long = "ronde", value_name = "NUMMER")]
        round: Option<u32>,
    },
    /// Neem documenten van de vorige ronde mee naar de huidige ronde, elk als nieuwe versie met
    /// de inhoud waarover de vorige ronde besliste; wat je niet meeneemt, begint leeg.
    Carry {
        /// De werkstroom (het id dat `kompas flow list` toont).
        #[arg(value_name = "ID")]
        id: String,
        /// De documenten van de vorige ronde die je meeneemt (zie `kompas flow rounds`).
        #[arg(required = true, value_name = "DOCUMENT")]
        documents: Vec<String>,
    },
    /// Leg vast dat een gepland moment (een overleg, de gezamenlijke evaluatie) is gehouden.
    Held {
        /// De werkstroom (het id dat `kompas flow list` toont).
        #[arg(value_name = "ID")]
        id: String,
        /// Het geplande moment, zoals `kompas flow status` het noemt (de naam uit de werkwijze).
        #[arg(value_name = "MOMENT")]
        moment: String,
        /// Wanneer het is gehouden (JJJJ-MM-DD).
        #[arg(long = "datum", value_name = "DATUM")]
        date: String,
        /// Wie er meededen (mag vaker).
        #[arg(long = "wie", value_name = "ORGANISATIE")]
        participants: Vec<String>,
        /// Een korte notitie.
        #[arg(long = "notitie", value_name = "TEKST", default_value = "")]
        note: String,
    },
    /// Zet een werkstroom over naar een andere versie van zijn werkwijze.
    Migrate {
        /// De werkstroom.
        id: String,
        /// De versie van de werkwijze, bijvoorbeeld 1.1.0.
        #[arg(long, value_name = "VERSIE", alias = "naar")]
        to: String,
    },
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// De naam van de organisatie, bijvoorbeeld "Gemeente Zwolle".
    #[arg(long, value_name = "NAAM", alias = "organisatie")]
    pub org: String,
    /// Het soort organisatie (aanbieder is hetzelfde als jeugdhulpaanbieder).
    #[arg(long = "type", default_value = "gemeente", value_name = "SOORT", alias = "soort",
          value_parser = ["gemeente", "samenwerkingsverband", "jeugdhulpaanbieder", "aanbieder", "onderwijs", "ggd", "jongeren", "ouders", "anders"])]
    pub org_type: String,
}

#[derive(Subcommand, Debug)]
pub enum DocCommand {
    /// Maak een nieuw document en toon het id.
    New {
        /// De documentsoort, bijvoorbeeld ambitie.
        #[arg(value_name = "SOORT")]
        kind: String,
        /// Een veld vullen: VELD=WAARDE (mag vaker); VELD=@BESTAND leest de waarde uit een
        /// bestand, VELD=@- van standaardinvoer.
        #[arg(long = "set", value_name = "VELD=WAARDE", alias = "zet")]
        set: Vec<String>,
        /// Maak het document in deze werkstroom: haar fasen werken eraan.
        #[arg(long = "werkstroom", value_name = "WERKSTROOM")]
        flow: Option<String>,
    },
    /// Velden van een document zetten; een lege waarde maakt het veld leeg.
    Set {
        /// Het document.
        id: String,
        /// De velden: VELD=WAARDE, VELD=@BESTAND (uit een bestand) of VELD=@- (van
        /// standaardinvoer).
        #[arg(value_name = "VELD=WAARDE", required = true)]
        assignments: Vec<String>,
    },
    /// Toon een document.
    Show {
        /// Het document.
        id: String,
    },
    /// Toon alle documenten, of die van een soort.
    List {
        /// Alleen documenten van deze soort, bijvoorbeeld ambitie.
        #[arg(long, value_name = "SOORT", alias = "soort")]
        kind: Option<String>,
        /// Toon ook verwijderde documenten.
        #[arg(long, alias = "verwijderd")]
        deleted: bool,
    },
    /// Toon de geschiedenis: wie wat wanneer veranderde.
    History {
        /// Het document.
        id: String,
    },
    /// Verwijder een document (het blijft in de geschiedenis staan).
    Delete {
        /// Het document.
        id: String,
    },
    /// Haal een verwijderd document terug, met de inhoud die het had.
    Restore {
        /// Het document.
        id: String,
    },
    /// Schrijf een document weg als standaard .automerge-bestand.
    Export {
        /// Het document.
        id: String,
        /// Het bestand dat gemaakt wordt (het mag nog niet bestaan).
        #[arg(value_name = "BESTAND")]
        file: PathBuf,
    },
    /// Lees een .automerge-bestand in (nieuw, of samengevoegd met wat er al is).
    Import {
        /// Het .automerge-bestand.
        #[arg(value_name = "BESTAND")]
        file: PathBuf,
    },
}

#[cfg(feature = "demo")]
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Waar de voorbeeldmappen komen; een eerdere demo op die plek wordt vervangen.
    #[arg(long, default_value = "kompas-demo", value_name = "MAP", alias = "map")]
    pub dir: PathBuf,
}

/// What describes an indicator; every option left out keeps its current value.
#[derive(Args, Debug, Clone, Default)]
pub struct IndicatorArgs {
    /// Titel van de indicator.
    #[arg(long, value_name = "TEKST", alias = "titel")]
    pub title: Option<String>,
    /// Wat er precies geteld wordt, en van wie.
    #[arg(long, value_name = "TEKST", alias = "definitie")]
    pub definition: Option<String>,
    /// Eenheid van de waarden.
    #[arg(long, value_parser = ["aantal", "percentage", "per-1000"], value_name = "EENHEID", alias = "eenheid")]
    pub unit: Option<String>,
    /// Welke richting beter is.
    #[arg(long, value_parser = ["hoger", "lager", "geen"], value_name = "RICHTING", alias = "beter")]
    pub better: Option<String>,
    /// Bron, bijvoorbeeld een tabelnummer van CBS StatLine.
    #[arg(long, value_name = "BRON", alias = "bron")]
    pub source: Option<String>,
}

/// Which area and references to compare.
#[derive(Args, Debug, Clone)]
pub struct CompareArgs {
    /// De indicator.
    #[arg(value_name = "INDICATOR")]
    pub name: String,
    /// Het gebied, bijvoorbeeld GM0363.
    #[arg(long, value_name = "CODE", alias = "gebied")]
    pub area: String,
    /// Waarmee vergelijken: national, region, peers (of landelijk, regio, vergelijkbaar).
    #[arg(
        long = "with",
        value_delimiter = ',',
        default_value = "national,region,peers",
        value_name = "LIJST",
        alias = "met"
    )]
    pub with: Vec<String>,
    /// Vaste vergelijkingsgroep in plaats van gemeenten van dezelfde grootteklasse: GM0001,GM0002,...
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "CODES",
        alias = "vergelijkingsgroep"
    )]
    pub peers: Vec<String>,
    /// De periode (standaard de laatste), bijvoorbeeld 2023JJ00.
    #[arg(long, value_name = "PERIODE", alias = "periode")]
    pub period: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum FiguresCommand {
    /// Maak een indicator of pas de beschrijving aan.
    Define {
        /// Korte naam, bijvoorbeeld jeugdhulp-jongeren.
        #[arg(value_name = "INDICATOR")]
        name: String,
        #[command(flatten)]
        fields: IndicatorArgs,
    },
    /// Lees waarnemingen in uit een CSV-bestand (zoals CBS StatLine of een spreadsheet het maakt).
    Import {
        /// Het CSV-bestand.
        #[arg(value_name = "BESTAND")]
        file: PathBuf,
        /// De indicator; wordt gemaakt als hij nog niet bestaat.
        #[arg(long, value_name = "NAAM")]
        indicator: String,
        /// JSON-bestand dat zegt welke kolom wat bevat.
        #[arg(long, value_name = "BESTAND")]
        mapping: Option<PathBuf>,
        /// De metadata van de CBS-tabel (DataProperties als JSON): titels en eenheden van sleutels als JongerenMetJeugdhulp_1.
        #[arg(long, value_name = "BESTAND")]
        metadata: Option<PathBuf>,
        /// De kolom met de waarde (in een CBS Observations-bestand: de maat), als meer kolommen het kunnen zijn.
        #[arg(long, value_name = "KOLOM", conflicts_with = "alle")]
        waarde: Option<String>,
        /// Maak een indicator per waardekolom (of maat): NAAM-kolom.
        #[arg(long)]
        alle: bool,
        /// Laat zien wat er ingelezen zou worden, en uit welke kolommen, zonder iets op te slaan.
        #[arg(long)]
        proef: bool,
        /// Lees de goede rijen toch in en toon de foute.
        #[arg(long, alias = "sla-foute-rijen-over")]
        skip_bad_rows: bool,
        #[command(flatten)]
        fields: IndicatorArgs,
    },
    /// Lees een gebiedsindeling in: code, naam, jeugdregio en grootteklasse per gemeente.
    Areas {
        /// Het CSV-bestand.
        #[arg(value_name = "BESTAND")]
        file: PathBuf,
    },
    /// Toon alle indicatoren.
    List,
    /// Toon een indicator, met de cijfers van een gebied en de verhalen die erbij horen.
    Show {
        /// De indicator.
        #[arg(value_name = "INDICATOR")]
        name: String,
        /// Het gebied, bijvoorbeeld GM0363.
        #[arg(long, value_name = "CODE", alias = "gebied")]
        area: Option<String>,
        /// Tot en met deze periode (standaard de laatste).
        #[arg(long, value_name = "PERIODE", alias = "periode")]
        period: Option<String>,
        /// Over hoeveel jaar de verandering wordt berekend.
        #[arg(long, default_value_t = 5, value_name = "JAREN", alias = "jaren")]
        years: i16,
    },
    /// Vergelijk een gebied met het land, de regio en vergelijkbare gemeenten.
    Compare(CompareArgs),
    /// Teken het verloop met vergelijkingslijnen (en de uitsplitsing) als SVG.
    Chart {
        #[command(flatten)]
        compare: CompareArgs,
        /// Het SVG-bestand dat gemaakt wordt.
        #[arg(long, value_name = "BESTAND", alias = "naar")]
        out: PathBuf,
    },
    /// Zet een verhaal naast een indicator: een signaal, een ervaring of een persona.
    Story {
        /// De indicator.
        #[arg(value_name = "INDICATOR")]
        name: String,
        /// Soort verhaal.
        #[arg(long, value_parser = ["signaal", "ervaring", "persona"], value_name = "SOORT", alias = "soort")]
        kind: String,
        /// Titel.
        #[arg(long, value_name = "TEKST", alias = "titel")]
        title: String,
        /// Het verhaal (zonder namen of geboortedata van echte personen); @BESTAND leest het
        /// uit een bestand, @- van standaardinvoer.
        #[arg(long, value_name = "TEKST", default_value = "", alias = "tekst")]
        text: String,
        /// Het gebied waar het over gaat.
        #[arg(long, value_name = "CODE", alias = "gebied")]
        area: Option<String>,
        /// Bij een persona: hoeveel jongeren in het gebied zijn zoals deze persona.
        #[arg(long, value_name = "AANTAL", alias = "jongeren")]
        young_people: Option<String>,
    },
    /// Toon of wijzig hoe kleine aantallen worden beschermd.
    Policy {
        /// Aantallen tot en met deze waarde zijn geheim (standaard 7).
        #[arg(long, value_name = "AANTAL", alias = "drempel")]
        threshold: Option<f64>,
        /// Aantallen afronden op een veelvoud hiervan (standaard 5; 1 = niet afronden).
        #[arg(long, value_name = "AANTAL", alias = "afronden")]
        round: Option<f64>,
        /// Secundaire onderdrukking aan of uit.
        #[arg(long, value_parser = ["ja", "nee"], value_name = "JA-NEE", alias = "secundair")]
        secondary: Option<String>,
    },
    /// Toon of verhoog de ondergrens van de samenwerking: het zwakste beleid voor kleine
    /// aantallen dat een coördinator kan kiezen (standaard de regel van het CBS). De ondergrens
    /// kan alleen omhoog.
    Floor {
        /// Aantallen tot en met deze waarde zijn altijd geheim.
        #[arg(long, value_name = "AANTAL", alias = "drempel")]
        threshold: Option<f64>,
        /// Aantallen altijd afronden op ten minste een veelvoud hiervan.
        #[arg(long, value_name = "AANTAL", alias = "afronden")]
        round: Option<f64>,
    },
}
