//! Reading and writing figures through the replica: indicators, their observation batches, the
//! area registry, the suppression policy and the stories linked to an indicator.
//!
//! Batches sit in the indicator (or registry) document under the root map `batches`, keyed
//! `<millis, 13 digits>-<random hex>-<chunk>`; reading them in key order and letting later
//! batches win per cell gives the same table on every replica. An import is protected and
//! encoded one period at a time (every additive sum lies within a period), and all its chunks
//! are committed at once.

use automerge::{
    AutoCommit, ObjType, ROOT, ReadDoc, ScalarValue, Value, transaction::Transactable,
};

use std::sync::Arc;

use super::codec::{self, CodecError};
use super::period_rows::MAX_PERIOD_ROWS;
use super::shown_cache::{Shown, ShownCache, ShownKey};
use super::story::{POLICY_KIND, STORY_KIND, Story};
use super::suppression::{CellIndex, sort_cells};
use super::targets::{self, IndicatorTargets};
use super::{
    AreaCode, AreaRegistry, INDICATOR_KIND, Indicator, Observation, ObservationTable, Period,
    PeriodRows, Protection, REGISTRY_KIND, SuppressionPolicy, protect,
};
use crate::document::{Assignment, DocView, FieldValue};
use crate::identity::hex;
use crate::{DocId, Replica, ReplicaError, Store, Timestamp};

/// The root key of the batches map.
pub const BATCHES: &str = "batches";

/// Errors of figures storage, naming the indicator or document.
#[derive(Debug, thiserror::Error)]
pub enum FiguresError {
    /// No indicator of that name.
    #[error("geen indicator met de naam {name:?}; bekende indicatoren: {known}")]
    UnknownIndicator { name: String, known: String },
    /// A stored batch cannot be read.
    #[error("document {doc}: {source}")]
    Codec { doc: DocId, source: CodecError },
    /// The document layout is not as expected.
    #[error("document {doc}: {problem}")]
    Layout { doc: DocId, problem: String },
    /// One period would hold more observations than can be protected at once.
    #[error(
        "indicator {indicator}: periode {period} zou met wat er al is opgeslagen meer dan {limit} cijfers hebben; kleine aantallen worden per periode in hun geheel beschermd, en meer cijfers in een periode kan kompas niet tegelijk vasthouden"
    )]
    PeriodTooLarge {
        indicator: String,
        period: Period,
        limit: usize,
    },
    /// The replica refused or failed.
    #[error(transparent)]
    Replica(#[from] ReplicaError),
}

impl FiguresError {
    /// Whether the error is about what the user asked.
    pub fn is_input_error(&self) -> bool {
        match self {
            FiguresError::UnknownIndicator { .. } | FiguresError::PeriodTooLarge { .. } => true,
            FiguresError::Replica(e) => e.is_input_error(),
            _ => false,
        }
    }
}

/// What to set when defining an indicator; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct IndicatorFields {
    /// Title.
    pub title: Option<String>,
    /// Definition.
    pub definition: Option<String>,
    /// Unit name (`aantal`, `percentage`, `per-1000`).
    pub unit: Option<String>,
    /// Better direction (`hoger`, `lager`, `geen`).
    pub better: Option<String>,
    /// Source.
    pub source: Option<String>,
}

impl IndicatorFields {
    /// Whether no field is set (defining then changes nothing of an existing indicator).
    pub fn is_empty(&self) -> bool {
        [
            &self.title,
            &self.definition,
            &self.unit,
            &self.better,
            &self.source,
        ]
        .iter()
        .all(|f| f.is_none())
    }
}

/// What storing observations did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stored {
    /// Rows written (new cells and cells that had to become secret).
    pub rows: usize,
    /// What the protection hid.
    pub protection: Protection,
}

/// Figures on top of a replica.
pub struct Figures<'r, S: Store> {
    replica: &'r Replica<S>,
    /// Every live document's view, read once and forgotten on every write through `self`
    /// (listing loads every document, and an indicator document can be large).
    views: std::cell::RefCell<Option<Vec<DocView>>>,
}

impl<'r, S: Store> Figures<'r, S> {
    /// Figures of this replica.
    pub fn new(replica: &'r Replica<S>) -> Self {
        Figures {
            replica,
            views: std::cell::RefCell::new(None),
        }
    }

