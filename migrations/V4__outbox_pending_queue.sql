-- The relay's work queue moves out of the outbox (see docs/performance.md).
--
-- Marking a row published used to UPDATE it: a new version of the whole row,
-- payload included, with an entry in each of its indexes, 860 bytes of WAL per
-- row and more database time than anything else in `bench fanout`. Now an
-- outbox row is written once and never changed. Which rows are still to be
-- published is a narrow table of ids, filled by a statement trigger (so every
-- insert, COPY included, queues its rows) and emptied by the relay with a
-- DELETE; when a pass was confirmed is one receipt row per pass.

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

INSERT INTO outbox_pending (id, attempts, retry_at)
    SELECT id, attempts, retry_at FROM outbox WHERE published_at IS NULL;
-- Rows marked before carry their own clock reading each: one receipt per second.
INSERT INTO outbox_published (published_at, ids)
    SELECT max(published_at), array_agg(id ORDER BY id) FROM outbox
    WHERE published_at IS NOT NULL GROUP BY date_trunc('second', published_at);

DROP INDEX outbox_unpublished;
DROP INDEX outbox_published_at;
ALTER TABLE outbox
    DROP COLUMN published_at,
    DROP COLUMN attempts,
    DROP COLUMN retry_at;
CREATE INDEX outbox_published_at ON outbox_published (published_at);

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
