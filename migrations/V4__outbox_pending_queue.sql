-- The relay's work queue moves out of the outbox (see docs/performance.md).
--
-- Marking a row published used to UPDATE it: a new version of the whole row,
-- payload included, with an entry in each of its indexes, 860 bytes of WAL per
-- row and more database time than anything else in `bench fanout`. Now an
-- outbox row is written once and never changed. Which rows are still to be
-- published is a narrow table of ids, filled by a statement trigger (so every
-- insert, COPY included, queues its rows) and emptied by the relay with a
-- DELETE; when a pass was confirmed is one receipt row per pass. Deleting or
-- truncating outbox rows takes their queue entries with them: the relay's
-- claim joins the two.
--
-- Expand only. The previous release's workers keep running while an upgrade
-- rolls (docs/deployment.md), so outbox.published_at, attempts, retry_at and
-- their indexes stay for them; a later release drops them. Their relay claims
-- rows whose published_at IS NULL and their purge deletes rows whose
-- published_at is past the retention: 'infinity' (below) keeps both away from
-- every row, so only the new relay publishes, once the first new worker runs,
-- and no row is purged before its receipt is old.

-- Nothing is written or marked while the queue is filled from the old columns.
LOCK TABLE outbox IN EXCLUSIVE MODE;

CREATE TABLE outbox_pending (
    id       bigint      PRIMARY KEY,  -- outbox.id
    -- A nacked, unconfirmed or unroutable message is retried later, with
    -- backoff, without holding up the rows behind it.
    attempts integer     NOT NULL DEFAULT 0,
    retry_at timestamptz
);

-- One row per relay pass: the outbox ids the broker confirmed, and when. The
-- purge deletes the outbox rows of receipts older than the retention.
CREATE TABLE outbox_published (
    published_at timestamptz NOT NULL,
    ids          bigint[]    NOT NULL
);
CREATE INDEX outbox_published_time ON outbox_published (published_at);

INSERT INTO outbox_pending (id, attempts, retry_at)
    SELECT id, attempts, retry_at FROM outbox WHERE published_at IS NULL;
-- Rows marked before carry their own clock reading each: one receipt per second.
INSERT INTO outbox_published (published_at, ids)
    SELECT max(published_at), array_agg(id ORDER BY id) FROM outbox
    WHERE published_at IS NOT NULL GROUP BY date_trunc('second', published_at);

ALTER TABLE outbox ALTER COLUMN published_at SET DEFAULT 'infinity';
UPDATE outbox SET published_at = 'infinity' WHERE published_at IS NULL;

CREATE FUNCTION outbox_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbox_pending (id) SELECT id FROM new_rows;
    RETURN NULL;
END
$$;

CREATE TRIGGER outbox_enqueue AFTER INSERT ON outbox
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_enqueue();

CREATE FUNCTION outbox_dequeue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM outbox_pending WHERE id IN (SELECT id FROM old_rows);
    RETURN NULL;
END
$$;

CREATE TRIGGER outbox_dequeue AFTER DELETE ON outbox
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_dequeue();

CREATE FUNCTION outbox_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE outbox_pending;
    RETURN NULL;
END
$$;

CREATE TRIGGER outbox_truncated AFTER TRUNCATE ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_truncated();
