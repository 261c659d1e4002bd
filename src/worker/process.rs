//! One batch of events → one transaction: inbox, state, decisions, outbox
//! (a campaign's fan-out then follows, a transaction per page of contacts).
//!
//! Locking (see `db::store::lock_shared`): contact batches and the sweep take
//! the decide lock shared and then row-lock their contacts in id order;
//! campaign changes and each page of a fan-out take it exclusive. Inside a
//! transaction every contact it touches is therefore stable, and the batch is
//! applied in delivery order in memory, then written with one statement per
//! table.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Pool, Transaction};
use futures_util::TryStreamExt;
use prost::Message;
use tokio::sync::Notify;
use tokio_util::task::AbortOnDropHandle;

use super::decide::{
    self, AudienceSummary, Campaigns, Decider, Trigger, erasure_hash, erasure_suppression, merge,
    normalise_country, normalise_email, prefilter_countries, strip_names,
};
use super::decode::{self, CampaignInbound, ContactInbound};
use super::metrics as m;
use crate::db::DbError;
use crate::db::store::{
    self, ConsentWrite, ContactWrite, DueKey, ErasedHash, OrganisationWrite, StoredCampaign,
    SuppressionWrite, WriteSet,
};
use crate::engine::eligibility::PreparedCampaign;
use crate::engine::{Classifier, Enrichment, RuleSet};
use crate::pb::{self, Encoding};

/// The worker's clock (replaceable in tests, so `asOf` is known).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// What every batch needs.
#[derive(Clone)]
pub struct Ctx {
    pub pool: Pool,
    pub rules: &'static RuleSet,
    pub classifier: &'static Classifier,
    pub encoding: Encoding,
    pub clock: Clock,
    pub pepper: String,
    pub fanout_page: usize,
    /// Wakes the outbox relay after a commit that wrote outbox rows.
    pub outbox_written: Arc<Notify>,
}

impl Ctx {
    fn decider(&self) -> Decider<'_> {
        Decider {
            rules: self.rules,
            classifier: self.classifier,
            now: (self.clock)(),
            encoding: self.encoding,
        }
    }
}

/// What became of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Processed,
    /// Seen before (inbox): nothing changed.
    Duplicate,
    /// Not newer than the stored version: nothing changed.
    Stale,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Processed => "processed",
            Outcome::Duplicate => "duplicate",
            Outcome::Stale => "stale",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("stored data unreadable: {0}")]
    Corrupt(String),
}

impl ProcessError {
    /// Retrying the same input fails again: isolate the message.
    pub fn is_data(&self) -> bool {
        match self {
            ProcessError::Db(e) => e.is_data(),
            ProcessError::Corrupt(_) => true,
        }
    }
}

impl From<tokio_postgres::Error> for ProcessError {
    fn from(e: tokio_postgres::Error) -> Self {
        ProcessError::Db(e.into())
    }
}

impl From<deadpool_postgres::PoolError> for ProcessError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        ProcessError::Db(e.into())
    }
}

fn corrupt(e: prost::DecodeError) -> ProcessError {
    ProcessError::Corrupt(e.to_string())
}

/// Stored protobufs of one kind, decoded in order.
fn decode_each<M: Message + Default>(data: &[Vec<u8>]) -> Result<Vec<M>> {
    data.iter()
        .map(|d| M::decode(d.as_slice()).map_err(corrupt))
        .collect()
}

type Result<T> = std::result::Result<T, ProcessError>;

/// Claims the batch's event ids in the inbox; returns the outcomes so far
/// (Duplicate for all) and the indexes of the events to apply, in order.
async fn claim(
    txn: &Transaction<'_>,
    queue: &str,
    ids: &[&str],
) -> Result<(Vec<Outcome>, Vec<usize>)> {
    let fresh = store::inbox_claim(txn, queue, ids).await?;
    let mut seen = HashSet::new();
    let todo = ids
        .iter()
        .enumerate()
        .filter(|(_, id)| fresh.contains(**id) && seen.insert(**id))
        .map(|(i, _)| i)
        .collect();
    Ok((vec![Outcome::Duplicate; ids.len()], todo))
}

/// Whether an event replaces what is stored (contract: "an event with a version
/// not above the stored one changes nothing … Absent: `occurredAt` orders").
/// With neither a version nor both times there is no order but arrival, so the
/// event applies; treating it as stale would freeze the record after its first
/// event.
fn newer(
    version: i64,
    occurred_at: Option<DateTime<Utc>>,
    stored_version: i64,
    stored_occurred_at: Option<DateTime<Utc>>,
) -> bool {
    if version != 0 {
        return version > stored_version;
    }
    match (occurred_at, stored_occurred_at) {
        (Some(at), Some(stored)) => at > stored,
        _ => true,
    }
}

