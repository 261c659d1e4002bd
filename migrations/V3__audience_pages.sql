-- A campaign's audience is decided page by page, each page in a transaction of
-- its own, so that the relay publishes the first decisions while the rest are
-- being decided. These columns say which fan-out is owed and why:
-- audience_pending is set with the campaign change that asks for a fan-out and
-- cleared by its last page; a fan-out cut short (crash, outage) is run again
-- when its event is redelivered. audience_generation counts the changes, so a
-- fan-out overtaken by a newer change of its campaign stops.
ALTER TABLE campaigns
    ADD COLUMN audience_pending    boolean NOT NULL DEFAULT false,
    ADD COLUMN audience_generation bigint  NOT NULL DEFAULT 0,
    ADD COLUMN audience_trigger    text    NOT NULL DEFAULT '',  -- routing key of the event
    ADD COLUMN audience_event_id   text;
