//! The worker's statements: set-based (upserts with arrays bound through
//! `UNNEST`, in chunks of `CHUNK` rows; decisions, history and outbox rows by
//! binary `COPY`), bound parameters only.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Transaction};
use futures_util::{Stream, StreamExt};
use tokio_postgres::Row;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

use super::DbError;

type Result<T> = std::result::Result<T, DbError>;

/// Every transaction that decides takes this advisory lock: shared for work on
/// a set of contacts (which also locks those contacts' rows), exclusive for a
/// campaign change and for each page of its whole-audience fan-out. So a page
/// never decides a contact that a contact batch is deciding, and a contact
/// batch that starts after the campaign change sees the campaign.
const DECIDE_LOCK: i64 = 0x646d_7564_6563;

/// Rows per statement for bulk writes: keeps each bind message small.
const CHUNK: usize = 5000;

pub async fn lock_shared(txn: &Transaction<'_>) -> Result<()> {
    let stmt = txn
        .prepare_cached("SELECT pg_advisory_xact_lock_shared($1)")
        .await?;
    txn.execute(&stmt, &[&DECIDE_LOCK]).await?;
    Ok(())
}

pub async fn lock_exclusive(txn: &Transaction<'_>) -> Result<()> {
    let stmt = txn
        .prepare_cached("SELECT pg_advisory_xact_lock($1)")
        .await?;
    txn.execute(&stmt, &[&DECIDE_LOCK]).await?;
    Ok(())
}

/// The version of what decisions are read from (migration V6): every statement
/// that writes contacts, suppressions, consents or decisions moves it on. It
/// is the last number drawn: before the first draw `last_value` is already
/// the first number, with `is_called` false.
pub async fn decide_state_version(txn: &Transaction<'_>) -> Result<i64> {
    let stmt = txn
        .prepare_cached(
            "SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END \
             FROM decide_state_version",
        )
        .await?;
    Ok(txn.query_one(&stmt, &[]).await?.get(0))
}