/// A contact's state while its batch is applied.
#[derive(Default)]
struct Slot {
    version: i64,
    occurred_at: Option<DateTime<Utc>>,
    /// As stored (names removed); None: known only by id, or erased.
    contact: Option<pb::Contact>,
    /// Received as events, stored and new.
    suppressions: Vec<pb::Suppression>,
    consents: Vec<pb::Consent>,
    new_suppressions: Vec<SuppressionWrite>,
    new_consents: Vec<ConsentWrite>,
    write_contact: bool,
    /// Erased in this batch: when, and the hashes to keep.
    erasure: Option<(DateTime<Utc>, Vec<ErasedHash>)>,
    redecide: bool,
    trigger: Option<(&'static str, String)>,
}

fn is_erasure(s: &pb::Suppression) -> bool {
    s.reason == pb::suppression_reason::Value::Erasure as i32
        && s.scope == pb::suppression_scope::Value::All as i32
}

fn suppression_write(contact_id: &str, event_id: &str, s: &pb::Suppression) -> SuppressionWrite {
    SuppressionWrite {
        contact_id: contact_id.to_owned(),
        event_id: event_id.to_owned(),
        scope: i16::try_from(s.scope).unwrap_or(0),
        reason: i16::try_from(s.reason).unwrap_or(0),
        at: s.at.and_then(pb::Timestamp::to_datetime),
        data: s.encode_to_vec(),
    }
}

fn consent_write(contact_id: &str, event_id: &str, c: &pb::Consent) -> ConsentWrite {
    ConsentWrite {
        contact_id: contact_id.to_owned(),
        event_id: event_id.to_owned(),
        captured_at: c.captured_at.and_then(pb::Timestamp::to_datetime),
        withdrawn_at: c.withdrawn_at.and_then(pb::Timestamp::to_datetime),
        data: c.encode_to_vec(),
    }
}

/// Contact events (both contact queues): see the module comment.
pub async fn contacts(ctx: &Ctx, queue: &str, events: &[&ContactInbound]) -> Result<Vec<Outcome>> {
    let mut client = ctx.pool.get().await?;
    let txn = client.transaction().await?;
    store::lock_shared(&txn).await?;
    let event_ids: Vec<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
    let (mut outcomes, todo) = claim(&txn, queue, &event_ids).await?;
    if todo.is_empty() {
        txn.commit().await?;
        return Ok(outcomes);
    }
    let decider = ctx.decider();
    let todo: Vec<(usize, &ContactInbound)> = todo.into_iter().map(|i| (i, events[i])).collect();
    let mut ids: Vec<&str> = todo
        .iter()
        .map(|(_, e)| decode::contact_id(&e.event))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    store::lock_contacts(&txn, &ids).await?;

    let mut batch = ContactBatch::load(&txn, &ids, &ctx.pepper, &todo).await?;
    for &(i, e) in &todo {
        outcomes[i] = batch.apply(e, decider.now);
    }
    let merged = batch.merged(&decider);
    batch.write_state(&txn, &merged).await?;
    let out = batch.decide(&txn, &decider, &merged).await?;
    store::write(&txn, &out).await?;
    txn.commit().await?;
    if !out.outbox.is_empty() {
        ctx.outbox_written.notify_one();
    }
    Ok(outcomes)
}

/// The contacts of one batch, loaded under their row locks and changed in
/// memory in delivery order before anything is written.
struct ContactBatch<'a> {
    slots: BTreeMap<&'a str, Slot>,
    /// Erasure hashes known (stored, or erased earlier in this batch).
    erased: HashMap<Vec<u8>, DateTime<Utc>>,
    pepper: &'a str,
}

/// (merged contact, enrichment) per contact to decide.
type Merged<'a> = HashMap<&'a str, (pb::Contact, Enrichment)>;

