//! The relay's tables in PostgreSQL and the migrations that make them, applied by the relay
//! itself when it starts (docs/relay.md shows the schema).
//!
//! Everything lives in the schema `kompas` of the database the URL names. The migrations run in
//! one transaction under an advisory lock, so nodes that start together apply each migration
//! once; a database whose schema is newer than the relay knows is refused, so an older node
//! never writes to tables it does not understand.
//!
//! The two write functions keep a workspace's invariants inside the database, whoever writes:
//! each takes the workspace's row lock, so bundle sequence numbers are dense and unique under
//! any number of writers, a bundle is checked against the membership log it was checked
//! against (`members`), a hash is stored once, and the totals of the quotas hold for all nodes
//! together. Each write notifies the channel `kompas` when its transaction commits.

use tokio_postgres::Client;

use super::PgError;

/// The channel writes are announced on: `<workspace hex> b <head>` or `<workspace hex> o
/// <membership log length>`.
pub const CHANNEL: &str = "kompas";

/// The migrations, in order; the version of the schema is the number applied.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE kompas.meta (
    name text PRIMARY KEY,
    value bytea NOT NULL
);

CREATE TABLE kompas.workspaces (
    id bytea PRIMARY KEY CHECK (length(id) = 16),
    head bigint NOT NULL DEFAULT 0,
    ops_len bigint NOT NULL DEFAULT 0,
    stored_bytes bigint NOT NULL DEFAULT 0,
    creator bytea NOT NULL
);
CREATE INDEX workspaces_by_creator ON kompas.workspaces (creator);

CREATE TABLE kompas.bundles (
    workspace bytea NOT NULL REFERENCES kompas.workspaces (id) ON DELETE CASCADE,
    seq bigint NOT NULL,
    hash bytea NOT NULL,
    body bytea NOT NULL,
    PRIMARY KEY (workspace, seq),
    UNIQUE (workspace, hash)
);

CREATE TABLE kompas.member_ops (
    workspace bytea NOT NULL REFERENCES kompas.workspaces (id) ON DELETE CASCADE,
    idx bigint NOT NULL,
    body bytea NOT NULL,
    PRIMARY KEY (workspace, idx)
);

CREATE TABLE kompas.marks (
    name text PRIMARY KEY
);

-- Appends a bundle after the workspace's head unless its hash is stored. Answers the outcome
-- ('new', 'duplicate', 'stale', 'missing', 'quota') with the sequence number.
CREATE FUNCTION kompas.append_bundle(
    p_ws bytea, p_hash bytea, p_body bytea, p_members bigint, p_max_bytes bigint
) RETURNS TABLE (outcome text, seq bigint) LANGUAGE plpgsql AS $$
DECLARE
    w kompas.workspaces%ROWTYPE;
    found_seq bigint;
BEGIN
    SELECT * INTO w FROM kompas.workspaces WHERE id = p_ws FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'missing'::text, 0::bigint;
        RETURN;
    END IF;
    SELECT b.seq INTO found_seq FROM kompas.bundles b WHERE b.workspace = p_ws AND b.hash = p_hash;
    IF FOUND THEN
        RETURN QUERY SELECT 'duplicate'::text, found_seq;
        RETURN;
    END IF;
    IF w.ops_len <> p_members THEN
        RETURN QUERY SELECT 'stale'::text, w.head;
        RETURN;
    END IF;
    IF p_max_bytes > 0 AND w.stored_bytes + length(p_body) > p_max_bytes THEN
        RETURN QUERY SELECT 'quota'::text, w.head;
        RETURN;
    END IF;
    INSERT INTO kompas.bundles (workspace, seq, hash, body) VALUES (p_ws, w.head + 1, p_hash, p_body);
    UPDATE kompas.workspaces
        SET head = w.head + 1, stored_bytes = w.stored_bytes + length(p_body)
        WHERE id = p_ws;
    PERFORM pg_notify('kompas', encode(p_ws, 'hex') || ' b ' || (w.head + 1));
    RETURN QUERY SELECT 'new'::text, w.head + 1;
END $$;

-- Appends a membership operation at p_idx, the first one creating the workspace. Answers
-- 'new', 'stale' (the index is taken), 'quota' (the log is full, or the creator made as many
-- workspaces as it may).
CREATE FUNCTION kompas.append_op(
    p_ws bytea, p_idx bigint, p_body bytea, p_creator bytea, p_max_ops bigint,
    p_max_created bigint
) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    w_ops bigint;
    made bigint;
BEGIN
    IF p_idx = 0 THEN
        IF p_max_created > 0 THEN
            PERFORM pg_advisory_xact_lock(hashtext('kompas.create'));
            SELECT count(*) INTO made FROM kompas.workspaces WHERE creator = p_creator;
            IF made >= p_max_created THEN
                RETURN 'quota';
            END IF;
        END IF;
        INSERT INTO kompas.workspaces (id, creator) VALUES (p_ws, p_creator)
            ON CONFLICT (id) DO NOTHING;
    END IF;
    SELECT ops_len INTO w_ops FROM kompas.workspaces WHERE id = p_ws FOR UPDATE;
    IF NOT FOUND OR w_ops <> p_idx THEN
        RETURN 'stale';
    END IF;
    IF p_max_ops > 0 AND p_idx + 1 > p_max_ops THEN
        RETURN 'quota';
    END IF;
    INSERT INTO kompas.member_ops (workspace, idx, body) VALUES (p_ws, p_idx, p_body);
    UPDATE kompas.workspaces SET ops_len = p_idx + 1 WHERE id = p_ws;
    PERFORM pg_notify('kompas', encode(p_ws, 'hex') || ' o ' || (p_idx + 1));
    RETURN 'new';
END $$;
"#,
    r#"
-- What each node charged against the per-minute quotas in a recent minute, one row per
-- subject ('k' and a key, 'w' and a workspace, or 'c' for workspaces created), so that every
-- node counts what the others used (see usage.rs).
CREATE TABLE kompas.usage (
    node bigint NOT NULL,
    minute bigint NOT NULL,
    subject bytea NOT NULL,
    bundles bigint NOT NULL,
    bytes bigint NOT NULL,
    ops bigint NOT NULL,
    PRIMARY KEY (minute, node, subject)
);
"#,
];

/// The schema version this relay writes.
pub const VERSION: i32 = MIGRATIONS.len() as i32;

/// Brings the schema up to [`VERSION`], applying what is missing in one transaction.
pub async fn migrate(client: &mut Client) -> Result<i32, PgError> {
    let tx = client.transaction().await?;
    tx.batch_execute(
        "SET LOCAL client_min_messages = warning;
         SELECT pg_advisory_xact_lock(hashtext('kompas.migrate'));
         CREATE SCHEMA IF NOT EXISTS kompas;
         CREATE TABLE IF NOT EXISTS kompas.schema_version (
             version integer PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
         );",
    )
    .await?;
    let found: i32 = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM kompas.schema_version",
            &[],
        )
        .await?
        .get(0);
    if found > VERSION {
        return Err(PgError::SchemaTooNew {
            found,
            known: VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = i as i32 + 1;
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO kompas.schema_version (version) VALUES ($1)",
            &[&version],
        )
        .await?;
        tracing::info!(version, "databaseschema bijgewerkt");
    }
    tx.commit().await?;
    Ok(VERSION)
}