/// Records the events as processed for `queue`; returns the ids that were new.
pub async fn inbox_claim(
    txn: &Transaction<'_>,
    queue: &str,
    event_ids: &[&str],
) -> Result<HashSet<String>> {
    if event_ids.is_empty() {
        return Ok(HashSet::new());
    }
    let stmt = txn
        .prepare_cached(
            "INSERT INTO inbox (queue, event_id) \
             SELECT $1, e FROM UNNEST($2::text[]) AS e \
             ON CONFLICT DO NOTHING RETURNING event_id",
        )
        .await?;
    let rows = txn.query(&stmt, &[&queue, &event_ids]).await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Row-locks the contacts (creating id-only rows for unknown ones), in id
/// order so that concurrent batches cannot deadlock. `ids` must be sorted and
/// unique. A row this transaction inserted is its own until commit (another
/// insert of the id waits on the unique index), so only the others are
/// locked with `FOR UPDATE`, which writes to every row it locks.
pub async fn lock_contacts(txn: &Transaction<'_>, ids: &[&str]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let insert = txn
        .prepare_cached(
            "INSERT INTO contacts (contact_id) \
             SELECT c FROM UNNEST($1::text[]) AS c ORDER BY c \
             ON CONFLICT DO NOTHING RETURNING contact_id",
        )
        .await?;
    let lock = txn
        .prepare_cached(
            "SELECT contact_id FROM contacts WHERE contact_id = ANY($1) \
             ORDER BY contact_id FOR UPDATE",
        )
        .await?;
    let mut waiting: Vec<&str> = ids.to_vec();
    // A row deleted (erasure) by the transaction we waited for is skipped by
    // FOR UPDATE: insert it again and retry.
    for _ in 0..10 {
        let inserted: HashSet<String> = txn
            .query(&insert, &[&waiting])
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        waiting.retain(|id| !inserted.contains(*id));
        if waiting.is_empty() {
            return Ok(());
        }
        let locked: HashSet<String> = txn
            .query(&lock, &[&waiting])
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        waiting.retain(|id| !locked.contains(*id));
        if waiting.is_empty() {
            return Ok(());
        }
    }
    Err(DbError::Unavailable(
        "contacts kept disappearing while being locked".into(),
    ))
}

/// Row-locks the contacts that exist, in id order; creates nothing.
pub async fn lock_existing_contacts(txn: &Transaction<'_>, ids: &[&str]) -> Result<()> {
    let lock = txn
        .prepare_cached(
            "SELECT contact_id FROM contacts WHERE contact_id = ANY($1) \
             ORDER BY contact_id FOR UPDATE",
        )
        .await?;
    txn.query(&lock, &[&ids]).await?;
    Ok(())
}

/// Deletes id-only rows (no data) of these contacts.
pub async fn delete_empty_contacts(txn: &Transaction<'_>, ids: &[&str]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let stmt = txn
        .prepare_cached("DELETE FROM contacts WHERE contact_id = ANY($1) AND data IS NULL")
        .await?;
    txn.execute(&stmt, &[&ids]).await?;
    Ok(())
}

/// A contact row as stored.
#[derive(Debug, Clone)]
pub struct StoredContact {
    pub contact_id: String,
    pub version: i64,
    pub occurred_at: Option<DateTime<Utc>>,
    /// `dmumatch.v1.Contact`; None for a contact known only by id.
    pub data: Option<Vec<u8>>,
}

pub async fn load_contacts(txn: &Transaction<'_>, ids: &[&str]) -> Result<Vec<StoredContact>> {
    let stmt = txn
        .prepare_cached(
            "SELECT contact_id, version, occurred_at, data FROM contacts \
             WHERE contact_id = ANY($1)",
        )
        .await?;
    let rows = txn.query(&stmt, &[&ids]).await?;
    Ok(rows
        .iter()
        .map(|r| StoredContact {
            contact_id: r.get(0),
            version: r.get(1),
            occurred_at: r.get(2),
            data: r.get(3),
        })
        .collect())
}

/// (contact id, protobuf) of the suppressions received as events, oldest first.
pub async fn load_suppressions(
    txn: &Transaction<'_>,
    ids: &[&str],
) -> Result<Vec<(String, Vec<u8>)>> {
    let stmt = txn
        .prepare_cached(
            "SELECT contact_id, data FROM suppressions WHERE contact_id = ANY($1) ORDER BY id",
        )
        .await?;
    Ok(pairs(txn.query(&stmt, &[&ids]).await?))
}

/// (contact id, protobuf) of the consents received as events, oldest first.
pub async fn load_consents(txn: &Transaction<'_>, ids: &[&str]) -> Result<Vec<(String, Vec<u8>)>> {
    let stmt = txn
        .prepare_cached(
            "SELECT contact_id, data FROM consents WHERE contact_id = ANY($1) ORDER BY id",
        )
        .await?;
    Ok(pairs(txn.query(&stmt, &[&ids]).await?))
}

fn pairs(rows: Vec<Row>) -> Vec<(String, Vec<u8>)> {
    rows.iter().map(|r| (r.get(0), r.get(1))).collect()
}

/// Which of these hashes belong to erased contacts, and when they were erased.
pub async fn erased(
    txn: &Transaction<'_>,
    hashes: &[&[u8]],
) -> Result<HashMap<Vec<u8>, DateTime<Utc>>> {
    if hashes.is_empty() {
        return Ok(HashMap::new());
    }
    let stmt = txn
        .prepare_cached("SELECT hash, erased_at FROM erased_contacts WHERE hash = ANY($1)")
        .await?;
    let rows = txn.query(&stmt, &[&hashes]).await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// A contact to store (already decided to be newer than the stored one).
#[derive(Debug, Clone)]
pub struct ContactWrite {
    pub contact_id: String,
    pub version: i64,
    pub occurred_at: Option<DateTime<Utc>>,
    pub data: Vec<u8>,
    pub country: String,
    pub org_country: String,
    pub organisation_id: String,
    pub function: String,
    pub seniority: String,
}

/// Upserts contacts whose rows this transaction has locked (`lock_contacts`)
/// and whose order `process::newer` has decided. Rows carry the highest
/// version seen, so the guard only keeps a version from going backwards.
/// Returns the number of rows written.
pub async fn upsert_contacts(txn: &Transaction<'_>, rows: &[ContactWrite]) -> Result<u64> {
    let stmt = txn
        .prepare_cached(
            "INSERT INTO contacts AS c (contact_id, version, occurred_at, data, country, \
                 org_country, organisation_id, function, seniority, updated_at) \
             SELECT id, v, o, d, co, oc, org, f, s, now() FROM UNNEST($1::text[], $2::bigint[], \
                 $3::timestamptz[], $4::bytea[], $5::text[], $6::text[], $7::text[], $8::text[], \
                 $9::text[]) AS t(id, v, o, d, co, oc, org, f, s) ORDER BY id \
             ON CONFLICT (contact_id) DO UPDATE SET version = EXCLUDED.version, \
                 occurred_at = EXCLUDED.occurred_at, data = EXCLUDED.data, \
                 country = EXCLUDED.country, org_country = EXCLUDED.org_country, \
                 organisation_id = EXCLUDED.organisation_id, function = EXCLUDED.function, \
                 seniority = EXCLUDED.seniority, updated_at = now() \
             WHERE c.data IS NULL OR EXCLUDED.version >= c.version",
        )
        .await?;
    let mut written = 0;
    for chunk in rows.chunks(CHUNK) {
        let ids: Vec<&str> = chunk.iter().map(|r| r.contact_id.as_str()).collect();
        let versions: Vec<i64> = chunk.iter().map(|r| r.version).collect();
        let occurred: Vec<Option<DateTime<Utc>>> = chunk.iter().map(|r| r.occurred_at).collect();
        let data: Vec<&[u8]> = chunk.iter().map(|r| r.data.as_slice()).collect();
        let country: Vec<&str> = chunk.iter().map(|r| r.country.as_str()).collect();
        let org_country: Vec<&str> = chunk.iter().map(|r| r.org_country.as_str()).collect();
        let org: Vec<&str> = chunk.iter().map(|r| r.organisation_id.as_str()).collect();
        let function: Vec<&str> = chunk.iter().map(|r| r.function.as_str()).collect();
        let seniority: Vec<&str> = chunk.iter().map(|r| r.seniority.as_str()).collect();
        written += txn
            .execute(
                &stmt,
                &[
                    &ids,
                    &versions,
                    &occurred,
                    &data,
                    &country,
                    &org_country,
                    &org,
                    &function,
                    &seniority,
                ],
            )
            .await?;
    }
    Ok(written)
}

#[derive(Debug, Clone)]
pub struct OrganisationWrite {
    pub organisation_id: String,
    pub country: String,
    pub legal_form: String,
    pub entity_type: i16,
    pub domain: String,
    pub employee_count: i32,
    pub industry: String,
    pub occurred_at: Option<DateTime<Utc>>,
}

/// Organisations as the latest contact event describes them (by `occurred_at`).
pub async fn upsert_organisations(txn: &Transaction<'_>, rows: &[OrganisationWrite]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let stmt = txn
        .prepare_cached(
            "INSERT INTO organisations AS o (organisation_id, country, legal_form, entity_type, \
                 domain, employee_count, industry, occurred_at, updated_at) \
             SELECT id, c, l, e, d, n, i, t, now() FROM UNNEST($1::text[], $2::text[], \
                 $3::text[], $4::smallint[], $5::text[], $6::integer[], $7::text[], \
                 $8::timestamptz[]) AS u(id, c, l, e, d, n, i, t) ORDER BY id \
             ON CONFLICT (organisation_id) DO UPDATE SET country = EXCLUDED.country, \
                 legal_form = EXCLUDED.legal_form, entity_type = EXCLUDED.entity_type, \
                 domain = EXCLUDED.domain, employee_count = EXCLUDED.employee_count, \
                 industry = EXCLUDED.industry, occurred_at = EXCLUDED.occurred_at, \
                 updated_at = now() \
             WHERE COALESCE(EXCLUDED.occurred_at, '-infinity') \
                 >= COALESCE(o.occurred_at, '-infinity')",
        )
        .await?;
    for chunk in rows.chunks(CHUNK) {
        let ids: Vec<&str> = chunk.iter().map(|r| r.organisation_id.as_str()).collect();
        let country: Vec<&str> = chunk.iter().map(|r| r.country.as_str()).collect();
        let legal: Vec<&str> = chunk.iter().map(|r| r.legal_form.as_str()).collect();
        let entity: Vec<i16> = chunk.iter().map(|r| r.entity_type).collect();
        let domain: Vec<&str> = chunk.iter().map(|r| r.domain.as_str()).collect();
        let employees: Vec<i32> = chunk.iter().map(|r| r.employee_count).collect();
        let industry: Vec<&str> = chunk.iter().map(|r| r.industry.as_str()).collect();
        let occurred: Vec<Option<DateTime<Utc>>> = chunk.iter().map(|r| r.occurred_at).collect();
        txn.execute(
            &stmt,
            &[
                &ids, &country, &legal, &entity, &domain, &employees, &industry, &occurred,
            ],
        )
        .await?;
    }
    Ok(())
}

#[derive(Debug, Clone)]
pub struct SuppressionWrite {
    pub contact_id: String,
    pub event_id: String,
    pub scope: i16,
    pub reason: i16,
    pub at: Option<DateTime<Utc>>,
    pub data: Vec<u8>,
}

pub async fn insert_suppressions(txn: &Transaction<'_>, rows: &[SuppressionWrite]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let stmt = txn
        .prepare_cached(
            "INSERT INTO suppressions (contact_id, event_id, scope, reason, at, data) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::smallint[], $4::smallint[], \
                 $5::timestamptz[], $6::bytea[])",
        )
        .await?;
    let ids: Vec<&str> = rows.iter().map(|r| r.contact_id.as_str()).collect();
    let events: Vec<&str> = rows.iter().map(|r| r.event_id.as_str()).collect();
    let scope: Vec<i16> = rows.iter().map(|r| r.scope).collect();
    let reason: Vec<i16> = rows.iter().map(|r| r.reason).collect();
    let at: Vec<Option<DateTime<Utc>>> = rows.iter().map(|r| r.at).collect();
    let data: Vec<&[u8]> = rows.iter().map(|r| r.data.as_slice()).collect();
    txn.execute(&stmt, &[&ids, &events, &scope, &reason, &at, &data])
        .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct ConsentWrite {
    pub contact_id: String,
    pub event_id: String,
    pub captured_at: Option<DateTime<Utc>>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub data: Vec<u8>,
}

pub async fn insert_consents(txn: &Transaction<'_>, rows: &[ConsentWrite]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let stmt = txn
        .prepare_cached(
            "INSERT INTO consents (contact_id, event_id, captured_at, withdrawn_at, data) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::timestamptz[], \
                 $4::timestamptz[], $5::bytea[])",
        )
        .await?;
    let ids: Vec<&str> = rows.iter().map(|r| r.contact_id.as_str()).collect();
    let events: Vec<&str> = rows.iter().map(|r| r.event_id.as_str()).collect();
    let captured: Vec<Option<DateTime<Utc>>> = rows.iter().map(|r| r.captured_at).collect();
    let withdrawn: Vec<Option<DateTime<Utc>>> = rows.iter().map(|r| r.withdrawn_at).collect();
    let data: Vec<&[u8]> = rows.iter().map(|r| r.data.as_slice()).collect();
    txn.execute(&stmt, &[&ids, &events, &captured, &withdrawn, &data])
        .await?;
    Ok(())
}

/// A hash kept of an erased contact.
#[derive(Debug, Clone)]
pub struct ErasedHash {
    pub hash: Vec<u8>,
    pub kind: &'static str,
    pub erased_at: DateTime<Utc>,
}

/// Deletes the contacts' personal data (contact row, suppressions and
/// consents received for them, enrichment events) and keeps the hashes.
pub async fn erase_contacts(
    txn: &Transaction<'_>,
    ids: &[&str],
    hashes: &[ErasedHash],
) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    for sql in [
        "DELETE FROM contacts WHERE contact_id = ANY($1)",
        "DELETE FROM suppressions WHERE contact_id = ANY($1)",
        "DELETE FROM consents WHERE contact_id = ANY($1)",
        // Enrichment events carry title words: not kept, and not sent after
        // the erasure either.
        "DELETE FROM outbox WHERE aggregate_type = 'contact' \
           AND routing_key = 'contact.enriched' AND aggregate_id = ANY($1)",
    ] {
        let stmt = txn.prepare_cached(sql).await?;
        txn.execute(&stmt, &[&ids]).await?;
    }
    let stmt = txn
        .prepare_cached(
            "INSERT INTO erased_contacts (hash, kind, erased_at) \
             SELECT * FROM UNNEST($1::bytea[], $2::text[], $3::timestamptz[]) \
             ON CONFLICT (hash) DO NOTHING",
        )
        .await?;
    let hash: Vec<&[u8]> = hashes.iter().map(|h| h.hash.as_slice()).collect();
    let kind: Vec<&str> = hashes.iter().map(|h| h.kind).collect();
    let at: Vec<DateTime<Utc>> = hashes.iter().map(|h| h.erased_at).collect();
    txn.execute(&stmt, &[&hash, &kind, &at]).await?;
    Ok(())
}

/// (campaign id, protobuf) of every active campaign.
pub async fn active_campaigns(txn: &Transaction<'_>) -> Result<Vec<(String, Vec<u8>)>> {
    let stmt = txn
        .prepare_cached(
            "SELECT campaign_id, data FROM campaigns WHERE active AND data IS NOT NULL \
             ORDER BY campaign_id",
        )
        .await?;
    Ok(pairs(txn.query(&stmt, &[]).await?))
}

#[derive(Debug, Clone, Default)]
pub struct StoredCampaign {
    pub campaign_id: String,
    pub version: i64,
    pub occurred_at: Option<DateTime<Utc>>,
    pub data: Option<Vec<u8>>,
    pub active: bool,
    pub cancelled_at: Option<DateTime<Utc>>,
    /// A whole-audience fan-out is owed (see migration V3).
    pub audience_pending: bool,
    /// Bumped by every change: a fan-out of an older generation stops.
    pub audience_generation: i64,
    /// Routing key and event id of the change that asked for the fan-out.
    pub audience_trigger: String,
    pub audience_event_id: Option<String>,
}

/// The campaigns, row-locked.
pub async fn load_campaigns(txn: &Transaction<'_>, ids: &[&str]) -> Result<Vec<StoredCampaign>> {
    let stmt = txn
        .prepare_cached(
            "SELECT campaign_id, version, occurred_at, data, active, cancelled_at, \
                 audience_pending, audience_generation, audience_trigger, audience_event_id \
             FROM campaigns WHERE campaign_id = ANY($1) FOR UPDATE",
        )
        .await?;
    let rows = txn.query(&stmt, &[&ids]).await?;
    Ok(rows
        .iter()
        .map(|r| StoredCampaign {
            campaign_id: r.get(0),
            version: r.get(1),
            occurred_at: r.get(2),
            data: r.get(3),
            active: r.get(4),
            cancelled_at: r.get(5),
            audience_pending: r.get(6),
            audience_generation: r.get(7),
            audience_trigger: r.get(8),
            audience_event_id: r.get(9),
        })
        .collect())
}

/// Writes campaigns whose new state was decided under the exclusive lock.
pub async fn upsert_campaigns(txn: &Transaction<'_>, rows: &[StoredCampaign]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let stmt = txn
        .prepare_cached(
            "INSERT INTO campaigns AS c (campaign_id, version, occurred_at, data, active, \
                 cancelled_at, audience_pending, audience_generation, audience_trigger, \
                 audience_event_id, updated_at) \
             SELECT id, v, o, d, a, x, p, g, tr, e, now() FROM UNNEST($1::text[], $2::bigint[], \
                 $3::timestamptz[], $4::bytea[], $5::boolean[], $6::timestamptz[], \
                 $7::boolean[], $8::bigint[], $9::text[], $10::text[]) \
                 AS u(id, v, o, d, a, x, p, g, tr, e) ORDER BY id \
             ON CONFLICT (campaign_id) DO UPDATE SET version = EXCLUDED.version, \
                 occurred_at = EXCLUDED.occurred_at, data = EXCLUDED.data, \
                 active = EXCLUDED.active, cancelled_at = EXCLUDED.cancelled_at, \
                 audience_pending = EXCLUDED.audience_pending, \
                 audience_generation = EXCLUDED.audience_generation, \
                 audience_trigger = EXCLUDED.audience_trigger, \
                 audience_event_id = EXCLUDED.audience_event_id, updated_at = now()",
        )
        .await?;
    let ids: Vec<&str> = rows.iter().map(|r| r.campaign_id.as_str()).collect();
    let versions: Vec<i64> = rows.iter().map(|r| r.version).collect();
    let occurred: Vec<Option<DateTime<Utc>>> = rows.iter().map(|r| r.occurred_at).collect();
    let data: Vec<Option<&[u8]>> = rows.iter().map(|r| r.data.as_deref()).collect();
    let active: Vec<bool> = rows.iter().map(|r| r.active).collect();
    let cancelled: Vec<Option<DateTime<Utc>>> = rows.iter().map(|r| r.cancelled_at).collect();
    let pending: Vec<bool> = rows.iter().map(|r| r.audience_pending).collect();
    let generation: Vec<i64> = rows.iter().map(|r| r.audience_generation).collect();
    let trigger: Vec<&str> = rows.iter().map(|r| r.audience_trigger.as_str()).collect();
    let event: Vec<Option<&str>> = rows
        .iter()
        .map(|r| r.audience_event_id.as_deref())
        .collect();
    txn.execute(
        &stmt,
        &[
            &ids,
            &versions,
            &occurred,
            &data,
            &active,
            &cancelled,
            &pending,
            &generation,
            &trigger,
            &event,
        ],
    )
    .await?;
    Ok(())
}

/// The last page of a fan-out: its campaign owes no more, unless a newer
/// change (another generation) asked for a fan-out of its own.
pub async fn audience_done(
    txn: &Transaction<'_>,
    campaign_id: &str,
    generation: i64,
) -> Result<()> {
    let stmt = txn
        .prepare_cached(
            "UPDATE campaigns SET audience_pending = false \
             WHERE campaign_id = $1 AND audience_generation = $2",
        )
        .await?;
    txn.execute(&stmt, &[&campaign_id, &generation]).await?;
    Ok(())
}

/// What is kept of the latest decision of a contact x campaign.
#[derive(Debug, Clone, PartialEq)]
pub struct PreviousDecision {
    pub decision_id: String,
    pub fingerprint: Vec<u8>,
    pub rule_set_version: String,
    pub input_digest: String,
    pub valid_until: Option<DateTime<Utc>>,
}

/// (contact id, campaign id) → latest decision, for these contacts.
pub async fn previous_decisions(
    txn: &Transaction<'_>,
    contact_ids: &[&str],
) -> Result<HashMap<(String, String), PreviousDecision>> {
    if contact_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let stmt = txn
        .prepare_cached(
            "SELECT contact_id, campaign_id, decision_id::text, outcome_fingerprint, \
                 rule_set_version, input_digest, valid_until \
             FROM decisions WHERE contact_id = ANY($1)",
        )
        .await?;
    let rows = txn.query(&stmt, &[&contact_ids]).await?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                (r.get(0), r.get(1)),
                PreviousDecision {
                    decision_id: r.get(2),
                    fingerprint: r.get(3),
                    rule_set_version: r.get(4),
                    input_digest: r.get(5),
                    valid_until: r.get(6),
                },
            )
        })
        .collect())
}