    /// All indicators, oldest first.
    pub fn indicators(&self) -> Result<Vec<Indicator>, FiguresError> {
        Ok(self
            .of_kind(INDICATOR_KIND)?
            .iter()
            .map(Indicator::from_view)
            .collect())
    }

    /// The indicator called `name` (the oldest, if partners made two).
    pub fn indicator(&self, name: &str) -> Result<Indicator, FiguresError> {
        let all = self.indicators()?;
        let known = all
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        all.iter()
            .find(|i| i.name == name)
            .cloned()
            .ok_or_else(|| FiguresError::UnknownIndicator {
                name: name.to_string(),
                known: if known.is_empty() {
                    "(nog geen)".into()
                } else {
                    known
                },
            })
    }

    /// Creates the indicator `name` or updates the given fields of the existing one.
    pub fn define(
        &self,
        name: &str,
        fields: &IndicatorFields,
        now: Timestamp,
        random: [u8; 8],
    ) -> Result<Indicator, FiguresError> {
        let mut set = Vec::new();
        for (field, value) in [
            ("titel", &fields.title),
            ("definitie", &fields.definition),
            ("eenheid", &fields.unit),
            ("beter", &fields.better),
            ("bron", &fields.source),
        ] {
            if let Some(v) = value {
                set.push(Assignment {
                    field: field.into(),
                    value: v.clone(),
                });
            }
        }
        let found = self.indicator(name);
        self.written();
        let view = match found {
            Ok(existing) if set.is_empty() => return Ok(existing),
            Ok(existing) => self.replica.update(&existing.id, &set, now)?,
            Err(FiguresError::UnknownIndicator { .. }) => {
                set.push(Assignment {
                    field: "naam".into(),
                    value: name.into(),
                });
                let id = self.replica.create(INDICATOR_KIND, &set, now, random)?;
                self.replica.get(&id)?
            }
            Err(e) => return Err(e),
        };
        Ok(Indicator::from_view(&view))
    }

    /// All observations of an indicator, merged from its batches.
    pub fn observations(&self, indicator: &Indicator) -> Result<ObservationTable, FiguresError> {
        let mut table = ObservationTable::default();
        for bytes in self.batches(&indicator.id)? {
            let rows = codec::decode(&bytes).map_err(|source| FiguresError::Codec {
                doc: indicator.id.clone(),
                source,
            })?;
            for o in rows {
                table.insert(o);
            }
        }
        Ok(table)
    }

    /// The observations as they may be shown: protected again with the policy in force now
    /// (a stricter policy than at import time applies at once), together with the registry.
    pub fn shown_observations(
        &self,
        indicator: &Indicator,
    ) -> Result<(ObservationTable, AreaRegistry), FiguresError> {
        let registry = self.registry()?;
        let table = self.protected(indicator, &registry, &self.policy()?)?;
        Ok((table, registry))
    }

    /// [`Figures::shown_observations`] through `cache`: computed only when the indicator, the
    /// registry or the policy in force changed since the cache last held this indicator
    /// (`shown_cache.rs`). The heads come from the view index, so a hit loads no document.
    pub fn shown_cached(
        &self,
        indicator: &Indicator,
        cache: &ShownCache,
    ) -> Result<Arc<Shown>, FiguresError> {
        let policy = self.policy()?;
        let registry_view = self.first_of(REGISTRY_KIND)?;
        let key = ShownKey {
            indicator: (indicator.id.clone(), self.replica.get(&indicator.id)?.heads),
            registry: registry_view.map(|v| (v.id, v.heads)),
            policy: ShownKey::policy(&policy),
        };
        if let Some(shown) = cache.get(&key) {
            return Ok(shown);
        }
        let registry = self.registry()?;
        let table = self.protected(indicator, &registry, &policy)?;
        let shown = Arc::new(Shown { table, registry });
        cache.put(key, shown.clone());
        Ok(shown)
    }

    /// The observations of `indicator` protected with `policy` over `registry`.
    fn protected(
        &self,
        indicator: &Indicator,
        registry: &AreaRegistry,
        policy: &SuppressionPolicy,
    ) -> Result<ObservationTable, FiguresError> {
        let mut rows: Vec<Observation> = self.observations(indicator)?.into_rows();
        protect(&mut rows, indicator.unit, registry, policy);
        Ok(rows.into_iter().collect())
    }

