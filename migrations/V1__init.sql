-- dmumatch worker state. Personal data is kept to what decisions need: no
-- first or last names, and nothing but salted hashes once a contact is erased.

-- Idempotency: one row per processed event and queue. A redelivered or
-- duplicated event finds its row and changes nothing.
CREATE TABLE inbox (
    queue        text        NOT NULL,
    event_id     text        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (queue, event_id)
);
CREATE INDEX inbox_processed_at ON inbox (processed_at);

-- The latest known state of each contact. A row with data IS NULL is a contact
-- known only by id (an objection or a consent that arrived before the contact);
-- it also serves as the row lock that serialises every decision about it.
CREATE TABLE contacts (
    contact_id      text        PRIMARY KEY,
    version         bigint      NOT NULL DEFAULT 0,
    occurred_at     timestamptz,
    data            bytea,               -- dmumatch.v1.Contact, names removed
    -- Targeting pre-filters for campaign fan-out (the engine has the last word):
    -- the contact's and the organisation's country, upper case, UK read as GB.
    country         text        NOT NULL DEFAULT '',
    org_country     text        NOT NULL DEFAULT '',
    organisation_id text        NOT NULL DEFAULT '',
    function        text,
    seniority       text,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contacts_country ON contacts (country) WHERE data IS NOT NULL;
CREATE INDEX contacts_org_country ON contacts (org_country) WHERE data IS NOT NULL;
CREATE INDEX contacts_organisation ON contacts (organisation_id) WHERE data IS NOT NULL;

CREATE TABLE organisations (
    organisation_id text        PRIMARY KEY,
    country         text        NOT NULL DEFAULT '',
    legal_form      text        NOT NULL DEFAULT '',
    entity_type     smallint    NOT NULL DEFAULT 0,
    domain          text        NOT NULL DEFAULT '',
    employee_count  integer     NOT NULL DEFAULT 0,
    industry        text        NOT NULL DEFAULT '',
    occurred_at     timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Suppressions and consents received as events (contact.objected,
-- contact.consent_changed), keyed by contact id so that one that arrives
-- before the contact is kept and applies once the contact exists. They are
-- merged with the contact's own arrays at decision time.
CREATE TABLE suppressions (
    id         bigserial   PRIMARY KEY,
    contact_id text        NOT NULL,
    event_id   text        NOT NULL,
    scope      smallint    NOT NULL,
    reason     smallint    NOT NULL,
    at         timestamptz,
    data       bytea       NOT NULL,     -- dmumatch.v1.Suppression
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX suppressions_contact ON suppressions (contact_id);

CREATE TABLE consents (
    id          bigserial   PRIMARY KEY,
    contact_id  text        NOT NULL,
    event_id    text        NOT NULL,
    captured_at timestamptz,
    withdrawn_at timestamptz,
    data        bytea       NOT NULL,    -- dmumatch.v1.Consent
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX consents_contact ON consents (contact_id);

-- What is left of an erased contact: keyed hashes of its id and of its
-- normalised email, so that a re-import under either stays suppressed.
CREATE TABLE erased_contacts (
    hash      bytea       PRIMARY KEY,
    kind      text        NOT NULL CHECK (kind IN ('contact_id', 'email')),
    erased_at timestamptz NOT NULL
);

CREATE TABLE campaigns (
    campaign_id  text        PRIMARY KEY,
    version      bigint      NOT NULL DEFAULT 0,
    occurred_at  timestamptz,
    data         bytea,                  -- dmumatch.v1.Campaign; NULL if only cancelled
    active       boolean     NOT NULL DEFAULT false,
    cancelled_at timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX campaigns_active ON campaigns (campaign_id) WHERE active;

-- The latest decision per contact x campaign: what was last published.
CREATE TABLE decisions (
    contact_id          text        NOT NULL,
    campaign_id         text        NOT NULL,
    decision_id         uuid        NOT NULL,
    decision            smallint    NOT NULL,
    outcome_fingerprint bytea       NOT NULL,  -- decision, ground, basis, rule, obligations
    rule_id             text        NOT NULL,
    rule_set_version    text        NOT NULL,
    input_digest        text        NOT NULL,
    decided_at          timestamptz NOT NULL,
    valid_until         timestamptz,
    PRIMARY KEY (contact_id, campaign_id)
);
CREATE INDEX decisions_campaign ON decisions (campaign_id);
CREATE INDEX decisions_valid_until ON decisions (valid_until) WHERE valid_until IS NOT NULL;

-- Append-only audit trail: every decision whose outcome, inputs or rule set
-- changed, with the full payload as it was decided.
CREATE TABLE decision_history (
    id               bigserial   PRIMARY KEY,
    decision_id      uuid        NOT NULL,
    contact_id       text        NOT NULL,
    campaign_id      text        NOT NULL,
    decision         smallint    NOT NULL,
    rule_id          text        NOT NULL,
    rule_set_version text        NOT NULL,
    input_digest     text        NOT NULL,
    decided_at       timestamptz NOT NULL,
    valid_until      timestamptz,
    published        boolean     NOT NULL,
    trigger          text        NOT NULL,  -- routing key of the event, or 'sweep'
    event_id         text,                  -- the triggering event, if any
    payload          bytea       NOT NULL   -- dmumatch.v1.EligibilityDecided
);
CREATE INDEX decision_history_pair ON decision_history (contact_id, campaign_id);

-- Transactional outbox (Debezium outbox-router column shape), relayed to
-- dmu.decisions with publisher confirms.
CREATE TABLE outbox (
    id             bigserial   PRIMARY KEY,
    event_id       uuid        NOT NULL UNIQUE,
    aggregate_type text        NOT NULL,   -- contact | campaign
    aggregate_id   text        NOT NULL,
    routing_key    text        NOT NULL,
    type           text        NOT NULL,   -- full message name
    content_type   text        NOT NULL,
    payload        bytea       NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    published_at   timestamptz,
    -- A nacked, unconfirmed or unroutable message is retried later, with
    -- backoff, without holding up the rows behind it.
    attempts       integer     NOT NULL DEFAULT 0,
    retry_at       timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
CREATE INDEX outbox_published_at ON outbox (published_at) WHERE published_at IS NOT NULL;