/// The latest decision of a contact x campaign, to write.
#[derive(Debug, Clone)]
pub struct DecisionRow {
    pub contact_id: String,
    pub campaign_id: String,
    pub decision_id: String,
    pub decision: i16,
    pub fingerprint: Vec<u8>,
    pub rule_id: String,
    pub rule_set_version: String,
    pub input_digest: String,
    pub decided_at: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
    /// No decision stood for the pair when it was read, under the locks that
    /// serialise deciding it: a plain insert (COPY) is safe.
    pub first: bool,
}

/// An audit-trail entry.
#[derive(Debug, Clone)]
pub struct HistoryRow {
    pub decision_id: String,
    pub contact_id: String,
    pub campaign_id: String,
    pub decision: i16,
    pub rule_id: String,
    pub rule_set_version: String,
    pub input_digest: String,
    pub decided_at: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
    pub published: bool,
    pub trigger: String,
    pub event_id: Option<String>,
    pub payload: Vec<u8>,
}

/// A message for `dmu.decisions`, relayed after commit.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub event_id: String,
    pub aggregate_type: &'static str,
    pub aggregate_id: String,
    pub routing_key: &'static str,
    pub message_type: &'static str,
    pub content_type: &'static str,
    pub payload: Vec<u8>,
}

/// What one transaction writes besides the entity state.
#[derive(Debug, Default)]
pub struct WriteSet {
    pub decisions: Vec<DecisionRow>,
    pub history: Vec<HistoryRow>,
    pub outbox: Vec<OutboxRow>,
}