    /// Protects `rows` together with what is already stored for their periods, then stores the
    /// new rows and every stored cell that had to become secret, in one durable commit. Of
    /// equal cells in `rows`, the last wins.
    pub fn store_observations(
        &self,
        indicator: &Indicator,
        rows: Vec<Observation>,
        now: Timestamp,
        random: [u8; 8],
    ) -> Result<Stored, FiguresError> {
        self.store_rows(indicator, rows.into_iter().collect(), now, random)
    }

    /// [`Figures::store_observations`] for rows held by period, as an import reads them: one
    /// period at a time is protected together with what is stored for it, and encoded into
    /// compressed batches, so that only one period is ever held as full observations. The
    /// batches of all periods go into the document in one durable commit, or nothing does.
    pub fn store_rows(
        &self,
        indicator: &Indicator,
        rows: PeriodRows,
        now: Timestamp,
        random: [u8; 8],
    ) -> Result<Stored, FiguresError> {
        self.prepare_store(indicator)?.store(rows, now, random)
    }

    /// Loads what storing rows into `indicator` needs (its stored batches, the registry and the
    /// policy), to be used by [`PreparedStore::store`] once a file is read. Loading a large
    /// document takes several times its size for a moment; done before the file is read, that
    /// memory is given back before the file's rows are held, so the two do not add up. Only the
    /// batches are kept (the document holds them and its history besides); the document is
    /// loaded again to write, once every period is protected and the file's rows are freed.
    ///
    /// Stored rows written to the indicator in between are not protected together with the
    /// file's rows (they are kept, as every write is).
    pub fn prepare_store(
        &self,
        indicator: &Indicator,
    ) -> Result<PreparedStore<'_, 'r, S>, FiguresError> {
        Ok(PreparedStore {
            registry: self.registry()?,
            policy: self.policy()?,
            stored: self.batches(&indicator.id)?,
            indicator: indicator.clone(),
            figures: self,
        })
    }

    /// The area registry (empty when none was read in).
    pub fn registry(&self) -> Result<AreaRegistry, FiguresError> {
        let mut registry = AreaRegistry::default();
        if let Some(view) = self.first_of(REGISTRY_KIND)?.as_ref() {
            for bytes in self.batches(&view.id)? {
                registry
                    .merge_encoded(&bytes)
                    .map_err(|source| FiguresError::Codec {
                        doc: view.id.clone(),
                        source,
                    })?;
            }
        }
        Ok(registry)
    }

    /// Adds areas to the registry, creating the registry document on first use.
    pub fn store_registry(
        &self,
        areas: &AreaRegistry,
        now: Timestamp,
        random: [u8; 8],
    ) -> Result<DocId, FiguresError> {
        let existing = self.first_of(REGISTRY_KIND)?;
        self.written();
        let id = match existing.as_ref() {
            Some(view) => view.id.clone(),
            None => {
                let name = Assignment {
                    field: "naam".into(),
                    value: "Gebiedsindeling".into(),
                };
                self.replica.create(REGISTRY_KIND, &[name], now, random)?
            }
        };
        self.append_batches(
            &id,
            vec![areas.encode()],
            "gebiedsindeling ingelezen",
            now,
            random,
        )?;
        Ok(id)
    }

    /// The workspace's suppression policy (the defaults when none was set).
    pub fn policy(&self) -> Result<SuppressionPolicy, FiguresError> {
        Ok(self
            .replica
            .small_number_policy_among(&self.live_views()?)?)
    }

    /// Sets the workspace's suppression policy.
    pub fn set_policy(
        &self,
        policy: &SuppressionPolicy,
        now: Timestamp,
        random: [u8; 8],
    ) -> Result<DocView, FiguresError> {
        let set = [
            ("drempel", policy.threshold.to_string()),
            ("afronden", policy.round_to.to_string()),
            (
                "secundair",
                if policy.secondary { "ja" } else { "nee" }.to_string(),
            ),
        ]
        .map(|(field, value)| Assignment {
            field: field.into(),
            value,
        });
        let existing = self.first_of(POLICY_KIND)?;
        let mut loaded = match &existing {
            Some(view) => Some(self.replica.load(&view.id)?),
            None => None,
        };
        self.replica
            .check_policy(policy, loaded.as_mut().map(|l| &mut l.doc))?;
        self.written();
        let view = match existing.as_ref() {
            Some(view) => self.replica.update(&view.id, &set, now)?,
            None => {
                let id = self.replica.create(POLICY_KIND, &set, now, random)?;
                self.replica.get(&id)?
            }
        };
        Ok(view)
    }

