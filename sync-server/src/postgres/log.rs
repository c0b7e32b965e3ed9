//! One workspace's logs in PostgreSQL, as the relay's core reads and writes them. Every write is
//! one call of a function of [`super::schema`], durable when it returns; reads ask only for the
//! page the core asks for.

use kompas_engine::sync::membership::SignedOp;
use kompas_engine::sync::wire::{Encoded, Hash32, SealedBundle, Sequenced, WorkspaceId};

use super::{PgError, PgStore};
use crate::protocol::log::{Appended, OpWritten, WorkspaceLog, page_takes};

/// A workspace's log in PostgreSQL.
#[derive(Clone)]
pub struct PgLog {
    store: PgStore,
    id: WorkspaceId,
}

fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn unsigned(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

impl PgLog {
    /// The log of workspace `id` in `store`.
    pub fn new(store: PgStore, id: WorkspaceId) -> PgLog {
        PgLog { store, id }
    }

    /// The workspace's row: head, membership log length, stored bytes (zeros if there is none).
    async fn row(&self) -> Result<(u64, u64, u64), PgError> {
        let client = self.store.client().await?;
        let row = self.store.noted(
            client
                .query_opt(
                    "SELECT head, ops_len, stored_bytes FROM kompas.workspaces WHERE id = $1",
                    &[&&self.id.0[..]],
                )
                .await
                .map_err(PgError::from),
        )?;
        Ok(row.map_or((0, 0, 0), |r| {
            (unsigned(r.get(0)), unsigned(r.get(1)), unsigned(r.get(2)))
        }))
    }

    /// Appends a bundle (see [`WorkspaceLog::append`]).
    pub async fn append_bundle(
        &self,
        hash: &Hash32,
        bundle: &SealedBundle,
        members: u64,
    ) -> Result<Appended, PgError> {
        let client = self.store.client().await?;
        let body = bundle.to_bytes();
        let max = signed(self.store.shared_quotas().workspace_bytes);
        let row = self.store.noted(
            client
                .query_one(
                    "SELECT outcome, seq FROM kompas.append_bundle($1, $2, $3, $4, $5)",
                    &[&&self.id.0[..], &&hash.0[..], &body, &signed(members), &max],
                )
                .await
                .map_err(PgError::from),
        )?;
        let outcome: String = row.get(0);
        let seq = unsigned(row.get(1));
        match outcome.as_str() {
            "new" => Ok(Appended::New(seq)),
            "duplicate" => Ok(Appended::Duplicate(seq)),
            "stale" => Ok(Appended::Stale),
            "quota" => Err(self.store.over_quota("workspace_bytes")),
            _ => Err(PgError::Corrupt(format!("samenwerking {}", self.id))),
        }
    }

    /// Appends a membership operation (see [`WorkspaceLog::append_op`]).
    pub async fn append_member_op(&self, index: u64, op: &SignedOp) -> Result<OpWritten, PgError> {
        let client = self.store.client().await?;
        let quotas = self.store.shared_quotas();
        let row = self.store.noted(
            client
                .query_one(
                    "SELECT kompas.append_op($1, $2, $3, $4, $5, $6)",
                    &[
                        &&self.id.0[..],
                        &signed(index),
                        &op.to_bytes(),
                        &&op.op.author.0[..],
                        &signed(quotas.workspace_ops),
                        &signed(quotas.workspaces_per_key),
                    ],
                )
                .await
                .map_err(PgError::from),
        )?;
        let outcome: String = row.get(0);
        match outcome.as_str() {
            "new" => Ok(OpWritten::Written),
            "stale" => Ok(OpWritten::Stale),
            "quota" if index == 0 => Err(self.store.over_quota("workspaces_per_key")),
            "quota" => Err(self.store.over_quota("workspace_ops")),
            _ => Err(PgError::Corrupt(format!("samenwerking {}", self.id))),
        }
    }

    /// A page of bundles (see [`WorkspaceLog::bundles`]); the database sums the sizes, so a
    /// page never reads more bodies than it returns.
    pub async fn page(
        &self,
        after: u64,
        upto: u64,
        limit: usize,
        budget: usize,
    ) -> Result<Vec<Sequenced>, PgError> {
        if after >= upto || limit == 0 {
            return Ok(Vec::new());
        }
        let client = self.store.client().await?;
        let rows = self.store.noted(
            client
                .query(
                    "SELECT seq, body FROM (
                         SELECT seq, body,
                                sum(length(body)) OVER (ORDER BY seq) AS upto_here,
                                row_number() OVER (ORDER BY seq) AS n
                         FROM kompas.bundles
                         WHERE workspace = $1 AND seq > $2 AND seq <= $3
                         ORDER BY seq LIMIT $4
                     ) page
                     WHERE n = 1 OR upto_here <= $5
                     ORDER BY seq",
                    &[
                        &&self.id.0[..],
                        &signed(after),
                        &signed(upto),
                        &signed(limit as u64),
                        &signed(budget as u64),
                    ],
                )
                .await
                .map_err(PgError::from),
        )?;
        let mut out = Vec::with_capacity(rows.len());
        let mut bytes = 0usize;
        for row in rows {
            let seq = unsigned(row.get(0));
            let body: Vec<u8> = row.get(1);
            if !page_takes(out.len(), bytes, body.len(), limit, budget) {
                break;
            }
            bytes += body.len();
            let bundle = SealedBundle::from_bytes(&body)
                .map_err(|e| PgError::Corrupt(format!("wijziging {seq}: {e}")))?;
            out.push(Sequenced { seq, bundle });
        }
        Ok(out)
    }

    /// A page of membership operations (see [`WorkspaceLog::ops`]).
    pub async fn member_ops(
        &self,
        after: u64,
        upto: u64,
        budget: usize,
    ) -> Result<Vec<SignedOp>, PgError> {
        if after >= upto {
            return Ok(Vec::new());
        }
        let client = self.store.client().await?;
        let rows = self.store.noted(
            client
                .query(
                    "SELECT idx, body FROM kompas.member_ops
                     WHERE workspace = $1 AND idx >= $2 AND idx < $3 ORDER BY idx",
                    &[&&self.id.0[..], &signed(after), &signed(upto)],
                )
                .await
                .map_err(PgError::from),
        )?;
        let mut out = Vec::new();
        let mut bytes = 0usize;
        for row in rows {
            let index: i64 = row.get(0);
            let body: Vec<u8> = row.get(1);
            if !out.is_empty() && bytes.saturating_add(body.len()) > budget {
                break;
            }
            bytes = bytes.saturating_add(body.len());
            out.push(
                SignedOp::from_bytes(&body)
                    .map_err(|e| PgError::Corrupt(format!("lidmaatschapsoperatie {index}: {e}")))?,
            );
        }
        Ok(out)
    }
}

impl WorkspaceLog for PgLog {
    type Error = PgError;

    fn append(
        &mut self,
        hash: &Hash32,
        bundle: &SealedBundle,
        _head: u64,
        members: u64,
    ) -> Result<Appended, PgError> {
        self.store.run(self.append_bundle(hash, bundle, members))
    }

    fn bundles(
        &self,
        after: u64,
        upto: u64,
        limit: usize,
        budget: usize,
    ) -> Result<Vec<Sequenced>, PgError> {
        self.store.run(self.page(after, upto, limit, budget))
    }

    fn head(&self) -> Result<u64, PgError> {
        Ok(self.store.run(self.row())?.0)
    }

    fn stored_bytes(&self) -> Result<u64, PgError> {
        Ok(self.store.run(self.row())?.2)
    }

    fn append_op(&mut self, index: u64, op: &SignedOp) -> Result<OpWritten, PgError> {
        self.store.run(self.append_member_op(index, op))
    }

    fn ops(&self, after: u64, upto: u64, budget: usize) -> Result<Vec<SignedOp>, PgError> {
        self.store.run(self.member_ops(after, upto, budget))
    }

    fn ops_len(&self) -> Result<u64, PgError> {
        Ok(self.store.run(self.row())?.1)
    }
}