impl WriteSet {
    pub fn is_empty(&self) -> bool {
        self.decisions.is_empty() && self.history.is_empty() && self.outbox.is_empty()
    }
}

/// Writes decisions, history and outbox rows in bulk.
pub async fn write(txn: &Transaction<'_>, set: &WriteSet) -> Result<()> {
    write_decisions(txn, &set.decisions).await?;
    write_history(txn, &set.history).await?;
    write_outbox(txn, &set.outbox).await
}

/// First decisions of a pair by COPY; the others replace the standing row.
async fn write_decisions(txn: &Transaction<'_>, rows: &[DecisionRow]) -> Result<()> {
    let (first, again): (Vec<&DecisionRow>, Vec<&DecisionRow>) = rows.iter().partition(|r| r.first);
    if !first.is_empty() {
        let ids = first
            .iter()
            .map(|r| uuid(&r.decision_id))
            .collect::<Result<Vec<_>>>()?;
        copy_in(
            txn,
            "COPY decisions (contact_id, campaign_id, decision_id, decision, \
                 outcome_fingerprint, rule_id, rule_set_version, input_digest, decided_at, \
                 valid_until) FROM STDIN BINARY",
            &[
                Type::TEXT,
                Type::TEXT,
                Type::UUID,
                Type::INT2,
                Type::BYTEA,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::TIMESTAMPTZ,
                Type::TIMESTAMPTZ,
            ],
            &first
                .iter()
                .zip(&ids)
                .map(|(r, id)| -> [&(dyn ToSql + Sync); 10] {
                    [
                        &r.contact_id,
                        &r.campaign_id,
                        id,
                        &r.decision,
                        &r.fingerprint,
                        &r.rule_id,
                        &r.rule_set_version,
                        &r.input_digest,
                        &r.decided_at,
                        &r.valid_until,
                    ]
                })
                .collect::<Vec<_>>(),
        )
        .await?;
    }
    if again.is_empty() {
        return Ok(());
    }
    let stmt = txn
        .prepare_cached(
            "INSERT INTO decisions (contact_id, campaign_id, decision_id, decision, \
                 outcome_fingerprint, rule_id, rule_set_version, input_digest, decided_at, \
                 valid_until) \
             SELECT c, k, i::uuid, d, f, r, s, g, t, v FROM UNNEST($1::text[], $2::text[], \
                 $3::text[], $4::smallint[], $5::bytea[], $6::text[], $7::text[], $8::text[], \
                 $9::timestamptz[], $10::timestamptz[]) AS u(c, k, i, d, f, r, s, g, t, v) \
             ON CONFLICT (contact_id, campaign_id) DO UPDATE SET \
                 decision_id = EXCLUDED.decision_id, decision = EXCLUDED.decision, \
                 outcome_fingerprint = EXCLUDED.outcome_fingerprint, \
                 rule_id = EXCLUDED.rule_id, rule_set_version = EXCLUDED.rule_set_version, \
                 input_digest = EXCLUDED.input_digest, decided_at = EXCLUDED.decided_at, \
                 valid_until = EXCLUDED.valid_until",
        )
        .await?;
    for chunk in again.chunks(CHUNK) {
        let contact: Vec<&str> = chunk.iter().map(|r| r.contact_id.as_str()).collect();
        let campaign: Vec<&str> = chunk.iter().map(|r| r.campaign_id.as_str()).collect();
        let id: Vec<&str> = chunk.iter().map(|r| r.decision_id.as_str()).collect();
        let decision: Vec<i16> = chunk.iter().map(|r| r.decision).collect();
        let fingerprint: Vec<&[u8]> = chunk.iter().map(|r| r.fingerprint.as_slice()).collect();
        let rule: Vec<&str> = chunk.iter().map(|r| r.rule_id.as_str()).collect();
        let version: Vec<&str> = chunk.iter().map(|r| r.rule_set_version.as_str()).collect();
        let digest: Vec<&str> = chunk.iter().map(|r| r.input_digest.as_str()).collect();
        let decided: Vec<DateTime<Utc>> = chunk.iter().map(|r| r.decided_at).collect();
        let valid: Vec<Option<DateTime<Utc>>> = chunk.iter().map(|r| r.valid_until).collect();
        txn.execute(
            &stmt,
            &[
                &contact,
                &campaign,
                &id,
                &decision,
                &fingerprint,
                &rule,
                &version,
                &digest,
                &decided,
                &valid,
            ],
        )
        .await?;
    }
    Ok(())
}