impl<'a> ContactBatch<'a> {
    async fn load(
        txn: &Transaction<'_>,
        ids: &[&'a str],
        pepper: &'a str,
        todo: &[(usize, &ContactInbound)],
    ) -> Result<ContactBatch<'a>> {
        use pb::contact_event::Event;
        let mut slots: BTreeMap<&str, Slot> = ids.iter().map(|id| (*id, Slot::default())).collect();
        for row in store::load_contacts(txn, ids).await? {
            let Some(slot) = slots.get_mut(row.contact_id.as_str()) else {
                continue;
            };
            if let Some(data) = row.data {
                slot.contact = Some(pb::Contact::decode(data.as_slice()).map_err(corrupt)?);
                slot.version = row.version;
                slot.occurred_at = row.occurred_at;
            }
        }
        for (id, data) in store::load_suppressions(txn, ids).await? {
            if let Some(slot) = slots.get_mut(id.as_str()) {
                slot.suppressions
                    .push(pb::Suppression::decode(data.as_slice()).map_err(corrupt)?);
            }
        }
        for (id, data) in store::load_consents(txn, ids).await? {
            if let Some(slot) = slots.get_mut(id.as_str()) {
                slot.consents
                    .push(pb::Consent::decode(data.as_slice()).map_err(corrupt)?);
            }
        }
        let mut batch = ContactBatch {
            slots,
            erased: HashMap::new(),
            pepper,
        };
        // Erased before? By id, or by the email of an incoming contact.
        let mut lookups: Vec<Vec<u8>> = ids.iter().map(|id| batch.id_hash(id)).collect();
        for (_, e) in todo {
            if let Event::ContactCreated(pb::ContactCreated { contact: Some(c) })
            | Event::ContactUpdated(pb::ContactUpdated { contact: Some(c) }) = &e.event
                && !c.email.trim().is_empty()
            {
                lookups.push(batch.email_hash(&c.email));
            }
        }
        let refs: Vec<&[u8]> = lookups.iter().map(Vec::as_slice).collect();
        batch.erased = store::erased(txn, &refs).await?;
        Ok(batch)
    }

    fn id_hash(&self, id: &str) -> Vec<u8> {
        erasure_hash(self.pepper, "contact_id", id)
    }

    fn email_hash(&self, email: &str) -> Vec<u8> {
        erasure_hash(self.pepper, "email", &normalise_email(email))
    }

    /// Applies one event to the in-memory state.
    fn apply(&mut self, e: &ContactInbound, now: DateTime<Utc>) -> Outcome {
        use pb::contact_event::Event;
        let id = decode::contact_id(&e.event);
        let id_hash = self.id_hash(id);
        let id_erased_at = self.erased.get(&id_hash).copied();
        let email_erased_at = |email: &str| {
            (!email.trim().is_empty())
                .then(|| self.erased.get(&self.email_hash(email)).copied())
                .flatten()
        };
        let slot = self.slots.get(id).expect("every contact id has a slot");
        match &e.event {
            Event::ContactCreated(pb::ContactCreated { contact })
            | Event::ContactUpdated(pb::ContactUpdated { contact }) => {
                let mut c = contact.clone().expect("validated on decode");
                if slot.contact.is_some()
                    && !newer(c.version, e.occurred_at, slot.version, slot.occurred_at)
                {
                    return Outcome::Stale;
                }
                if slot.contact.is_none()
                    && let (Some(at), Some(occurred)) = (id_erased_at, e.occurred_at)
                    && occurred <= at
                {
                    // Older than the erasure of this id: it arrived late
                    // (another queue, a redelivery), it is not a re-import.
                    return Outcome::Stale;
                }
                strip_names(&mut c);
                let erased_at = id_erased_at.or_else(|| email_erased_at(&c.email));
                let slot = self.slots.get_mut(id).expect("slot");
                if let Some(at) = erased_at
                    && !slot.suppressions.iter().any(is_erasure)
                {
                    // A re-import of an erased contact stays suppressed.
                    let s = erasure_suppression(at);
                    slot.new_suppressions
                        .push(suppression_write(id, &e.event_id, &s));
                    slot.suppressions.push(s);
                }
                // The highest version and latest time seen: an unversioned event
                // must not let an older version in after it.
                slot.version = c.version.max(slot.version);
                slot.occurred_at = e.occurred_at.max(slot.occurred_at);
                slot.contact = Some(c);
                slot.write_contact = true;
            }
            Event::ContactObjected(_) | Event::ContactConsentChanged(_)
                if slot.contact.is_none() && id_erased_at.is_some() =>
            {
                // About an erased contact: keeping it would keep its id. Its
                // erasure suppression covers everything if it comes back.
                return Outcome::Processed;
            }
            Event::ContactObjected(o) => {
                let s = o.suppression.clone().expect("validated on decode");
                let slot = self.slots.get_mut(id).expect("slot");
                slot.new_suppressions
                    .push(suppression_write(id, &e.event_id, &s));
                slot.suppressions.push(s);
            }
            Event::ContactConsentChanged(k) => {
                let c = k.consent.clone().expect("validated on decode");
                let slot = self.slots.get_mut(id).expect("slot");
                slot.new_consents.push(consent_write(id, &e.event_id, &c));
                slot.consents.push(c);
            }
            Event::ContactErased(_) => {
                let at = e.occurred_at.unwrap_or(now);
                let email = slot.contact.as_ref().map(|c| c.email.clone());
                let mut hashes = self
                    .slots
                    .get_mut(id)
                    .and_then(|s| s.erasure.take())
                    .map(|(_, h)| h)
                    .unwrap_or_default();
                hashes.push(ErasedHash {
                    hash: id_hash,
                    kind: "contact_id",
                    erased_at: at,
                });
                if let Some(email) = email.filter(|m| !m.trim().is_empty()) {
                    hashes.push(ErasedHash {
                        hash: self.email_hash(&email),
                        kind: "email",
                        erased_at: at,
                    });
                }
                for h in &hashes {
                    self.erased.entry(h.hash.clone()).or_insert(at);
                }
                *self.slots.get_mut(id).expect("slot") = Slot {
                    erasure: Some((at, hashes)),
                    ..Slot::default()
                };
            }
        }
        let slot = self.slots.get_mut(id).expect("slot");
        slot.redecide = true;
        slot.trigger = Some((e.event.routing_key(), e.event_id.clone()));
        Outcome::Processed
    }

