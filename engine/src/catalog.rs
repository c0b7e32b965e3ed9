//! The catalog of document kinds: which kinds exist and which typed fields each one has.
//!
//! Workflow definitions declare kinds, and the engine adds the kinds it owns (see
//! [`crate::kinds`]); `composition` puts the catalog in force together.

use std::collections::BTreeMap;

/// The type of a field, which decides how a value is parsed, stored and shown.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum FieldType {
    /// A short line of text.
    Text,
    /// A longer text that several partners may edit at once (merged character by character).
    LongText,
    /// Any number.
    Number,
    /// A count of people (or of what stands for people): a whole number from 0 that follows the
    /// workspace's small-number policy, so a small count is refused and others are rounded.
    Count,
    /// A number from 0 to 100.
    Percentage,
    /// A calendar date (YYYY-MM-DD).
    Date,
    /// One of a fixed list of options.
    Choice { options: Vec<String> },
    /// A list of items, each with its own fields.
    List { fields: Vec<FieldDef> },
    /// A link to another document of the given kind.
    Link { kind: String },
    /// A reference to an indicator (a figure).
    Figure,
    /// A member organisation of the workspace, stored as its id. An edit may name it by id or
    /// by name; the replica checks that it is a current member (without a workspace: this
    /// organisation itself).
    Organisation,
}

impl FieldType {
    /// How an option of a choice is shown to people: its words without the dashes of the
    /// stored value (`nog-niet-te-zeggen` is shown as "nog niet te zeggen").
    pub fn option_label(value: &str) -> String {
        value.replace('-', " ")
    }

    /// An option of a choice as a value on its own (on a page, in a table, in a report): its
    /// words with a capital first letter (`nog-niet-te-zeggen` is "Nog niet te zeggen").
    pub fn option_shown(value: &str) -> String {
        let label = Self::option_label(value);
        let mut chars = label.chars();
        match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => label,
        }
    }

    /// Whether a value of this type holds a count: it is one, or it is a list with a count among
    /// its item fields.
    pub fn holds_count(&self) -> bool {
        match self {
            FieldType::Count => true,
            FieldType::List { fields } => fields.iter().any(|f| f.ty.holds_count()),
            _ => false,
        }
    }

    /// A short Dutch description of what a value of this type looks like.
    pub fn describe(&self) -> String {
        match self {
            FieldType::Text => "tekst".into(),
            FieldType::LongText => "lange tekst".into(),
            FieldType::Number => "getal".into(),
            FieldType::Count => {
                "aantal (geheel getal; kleine aantallen worden niet gedeeld)".into()
            }
            FieldType::Percentage => "percentage (0 tot en met 100)".into(),
            FieldType::Date => "datum (JJJJ-MM-DD)".into(),
            FieldType::Choice { options } => format!(
                "een van: {}",
                options
                    .iter()
                    .map(|o| Self::option_label(o))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            FieldType::List { .. } => "lijst (JSON-array met items)".into(),
            FieldType::Link { kind } => format!("verwijzing naar een document van soort {kind}"),
            FieldType::Figure => "verwijzing naar een indicator".into(),
            FieldType::Organisation => "een organisatie uit de samenwerking (naam of id)".into(),
        }
    }
}

/// One field of a document kind.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FieldDef {
    /// The field's name as used in `FIELD=VALUE` and in the document.
    pub name: String,
    /// A human label (Dutch).
    pub label: String,
    /// The type of the field.
    #[serde(flatten)]
    pub ty: FieldType,
    /// Whether the field must be filled before a guard that checks required fields passes.
    #[serde(default)]
    pub required: bool,
    /// Help text shown to the person filling the field.
    #[serde(default)]
    pub help: String,
    /// For a list: its items can become documents of their own, each followed in a flow
    /// (the agreements of a conversation becoming improvement actions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions: Option<ActionSource>,
    /// For a number: the field of the same kind (or list item) that names the indicator whose
    /// unit this number is in, so a baseline or target is checked as a count, a percentage or a
    /// figure per 1,000 (`eenheid-van` in the definition language).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_of: Option<String>,
}

impl FieldDef {
    /// A field of type `ty` labelled by its name, optional, with nothing else set.
    pub fn new(name: &str, ty: FieldType) -> FieldDef {
        FieldDef {
            name: name.into(),
            label: name.into(),
            ty,
            required: false,
            help: String::new(),
            actions: None,
            unit_of: None,
        }
    }
}

/// How the items of a list become actions: which definition follows them, and which item
/// fields hold the action's text and deadline.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ActionSource {
    /// The definition whose instances follow the actions; its kind that declares
    /// [`ActionFields`] is the kind of the new documents.
    pub definition: String,
    /// The item field with what is to be done.
    pub text: String,
    /// The item field with the date it should be done by, if the list has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<String>,
    /// The item field saying who does it (text); when it names a member organisation, that
    /// organisation is the owner unless another is chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

/// The fields that make a kind's documents actions: who owns one, when it should be done, and
/// where it was agreed.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ActionFields {
    /// An `organisatie` field: the organisation that owns the action.
    pub owner: String,
    /// A `datum` field: when it should be done.
    pub deadline: String,
    /// A text field recording where the action was agreed (`DOCUMENT#FIELD#N`, see
    /// `runtime::Origin`).
    pub origin: String,
}

/// A kind of document, such as `ambitie` or `activiteit`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct KindDef {
    /// The kind's name, lowercase with dashes.
    pub name: String,
    /// A human label (Dutch).
    pub label: String,
    /// What documents of this kind are for.
    #[serde(default)]
    pub description: String,
    /// The fields, in the order they are shown.
    pub fields: Vec<FieldDef>,
    /// Which fields make its documents actions, when it is a kind of actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<ActionFields>,
}

impl KindDef {
    /// The field a document of this kind is called by: `titel`, else `naam`, else the first
    /// short text field.
    pub fn title_field(&self) -> Option<&FieldDef> {
        self.field("titel")
            .or_else(|| self.field("naam"))
            .or_else(|| self.fields.iter().find(|f| f.ty == FieldType::Text))
    }

    /// The field called `name`, if the kind has one.
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// All document kinds a replica knows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    kinds: BTreeMap<String, KindDef>,
}

impl Catalog {
    /// A catalog holding exactly `kinds`; a later kind with the same name replaces an earlier one.
    pub fn from_kinds(kinds: impl IntoIterator<Item = KindDef>) -> Self {
        Catalog {
            kinds: kinds.into_iter().map(|k| (k.name.clone(), k)).collect(),
        }
    }

    /// The kind called `name`.
    pub fn kind(&self, name: &str) -> Option<&KindDef> {
        self.kinds.get(name)
    }

    /// All kinds, sorted by name.
    pub fn kinds(&self) -> impl Iterator<Item = &KindDef> {
        self.kinds.values()
    }

    /// Adds or replaces a kind.
    pub fn insert(&mut self, kind: KindDef) {
        self.kinds.insert(kind.name.clone(), kind);
    }
}