/// Plain inserts (history, outbox, first decisions) by binary COPY: about 1.7
/// times the rows/s of `INSERT … UNNEST` (`ceiling pg` on the 2-core machine:
/// 511k against 293k rows/s). A row is an array as wide as `types`, so it
/// costs no allocation of its own and its width is checked at compile time.
async fn copy_in<const N: usize>(
    txn: &Transaction<'_>,
    sql: &str,
    types: &[Type; N],
    rows: &[[&(dyn ToSql + Sync); N]],
) -> Result<()> {
    let stmt = txn.prepare_cached(sql).await?;
    let writer = BinaryCopyInWriter::new(txn.copy_in(&stmt).await?, types);
    futures_util::pin_mut!(writer);
    for row in rows {
        writer.as_mut().write(row).await?;
    }
    writer.finish().await?;
    Ok(())
}

/// Our own ids (UUID v7, or read back from a `uuid` column) as the column type.
fn uuid(id: &str) -> Result<uuid::Uuid> {
    uuid::Uuid::parse_str(id).map_err(|e| DbError::Data {
        code: "22P02".into(),
        message: format!("not a UUID: {e}"),
    })
}

async fn write_history(txn: &Transaction<'_>, rows: &[HistoryRow]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let ids = rows
        .iter()
        .map(|r| uuid(&r.decision_id))
        .collect::<Result<Vec<_>>>()?;
    copy_in(
        txn,
        "COPY decision_history (decision_id, contact_id, campaign_id, decision, rule_id, \
             rule_set_version, input_digest, decided_at, valid_until, published, trigger, \
             event_id, payload) FROM STDIN BINARY",
        &[
            Type::UUID,
            Type::TEXT,
            Type::TEXT,
            Type::INT2,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TIMESTAMPTZ,
            Type::TIMESTAMPTZ,
            Type::BOOL,
            Type::TEXT,
            Type::TEXT,
            Type::BYTEA,
        ],
        &rows
            .iter()
            .zip(&ids)
            .map(|(r, id)| -> [&(dyn ToSql + Sync); 13] {
                [
                    id,
                    &r.contact_id,
                    &r.campaign_id,
                    &r.decision,
                    &r.rule_id,
                    &r.rule_set_version,
                    &r.input_digest,
                    &r.decided_at,
                    &r.valid_until,
                    &r.published,
                    &r.trigger,
                    &r.event_id,
                    &r.payload,
                ]
            })
            .collect::<Vec<_>>(),
    )
    .await
}