    /// The floor the workspace set under its policy (CBS's rule unless its coordinators raised
    /// it; see `replica/floor.rs`).
    pub fn floor(&self) -> Result<SuppressionPolicy, FiguresError> {
        Ok(match self.first_of(POLICY_KIND)? {
            Some(view) => {
                let mut loaded = self.replica.load(&view.id)?;
                self.replica.floor_in(Some(&mut loaded.doc))?
            }
            None => self.replica.floor_in(None)?,
        })
    }

    /// Raises the workspace's floor (coordinators only; it never falls). The policy document is
    /// made with the policy in force when there is none yet.
    pub fn set_floor(
        &self,
        floor: &SuppressionPolicy,
        now: Timestamp,
        random: [u8; 8],
    ) -> Result<SuppressionPolicy, FiguresError> {
        let current = self.floor()?;
        // Checked before a policy document is made for it.
        self.replica.check_floor(floor, &current)?;
        let id = match self.first_of(POLICY_KIND)? {
            Some(view) => view.id,
            None => self.set_policy(&self.policy()?, now, random)?.id,
        };
        let mut loaded = self.replica.load(&id)?;
        self.replica.write_floor(&mut loaded.doc, floor, &current)?;
        self.replica
            .commit(&mut loaded, "ondergrens verhoogd", now)?;
        self.written();
        self.floor()
    }

    /// The stories linked to an indicator, oldest first, their counts protected by the policy
    /// in force now (a count stored under an earlier, laxer policy is shown as secret).
    pub fn stories(&self, indicator: &Indicator) -> Result<Vec<Story>, FiguresError> {
        let policy = self.policy()?;
        Ok(self
            .of_kind(STORY_KIND)?
            .iter()
            .filter_map(|v| Story::linked(v, &indicator.name))
            .map(|mut s| {
                if s.aantal_jongeren.is_some_and(|n| n <= policy.threshold) {
                    s.aantal_jongeren = None;
                    s.aantal_geheim = true;
                }
                s
            })
            .collect())
    }

    /// The results measured by `indicator` (from its protected `table`, as
    /// [`Figures::shown_observations`] gives it), with baseline, target, the latest value of
    /// `area` up to `up_to` and whether it is on course at `now`.
    pub fn targets(
        &self,
        indicator: &Indicator,
        table: &ObservationTable,
        area: AreaCode,
        up_to: Option<Period>,
        now: Timestamp,
    ) -> Result<IndicatorTargets, FiguresError> {
        let views = self.live_views()?;
        Ok(targets::targets(
            indicator,
            table,
            &views,
            self.replica.catalog(),
            area,
            up_to,
            now,
        ))
    }

    /// Per indicator that results are measured by, those results with their baseline, target,
    /// the latest value of `area` (protected with the policy in force) and their course at `now`.
    pub fn all_targets(
        &self,
        area: AreaCode,
        now: Timestamp,
    ) -> Result<Vec<IndicatorTargets>, FiguresError> {
        let catalog = self.replica.catalog();
        let views = self.live_views()?;
        let named: Vec<&FieldValue> = views
            .iter()
            .filter_map(|d| {
                let field = catalog
                    .kind(&d.kind)
                    .and_then(targets::result_indicator_field)?;
                d.fields.get(field)
            })
            .collect();
        let mut out = Vec::new();
        for indicator in self.indicators()? {
            if !named.contains(&&FieldValue::Text(indicator.name.clone())) {
                continue;
            }
            let (table, _) = self.shown_observations(&indicator)?;
            out.push(targets::targets(
                &indicator, &table, &views, catalog, area, None, now,
            ));
        }
        Ok(out)
    }

    /// The live documents of one kind, oldest first.
    fn of_kind(&self, kind: &str) -> Result<Vec<DocView>, FiguresError> {
        Ok(self
            .live_views()?
            .into_iter()
            .filter(|v| v.kind == kind)
            .collect())
    }

    /// Every live document, oldest first.
    fn live_views(&self) -> Result<Vec<DocView>, FiguresError> {
        let mut cache = self.views.borrow_mut();
        let views = match cache.as_mut() {
            Some(views) => views,
            None => cache.insert(self.replica.list(None, false)?),
        };
        Ok(views.clone())
    }