    /// Merged contacts and their enrichment, once per contact to decide.
    fn merged(&self, decider: &Decider<'_>) -> Merged<'a> {
        let mut merged = HashMap::new();
        for (id, slot) in &self.slots {
            if let (true, Some(c)) = (slot.redecide, &slot.contact) {
                let m = merge(c.clone(), slot.suppressions.clone(), slot.consents.clone());
                let enrichment = decider.enrich(&m);
                merged.insert(*id, (m, enrichment));
            }
        }
        merged
    }

    /// Writes the state. Erasures first: a contact erased and re-imported
    /// within one batch is deleted, then written again (with its erasure
    /// suppression).
    async fn write_state(&mut self, txn: &Transaction<'_>, merged: &Merged<'a>) -> Result<()> {
        let erase_ids: Vec<&str> = self
            .slots
            .iter()
            .filter(|(_, s)| s.erasure.is_some())
            .map(|(id, _)| *id)
            .collect();
        let erase_hashes: Vec<ErasedHash> = self
            .slots
            .values()
            .filter_map(|s| s.erasure.as_ref())
            .flat_map(|(_, h)| h.iter().cloned())
            .collect();
        store::erase_contacts(txn, &erase_ids, &erase_hashes).await?;

        let mut contact_writes = Vec::new();
        let mut organisations: BTreeMap<&str, OrganisationWrite> = BTreeMap::new();
        for (id, slot) in &self.slots {
            let (true, Some(c)) = (slot.write_contact, &slot.contact) else {
                continue;
            };
            let (country, org_country) = decide::countries(c);
            let classification = merged.get(id).map(|(_, e)| &e.classification);
            contact_writes.push(ContactWrite {
                contact_id: (*id).to_owned(),
                version: slot.version,
                occurred_at: slot.occurred_at,
                data: c.encode_to_vec(),
                country,
                org_country,
                organisation_id: c
                    .organisation
                    .as_ref()
                    .map_or(String::new(), |o| o.organisation_id.clone()),
                function: classification.map_or(String::new(), |k| k.function.id().to_owned()),
                seniority: classification.map_or(String::new(), |k| k.seniority.id().to_owned()),
            });
            if let Some(o) = &c.organisation
                && !o.organisation_id.is_empty()
            {
                organisations.insert(
                    o.organisation_id.as_str(),
                    OrganisationWrite {
                        organisation_id: o.organisation_id.clone(),
                        country: normalise_country(&o.country),
                        legal_form: o.legal_form.clone(),
                        entity_type: i16::try_from(o.entity_type).unwrap_or(0),
                        domain: o.domain.clone(),
                        employee_count: o.employee_count,
                        industry: o.industry.clone(),
                        occurred_at: slot.occurred_at,
                    },
                );
            }
        }
        store::upsert_contacts(txn, &contact_writes).await?;
        let organisations: Vec<OrganisationWrite> = organisations.into_values().collect();
        store::upsert_organisations(txn, &organisations).await?;
        let suppressions: Vec<SuppressionWrite> = self
            .slots
            .values_mut()
            .flat_map(|s| std::mem::take(&mut s.new_suppressions))
            .collect();
        store::insert_suppressions(txn, &suppressions).await?;
        let consents: Vec<ConsentWrite> = self
            .slots
            .values_mut()
            .flat_map(|s| std::mem::take(&mut s.new_consents))
            .collect();
        store::insert_consents(txn, &consents).await?;
        // Id-only rows that hold nothing (created to lock, e.g. for an event
        // about an erased contact) are not kept.
        let empty: Vec<&str> = self
            .slots
            .iter()
            .filter(|(_, s)| {
                s.contact.is_none() && s.suppressions.is_empty() && s.consents.is_empty()
            })
            .map(|(id, _)| *id)
            .collect();
        Ok(store::delete_empty_contacts(txn, &empty).await?)
    }

    /// Decides every changed contact against the active campaigns.
    async fn decide(
        &self,
        txn: &Transaction<'_>,
        decider: &Decider<'_>,
        merged: &Merged<'a>,
    ) -> Result<WriteSet> {
        let campaigns = Campaigns::decode(store::active_campaigns(txn).await?, decider.rules)
            .map_err(corrupt)?;
        let redecide: Vec<&str> = self
            .slots
            .iter()
            .filter(|(_, s)| s.redecide)
            .map(|(id, _)| *id)
            .collect();
        let previous = store::previous_decisions(txn, &redecide).await?;
        let mut out = WriteSet::default();
        for (id, slot) in &self.slots {
            let (true, Some((kind, event_id))) = (slot.redecide, &slot.trigger) else {
                continue;
            };
            let trigger = Trigger {
                kind,
                event_id: Some(event_id),
            };
            let prev = |campaign: &PreparedCampaign| {
                previous.get(&((*id).to_owned(), campaign.campaign_id.clone()))
            };
            if let Some((contact, enrichment)) = merged.get(id) {
                if slot.write_contact {
                    decider.enriched(contact, enrichment, &mut out);
                }
                for campaign in &campaigns.list {
                    // A pair decided before is decided again even when the
                    // campaign no longer targets the contact (it moved country,
                    // changed organisation): its standing decision must follow
                    // the contact's data, not keep the old jurisdiction's answer.
                    if campaign.targets(contact, decider.rules) || prev(campaign).is_some() {
                        decider.decide(
                            contact,
                            enrichment,
                            campaign,
                            prev(campaign),
                            trigger,
                            &mut out,
                        );
                    }
                }
            } else if slot.erasure.is_some() {
                // Revoke every standing decision of an active campaign.
                for campaign in &campaigns.list {
                    if let Some(p) = prev(campaign) {
                        decider.revoke_erased(id, campaign, Some(p), trigger, &mut out);
                    }
                }
            }
            // Otherwise known only by id: kept until the contact arrives.
        }
        Ok(out)
    }
}

/// A campaign's state while its batch is applied.
struct CampaignSlot {
    stored: StoredCampaign,
    changed: bool,
}

/// Campaign events: store them (one transaction), then decide the whole
/// audience of each campaign that owes a fan-out, page by page.
pub async fn campaigns(
    ctx: &Ctx,
    queue: &str,
    events: &[&CampaignInbound],
) -> Result<Vec<Outcome>> {
    let outcomes = store_campaigns(ctx, queue, events).await?;
    // Every campaign of the batch, duplicates too: the redelivery of a batch
    // whose fan-out was cut short finds its events processed and the fan-out
    // still owed.
    let mut ids: Vec<&str> = events
        .iter()
        .map(|e| decode::campaign_id(&e.event))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    for id in ids {
        audience(ctx, id).await?;
    }
    Ok(outcomes)
}

/// Applies the campaign events in delivery order and stores the result. A
/// change bumps the campaign's audience generation and, if the campaign is
/// active, marks a fan-out as owed.
async fn store_campaigns(
    ctx: &Ctx,
    queue: &str,
    events: &[&CampaignInbound],
) -> Result<Vec<Outcome>> {
    use pb::campaign_event::Event;
    let mut client = ctx.pool.get().await?;
    let txn = client.transaction().await?;
    store::lock_exclusive(&txn).await?;
    let event_ids: Vec<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
    let (mut outcomes, todo) = claim(&txn, queue, &event_ids).await?;
    if todo.is_empty() {
        txn.commit().await?;
        return Ok(outcomes);
    }
    let now = (ctx.clock)();
    let mut ids: Vec<&str> = todo
        .iter()
        .map(|&i| decode::campaign_id(&events[i].event))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut slots: BTreeMap<String, CampaignSlot> = ids
        .iter()
        .map(|id| {
            let empty = StoredCampaign {
                campaign_id: (*id).to_owned(),
                ..StoredCampaign::default()
            };
            (
                (*id).to_owned(),
                CampaignSlot {
                    stored: empty,
                    changed: false,
                },
            )
        })
        .collect();
    for row in store::load_campaigns(&txn, &ids).await? {
        if let Some(slot) = slots.get_mut(&row.campaign_id) {
            slot.stored = row;
        }
    }
    for &i in &todo {
        let e = events[i];
        let id = decode::campaign_id(&e.event);
        let CampaignSlot { stored, changed } = slots.get_mut(id).expect("slot per campaign");
        match &e.event {
            Event::CampaignPlanned(pb::CampaignPlanned { campaign })
            | Event::CampaignUpdated(pb::CampaignUpdated { campaign }) => {
                let c = campaign.as_ref().expect("validated on decode");
                if stored.data.is_some()
                    && !newer(c.version, e.occurred_at, stored.version, stored.occurred_at)
                {
                    outcomes[i] = Outcome::Stale;
                    continue;
                }
                stored.version = c.version.max(stored.version);
                stored.occurred_at = e.occurred_at.max(stored.occurred_at);
                stored.data = Some(c.encode_to_vec());
                // Cancellation is final: a late planned/updated is stored, not revived.
                stored.active = stored.cancelled_at.is_none();
            }
            Event::CampaignCancelled(_) => {
                if stored.cancelled_at.is_none() {
                    stored.cancelled_at = Some(e.occurred_at.unwrap_or(now));
                }
                stored.active = false;
            }
        }
        *changed = true;
        // The last change asks for the fan-out (an inactive campaign owes none).
        stored.audience_generation += 1;
        stored.audience_pending = stored.active;
        e.event
            .routing_key()
            .clone_into(&mut stored.audience_trigger);
        stored.audience_event_id = Some(e.event_id.clone());
        outcomes[i] = Outcome::Processed;
    }
    let writes: Vec<StoredCampaign> = slots
        .values()
        .filter(|s| s.changed)
        .map(|s| s.stored.clone())
        .collect();
    store::upsert_campaigns(&txn, &writes).await?;
    txn.commit().await?;
    Ok(outcomes)
}

/// How old a page read ahead may be when its transaction uses it (about
/// ten pages' writes): the decide state's version does not see time pass.
const READ_AHEAD_MAX_AGE: chrono::TimeDelta = chrono::TimeDelta::seconds(1);

/// Decides a campaign for every contact it targets, one page of contacts per
/// transaction, so that the relay publishes the first decisions while the
/// rest are decided; the last page adds the audience summary and clears the
/// campaign's pending fan-out. Each page takes the decide lock exclusively
/// and goes on only while the fan-out is still owed by the generation it
/// started with: a newer change of the campaign runs a fan-out of its own.
/// Cut short (crash, outage), it runs again from the first page: pairs
/// decided already are unchanged and publish nothing.
///
/// While a page is written, the next one is read and decided on another
/// connection. Its transaction uses that work only if the decide state's
/// version (migration V6) is still the one read after this page's writes:
/// then no writer that takes the decide lock has changed what the page was
/// read from since (the lock kept them out until this page's commit, and
/// each of their writes moves the version). Otherwise the page is read again
/// under the lock, as if there had been no read-ahead; and the page after it
/// is not read ahead, so that steady contact traffic costs at most one wasted
/// read in two pages.
async fn audience(ctx: &Ctx, campaign_id: &str) -> Result<()> {
    let mut generation = None;
    let mut after = String::new();
    let mut summary = AudienceSummary::new(campaign_id);
    // The next page, decided ahead, and the version it is current at.
    let mut ahead: Option<(i64, Page)> = None;
    loop {
        let mut client = ctx.pool.get().await?;
        let txn = client.transaction().await?;
        store::lock_exclusive(&txn).await?;
        let stored = store::load_campaigns(&txn, &[campaign_id])
            .await?
            .pop()
            .unwrap_or_default();
        let owed = stored.audience_pending
            && stored.active
            && generation.is_none_or(|g| g == stored.audience_generation);
        let (true, Some(data)) = (owed, &stored.data) else {
            txn.commit().await?;
            return Ok(());
        };
        // Same generation, same campaign data and trigger: a page read ahead
        // was decided on these terms.
        generation = Some(stored.audience_generation);
        let campaign = pb::Campaign::decode(data.as_slice()).map_err(corrupt)?;
        let trigger = Trigger {
            kind: &stored.audience_trigger,
            event_id: stored.audience_event_id.as_deref(),
        };
        let version = store::decide_state_version(&txn).await?;
        // The version tells changes of state apart, not the passing of time:
        // a page decided too long ago (this transaction waited for the pool
        // or the lock) could miss a consent or a suppression that ran out.
        let fresh = |p: &Page| (ctx.clock)() - p.as_of <= READ_AHEAD_MAX_AGE;
        let (read, page) = match ahead.take() {
            Some((current_at, page)) if current_at == version && fresh(&page) => ("ahead", page),
            stale => (
                if stale.is_some() { "again" } else { "locked" },
                audience_page(ctx, &txn, &campaign, trigger, &after).await?,
            ),
        };
        metrics::counter!(m::FANOUT_PAGES, "read" => read).increment(1);
        let last = page.read < ctx.fanout_page;
        summary.absorb(page.summary);
        after = page.after;
        let mut out = page.out;
        if last {
            ctx.decider()
                .summary(std::mem::take(&mut summary), &mut out);
            store::audience_done(&txn, campaign_id, stored.audience_generation).await?;
        }
        let published = !out.outbox.is_empty();
        // Its own task, so that deciding runs on the other core while this
        // one encodes the page's rows; dropped (aborted) if the write fails.
        let read_ahead = (!last && read != "again").then(|| {
            let (ctx, campaign, after) = (ctx.clone(), campaign.clone(), after.clone());
            let (kind, event_id) = (
                stored.audience_trigger.clone(),
                stored.audience_event_id.clone(),
            );
            AbortOnDropHandle::new(tokio::spawn(async move {
                let trigger = Trigger {
                    kind: &kind,
                    event_id: event_id.as_deref(),
                };
                let reader = ctx.pool.get().await?;
                audience_page(&ctx, &reader, &campaign, trigger, &after).await
            }))
        });
        store::write(&txn, &out).await?;
        let version = store::decide_state_version(&txn).await?;
        txn.commit().await?;
        drop(client);
        if published {
            ctx.outbox_written.notify_one();
        }
        ahead = match read_ahead {
            Some(task) => match task.await {
                Ok(Ok(page)) => Some((version, page)),
                // Only an optimisation: the page is read again under the lock.
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "fan-out: reading ahead failed");
                    None
                }
                Err(e) => match e.try_into_panic() {
                    Ok(panic) => std::panic::resume_unwind(panic),
                    Err(_cancelled) => None,
                },
            },
            None => None,
        };
        if last {
            tracing::info!(campaign_id = %campaign_id, "campaign audience decided");
            return Ok(());
        }
    }
}