async fn write_outbox(txn: &Transaction<'_>, rows: &[OutboxRow]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let ids = rows
        .iter()
        .map(|r| uuid(&r.event_id))
        .collect::<Result<Vec<_>>>()?;
    copy_in(
        txn,
        "COPY outbox (event_id, aggregate_type, aggregate_id, routing_key, type, content_type, \
             payload) FROM STDIN BINARY",
        &[
            Type::UUID,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::BYTEA,
        ],
        &rows
            .iter()
            .zip(&ids)
            .map(|(r, id)| -> [&(dyn ToSql + Sync); 7] {
                [
                    id,
                    &r.aggregate_type,
                    &r.aggregate_id,
                    &r.routing_key,
                    &r.message_type,
                    &r.content_type,
                    &r.payload,
                ]
            })
            .collect::<Vec<_>>(),
    )
    .await
}

/// A contact of a campaign's audience, with everything its decision needs.
#[derive(Debug)]
pub struct AudienceRow {
    pub contact_id: String,
    pub data: Vec<u8>,
    pub suppressions: Vec<Vec<u8>>,
    pub consents: Vec<Vec<u8>>,
    pub previous: Option<PreviousDecision>,
}

/// The next page of contacts a campaign may target, in id order after
/// `after`: a superset (country and organisation pre-filters on stored
/// columns; empty filters mean all), which the engine narrows down, plus every
/// contact with a standing decision for the campaign. Keyset pages, so each
/// page can be its own transaction. The decision is looked up per contact:
/// `OFFSET 0` keeps the planner from flattening the LATERAL into a merge join
/// that read and sorted every decision of the campaign for each page (on
/// stale statistics; 240 ms per page at 98,000 decisions, auto_explain).
/// The rows stream in as the database finds them, so the caller decides one
/// while the next is read.
pub async fn audience_page<C: GenericClient>(
    client: &C,
    campaign_id: &str,
    countries: &[String],
    organisation_ids: &[String],
    after: &str,
    limit: i64,
) -> Result<impl Stream<Item = Result<AudienceRow>> + use<C>> {
    let stmt = client
        .prepare_cached(
            "SELECT c.contact_id, c.data, \
                 COALESCE((SELECT array_agg(s.data ORDER BY s.id) FROM suppressions s \
                     WHERE s.contact_id = c.contact_id), '{}'), \
                 COALESCE((SELECT array_agg(k.data ORDER BY k.id) FROM consents k \
                     WHERE k.contact_id = c.contact_id), '{}'), \
                 d.decision_id::text, d.outcome_fingerprint, d.rule_set_version, \
                 d.input_digest, d.valid_until \
             FROM contacts c \
             LEFT JOIN LATERAL (SELECT * FROM decisions d \
                 WHERE d.contact_id = c.contact_id AND d.campaign_id = $1 OFFSET 0) d ON true \
             WHERE c.data IS NOT NULL AND c.contact_id > $4 \
               AND (d.decision_id IS NOT NULL \
                    OR ((cardinality($2::text[]) = 0 OR c.country = ANY($2) \
                         OR c.org_country = ANY($2) OR (c.country = '' AND c.org_country = '')) \
                        AND (cardinality($3::text[]) = 0 OR btrim(c.organisation_id) = ANY($3)))) \
             ORDER BY c.contact_id LIMIT $5",
        )
        .await?;
    let params: [&(dyn ToSql + Sync); 5] =
        [&campaign_id, &countries, &organisation_ids, &after, &limit];
    let rows = client.query_raw(&stmt, params).await?;
    Ok(rows.map(|r| {
        let r = r?;
        let decision_id: Option<String> = r.get(4);
        Ok(AudienceRow {
            contact_id: r.get(0),
            data: r.get(1),
            suppressions: r.get(2),
            consents: r.get(3),
            previous: decision_id.map(|decision_id| PreviousDecision {
                decision_id,
                fingerprint: r.get(5),
                rule_set_version: r.get(6),
                input_digest: r.get(7),
                valid_until: r.get(8),
            }),
        })
    }))
}