    /// The oldest live document of one kind.
    fn first_of(&self, kind: &str) -> Result<Option<DocView>, FiguresError> {
        Ok(self.of_kind(kind)?.into_iter().next())
    }

    /// Forgets the cached views after a write.
    fn written(&self) {
        self.views.borrow_mut().take();
    }

    fn batches(&self, id: &DocId) -> Result<Vec<Vec<u8>>, FiguresError> {
        let loaded = self.replica.load(id)?;
        read_batches(&loaded.doc).map_err(|problem| FiguresError::Layout {
            doc: id.clone(),
            problem,
        })
    }

    /// Adds `chunks` as one batch to the document `id` and commits it durably.
    fn append_batches(
        &self,
        id: &DocId,
        chunks: Vec<Vec<u8>>,
        action: &str,
        now: Timestamp,
        random: [u8; 8],
    ) -> Result<(), FiguresError> {
        let mut loaded = self.replica.load(id)?;
        let layout = |e: automerge::AutomergeError| FiguresError::Layout {
            doc: id.clone(),
            problem: e.to_string(),
        };
        let map = match loaded.doc.get(ROOT, BATCHES).map_err(layout)? {
            Some((Value::Object(ObjType::Map), map)) => map,
            _ => loaded
                .doc
                .put_object(ROOT, BATCHES, ObjType::Map)
                .map_err(layout)?,
        };
        let prefix = format!("{:013}-{}", now.millis().max(0), hex(&random));
        for (i, bytes) in chunks.into_iter().enumerate() {
            loaded
                .doc
                .put(&map, format!("{prefix}-{i:04}"), ScalarValue::Bytes(bytes))
                .map_err(layout)?;
        }
        self.written();
        self.replica.commit(&mut loaded, action, now)?;
        Ok(())
    }
}

/// An indicator's stored batches read to store rows beside, with the registry and the policy
/// that protect them ([`Figures::prepare_store`]).
pub struct PreparedStore<'f, 'r, S: Store> {
    figures: &'f Figures<'r, S>,
    indicator: Indicator,
    /// The batches stored when the store was prepared, in key order.
    stored: Vec<Vec<u8>>,
    registry: AreaRegistry,
    policy: SuppressionPolicy,
}

impl<S: Store> PreparedStore<'_, '_, S> {
    /// The indicator the rows go to.
    pub fn indicator(&self) -> &Indicator {
        &self.indicator
    }

    /// Protects and stores `rows` as [`Figures::store_rows`] says.
    pub fn store(
        self,
        rows: PeriodRows,
        now: Timestamp,
        random: [u8; 8],
    ) -> Result<Stored, FiguresError> {
        let indicator = &self.indicator;
        let codec_error = |source: CodecError| FiguresError::Codec {
            doc: indicator.id.clone(),
            source,
        };
        let too_large = |period: Period| FiguresError::PeriodTooLarge {
            indicator: indicator.name.clone(),
            period,
            limit: MAX_PERIOD_ROWS,
        };
        let mut stored = Stored::default();
        let mut chunks = Vec::new();
        for (period, mut all) in rows.into_periods() {
            if all.len() > MAX_PERIOD_ROWS {
                return Err(too_large(period));
            }
            // Newest first: sorting keeps the first of equal cells.
            all.reverse();
            with_unreplaced(&mut all, &self.stored, period).map_err(codec_error)?;
            let protection = protect(&mut all, indicator.unit, &self.registry, &self.policy);
            if all.len() > MAX_PERIOD_ROWS {
                return Err(too_large(period));
            }
            stored.protection.primary += protection.primary;
            stored.protection.secondary += protection.secondary;
            stored.protection.unchecked_groups += protection.unchecked_groups;
            let unchanged = stored_as_they_are(&all, &self.stored, period).map_err(codec_error)?;
            let mut at = 0;
            all.retain(|_| {
                at += 1;
                !unchanged[at - 1]
            });
            stored.rows += all.len();
            chunks.extend(codec::encode_batches(&all).map_err(codec_error)?);
        }
        drop(self.stored);
        if !chunks.is_empty() {
            self.figures
                .append_batches(&indicator.id, chunks, "cijfers ingelezen", now, random)?;
        }
        Ok(stored)
    }
}