/// A page of a fan-out, decided and not yet written.
struct Page {
    /// The clock reading it was decided at.
    as_of: DateTime<Utc>,
    out: WriteSet,
    /// The decisions of the contacts the campaign targets.
    summary: AudienceSummary,
    /// Contacts read: fewer than a page's worth means the last page.
    read: usize,
    /// The last contact id read: the next page starts after it.
    after: String,
}

/// Reads and decides the page of contacts after `after`.
async fn audience_page(
    ctx: &Ctx,
    client: &impl GenericClient,
    campaign: &pb::Campaign,
    trigger: Trigger<'_>,
    after: &str,
) -> Result<Page> {
    // A clock reading per page: contact batches run between pages, and a
    // page decided as of the fan-out's start would ignore an objection
    // committed since and publish over its DENY. A page read ahead reads the
    // clock a page's write (tens of ms) before its own transaction; what is
    // committed in between moves the version and the page is read again.
    let decider = ctx.decider();
    let prepared = PreparedCampaign::new(campaign, decider.rules);
    // The engine's own reading of the targets (trimmed, aliases, blanks
    // dropped): the pre-filter must never be narrower than its targeting.
    let countries = prefilter_countries(&prepared, decider.rules);
    let rows = store::audience_page(
        client,
        &campaign.campaign_id,
        &countries,
        prepared.target_organisations(),
        after,
        i64::try_from(ctx.fanout_page).unwrap_or(i64::MAX),
    )
    .await?;
    futures_util::pin_mut!(rows);
    let mut page = Page {
        as_of: decider.now,
        out: WriteSet::default(),
        summary: AudienceSummary::new(&campaign.campaign_id),
        read: 0,
        after: after.to_owned(),
    };
    while let Some(row) = rows.try_next().await? {
        page.read += 1;
        page.after.clone_from(&row.contact_id);
        let contact = pb::Contact::decode(row.data.as_slice()).map_err(corrupt)?;
        let contact = merge(
            contact,
            decode_each(&row.suppressions)?,
            decode_each(&row.consents)?,
        );
        // The page also holds contacts the campaign no longer targets but
        // decided before: their standing decision follows the campaign's new
        // terms, outside the audience summary.
        let targeted = prepared.targets(&contact, decider.rules);
        if !targeted && row.previous.is_none() {
            continue;
        }
        let enrichment = decider.enrich(&contact);
        let d = decider.decide(
            &contact,
            &enrichment,
            &prepared,
            row.previous.as_ref(),
            trigger,
            &mut page.out,
        );
        if targeted {
            page.summary.add(&d);
        }
    }
    Ok(page)
}