/// A decision due for re-evaluation (its `valid_until` has passed), as a
/// keyset position: (valid_until, contact id, campaign id).
pub type DueKey = (DateTime<Utc>, String, String);

/// Decisions of active campaigns whose `valid_until` is at or before `now`,
/// after `after` in keyset order.
pub async fn due_decisions(
    client: &impl GenericClient,
    now: DateTime<Utc>,
    after: Option<&DueKey>,
    limit: i64,
) -> Result<Vec<DueKey>> {
    let (t, c, k) = match after {
        Some((t, c, k)) => (Some(*t), c.as_str(), k.as_str()),
        None => (None, "", ""),
    };
    let stmt = client
        .prepare_cached(
            "SELECT d.valid_until, d.contact_id, d.campaign_id FROM decisions d \
             JOIN campaigns m ON m.campaign_id = d.campaign_id AND m.active \
             WHERE d.valid_until IS NOT NULL AND d.valid_until <= $1 \
               AND ($2::timestamptz IS NULL \
                    OR (d.valid_until, d.contact_id, d.campaign_id) > ($2, $3, $4)) \
             ORDER BY d.valid_until, d.contact_id, d.campaign_id LIMIT $5",
        )
        .await?;
    let rows = client.query(&stmt, &[&now, &t, &c, &k, &limit]).await?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

/// An outbox row claimed for publishing.
#[derive(Debug, Clone)]
pub struct OutboxMessage {
    pub id: i64,
    pub event_id: String,
    pub routing_key: String,
    pub message_type: String,
    pub content_type: String,
    pub payload: Vec<u8>,
    pub created_at: DateTime<Utc>,
}

/// Claims up to `limit` unpublished rows, oldest first; rows another relay
/// holds are skipped, so replicas share the work.
pub async fn outbox_claim(txn: &Transaction<'_>, limit: i64) -> Result<Vec<OutboxMessage>> {
    // Walk the queue's primary key in id order. Right after a burst the
    // statistics still describe an almost empty queue, and the planner may
    // then prefer a scan that visits and sorts every entry, and never marks
    // the deleted ones dead (seen on the outbox's old partial index: 19 ms
    // per claim against 1 ms, `bench fanout`).
    txn.batch_execute("SET LOCAL enable_bitmapscan = off; SET LOCAL enable_seqscan = off")
        .await?;
    let stmt = txn
        .prepare_cached(
            "SELECT p.id, o.event_id::text, o.routing_key, o.type, o.content_type, o.payload, \
                    o.created_at \
             FROM (SELECT id FROM outbox_pending \
                   WHERE retry_at IS NULL OR retry_at <= now() \
                   ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) AS p \
             LEFT JOIN outbox o USING (id) ORDER BY p.id",
        )
        .await?;
    let rows = txn.query(&stmt, &[&limit]).await?;
    let mut messages = Vec::with_capacity(rows.len());
    let mut orphans: Vec<i64> = Vec::new();
    for r in &rows {
        let Some(event_id) = r.get::<_, Option<String>>(1) else {
            orphans.push(r.get(0));
            continue;
        };
        messages.push(OutboxMessage {
            id: r.get(0),
            event_id,
            routing_key: r.get(2),
            message_type: r.get(3),
            content_type: r.get(4),
            payload: r.get(5),
            created_at: r.get(6),
        });
    }
    // An entry whose row is gone (the triggers take it along on DELETE and
    // TRUNCATE, but not with triggers disabled or in a data-only restore)
    // would otherwise be claimed first, forever, and hold up the queue.
    if !orphans.is_empty() {
        tracing::warn!(
            entries = orphans.len(),
            "outbox queue entries without their row: dropped"
        );
        let stmt = txn
            .prepare_cached("DELETE FROM outbox_pending WHERE id = ANY($1)")
            .await?;
        txn.execute(&stmt, &[&orphans]).await?;
    }
    Ok(messages)
}

/// Takes the confirmed rows off the queue and records their receipt.
pub async fn outbox_mark_published(txn: &Transaction<'_>, ids: &[i64]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let stmt = txn
        // The clock at marking, after the confirms (now() would be the
        // start of the relay's transaction, before publishing).
        .prepare_cached(
            "WITH done AS (DELETE FROM outbox_pending WHERE id = ANY($1) RETURNING id) \
             INSERT INTO outbox_published (published_at, ids) \
             SELECT clock_timestamp(), array_agg(id ORDER BY id) FROM done HAVING count(*) > 0",
        )
        .await?;
    txn.execute(&stmt, &[&ids]).await?;
    Ok(())
}

/// Rows the broker did not take: retried after a delay that doubles with
/// each attempt (1 s up to 5 min), from now: the clock, not the start of the
/// pass's transaction, which waited up to the confirm timeout.
pub async fn outbox_retry_later(txn: &Transaction<'_>, ids: &[i64]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let stmt = txn
        .prepare_cached(
            "UPDATE outbox_pending SET attempts = attempts + 1, \
                 retry_at = clock_timestamp() \
                     + make_interval(secs => least(300, power(2, attempts))) \
             WHERE id = ANY($1)",
        )
        .await?;
    txn.execute(&stmt, &[&ids]).await?;
    Ok(())
}

/// Unpublished outbox rows.
pub async fn outbox_backlog(client: &impl GenericClient) -> Result<i64> {
    let stmt = client
        .prepare_cached("SELECT count(*) FROM outbox_pending")
        .await?;
    Ok(client.query_one(&stmt, &[]).await?.get(0))
}

/// Deletes outbox rows published more than `outbox_secs` ago (never one that
/// is queued again, should its id ever be reused) and inbox rows older than
/// `inbox_secs` (by the database's clock); returns (outbox rows, inbox rows)
/// deleted.
pub async fn purge(
    client: &impl GenericClient,
    outbox_secs: f64,
    inbox_secs: f64,
) -> Result<(u64, u64)> {
    let outbox = client
        .execute(
            "WITH old AS (DELETE FROM outbox_published \
                          WHERE published_at < now() - make_interval(secs => $1) \
                          RETURNING ids) \
             DELETE FROM outbox o WHERE o.id IN (SELECT unnest(ids) FROM old) \
               AND NOT EXISTS (SELECT 1 FROM outbox_pending p WHERE p.id = o.id)",
            &[&outbox_secs],
        )
        .await?;
    let inbox = client
        .execute(
            "DELETE FROM inbox WHERE processed_at < now() - make_interval(secs => $1)",
            &[&inbox_secs],
        )
        .await?;
    Ok((outbox, inbox))
}