/// Decodes, one line at a time, the stored rows of `period` in `batches` (in key order), so
/// that the period's stored rows are never held whole; compressed batches that name other
/// periods are not decoded.
fn each_stored_in_period(
    batches: &[Vec<u8>],
    period: Period,
    mut each: impl FnMut(Observation),
) -> Result<(), CodecError> {
    for bytes in batches {
        if codec::periods(bytes)?.is_some_and(|(first, last)| !(first..=last).contains(&period)) {
            continue;
        }
        codec::decode_each(bytes, |o| {
            if o.period == period {
                each(o);
            }
        })?;
    }
    Ok(())
}

/// Adds to `new` (rows of `period`, newest first) the stored rows of that period whose cells
/// no row of `new` replaces, the latest of each cell first, so that protection sees every cell
/// of the period once (it keeps the first of equal cells). The stored rows that are replaced
/// are passed over as they are decoded: neither they nor the period's stored rows are held.
/// With stored rows for the period, `new` is left sorted by cell.
fn with_unreplaced(
    new: &mut Vec<Observation>,
    batches: &[Vec<u8>],
    period: Period,
) -> Result<(), CodecError> {
    let mut any = false;
    for bytes in batches {
        any |= codec::periods(bytes)?.is_none_or(|(first, last)| (first..=last).contains(&period));
    }
    if !any {
        return Ok(());
    }
    sort_cells(new);
    let mut cells = CellIndex::of(new);
    let mut kept = Vec::new();
    each_stored_in_period(batches, period, |o| {
        if cells.find(&o).is_none() {
            kept.push(o);
        }
    })?;
    // Later batches win: their rows go first.
    kept.reverse();
    new.reserve_exact(kept.len());
    new.extend(kept);
    Ok(())
}

/// For each of `rows` (of `period`, protected, so sorted by cell), whether the latest stored
/// row of its cell is the same: such a row need not be written again. The stored rows are
/// decoded again to compare, rather than held since [`with_unreplaced`].
fn stored_as_they_are(
    rows: &[Observation],
    batches: &[Vec<u8>],
    period: Period,
) -> Result<Vec<bool>, CodecError> {
    let mut same = vec![false; rows.len()];
    let mut cells = CellIndex::of(rows);
    each_stored_in_period(batches, period, |o| {
        if let Some(i) = cells.find(&o) {
            // A later batch decides over an earlier one.
            same[i] = rows[i] == o;
        }
    })?;
    Ok(same)
}

/// The workspace's small-number policy, as the replica's guard applies it to counts in fields.
pub fn small_number_policy<S: Store>(
    replica: &Replica<S>,
) -> Result<SuppressionPolicy, ReplicaError> {
    // Only coordinators' changes count, never weaker than the floor (`replica/rights.rs`).
    replica.small_number_policy()
}

/// The batches of a document in key order; a document without batches has none.
pub fn read_batches(doc: &AutoCommit) -> Result<Vec<Vec<u8>>, String> {
    let map = match doc.get(ROOT, BATCHES).map_err(|e| e.to_string())? {
        None => return Ok(Vec::new()),
        Some((Value::Object(ObjType::Map), map)) => map,
        Some(_) => return Err(format!("{BATCHES} is geen map")),
    };
    let mut out = Vec::new();
    for key in doc.keys(&map) {
        match doc.get(&map, key.as_str()).map_err(|e| e.to_string())? {
            Some((Value::Scalar(s), _)) => match s.as_ref() {
                ScalarValue::Bytes(b) => out.push(b.clone()),
                _ => return Err(format!("batch {key} is geen reeks bytes")),
            },
            _ => return Err(format!("batch {key} is geen reeks bytes")),
        }
    }
    Ok(out)
}

/// Checks the batches of a document that arrives from elsewhere: each must decode, and pass the
/// privacy guard, before the replica stores the document.
pub fn verify_incoming(doc: &AutoCommit, kind: &str) -> Result<(), String> {
    let batches = read_batches(doc)?;
    for bytes in &batches {
        match kind {
            INDICATOR_KIND => {
                codec::decode(bytes).map_err(|e| e.to_string())?;
            }
            REGISTRY_KIND => AreaRegistry::default()
                .merge_encoded(bytes)
                .map_err(|e| e.to_string())?,
            _ => {
                return Err(format!(
                    "documentsoort {kind} hoort geen cijfers te bevatten"
                ));
            }
        }
    }
    Ok(())
}