/// Re-decides decisions whose `validUntil` has passed (the sweep).
/// Returns how many were re-decided.
pub async fn due(ctx: &Ctx, keys: &[DueKey]) -> Result<usize> {
    if keys.is_empty() {
        return Ok(0);
    }
    let mut client = ctx.pool.get().await?;
    let txn = client.transaction().await?;
    store::lock_shared(&txn).await?;
    let decider = ctx.decider();
    let mut ids: Vec<&str> = keys.iter().map(|(_, c, _)| c.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    // Existing rows only: no id-only row for an erased contact.
    store::lock_existing_contacts(&txn, &ids).await?;
    let mut contacts: HashMap<String, pb::Contact> = HashMap::new();
    for row in store::load_contacts(&txn, &ids).await? {
        if let Some(data) = row.data {
            contacts.insert(
                row.contact_id,
                pb::Contact::decode(data.as_slice()).map_err(corrupt)?,
            );
        }
    }
    let mut suppressions: HashMap<String, Vec<pb::Suppression>> = HashMap::new();
    for (id, data) in store::load_suppressions(&txn, &ids).await? {
        suppressions
            .entry(id)
            .or_default()
            .push(pb::Suppression::decode(data.as_slice()).map_err(corrupt)?);
    }
    let mut consents: HashMap<String, Vec<pb::Consent>> = HashMap::new();
    for (id, data) in store::load_consents(&txn, &ids).await? {
        consents
            .entry(id)
            .or_default()
            .push(pb::Consent::decode(data.as_slice()).map_err(corrupt)?);
    }
    let campaigns =
        Campaigns::decode(store::active_campaigns(&txn).await?, decider.rules).map_err(corrupt)?;
    let by_id = campaigns.by_id();
    let previous = store::previous_decisions(&txn, &ids).await?;
    let mut merged: HashMap<&str, (pb::Contact, Enrichment)> = HashMap::new();
    let mut out = WriteSet::default();
    let trigger = Trigger {
        kind: "sweep",
        event_id: None,
    };
    let mut decided = 0;
    for (_, contact_id, campaign_id) in keys {
        let Some(prev) = previous.get(&(contact_id.clone(), campaign_id.clone())) else {
            continue;
        };
        // Decided again meanwhile (e.g. by a contact update)?
        if prev.valid_until.is_none_or(|t| t > decider.now) {
            continue;
        }
        let (Some(campaign), Some(stored)) =
            (by_id.get(campaign_id.as_str()), contacts.get(contact_id))
        else {
            continue;
        };
        let (contact, enrichment) = merged.entry(contact_id.as_str()).or_insert_with(|| {
            let m = merge(
                stored.clone(),
                suppressions.remove(contact_id).unwrap_or_default(),
                consents.remove(contact_id).unwrap_or_default(),
            );
            let e = decider.enrich(&m);
            (m, e)
        });
        decider.decide(contact, enrichment, campaign, Some(prev), trigger, &mut out);
        decided += 1;
    }
    store::write(&txn, &out).await?;
    txn.commit().await?;
    if !out.outbox.is_empty() {
        ctx.outbox_written.notify_one();
    }
    Ok(decided)
}

#[cfg(test)]
mod tests {
    use super::newer;
    use chrono::{DateTime, Utc};

    fn at(s: &str) -> Option<DateTime<Utc>> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn a_version_orders_when_the_event_has_one() {
        assert!(newer(3, None, 2, None));
        assert!(!newer(2, None, 2, None));
        assert!(!newer(
            1,
            at("2026-12-01T00:00:00Z"),
            2,
            at("2026-01-01T00:00:00Z")
        ));
        assert!(newer(1, None, 0, at("2026-01-01T00:00:00Z")));
    }

    #[test]
    fn without_a_version_occurred_at_orders_and_else_arrival() {
        let (old, new) = (at("2026-01-01T00:00:00Z"), at("2026-02-01T00:00:00Z"));
        assert!(newer(0, new, 0, old));
        assert!(!newer(0, old, 0, new));
        assert!(!newer(0, old, 0, old));
        // Stored with a version, updated without one: time orders.
        assert!(newer(0, new, 5, old));
        assert!(!newer(0, old, 5, new));
        // Nothing to order by: the later arrival applies.
        assert!(newer(0, None, 0, None));
        assert!(newer(0, None, 5, new));
        assert!(newer(0, new, 0, None));
    }
}
