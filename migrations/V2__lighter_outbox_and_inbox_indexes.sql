-- Cheaper upkeep on the two hottest tables (see docs/performance.md).
--
-- The relay marks every outbox row once published: that UPDATE writes a new
-- row version and an entry in every btree of the table. event_id is a fresh
-- UUID per event, so its unique index guarded nothing; it goes.
ALTER TABLE outbox DROP CONSTRAINT outbox_event_id_key;

-- The purge deletes by time, every 10 minutes: rows are written in time order,
-- so a BRIN index serves that range at almost no cost per row written.
DROP INDEX outbox_published_at;
CREATE INDEX outbox_published_at ON outbox USING brin (published_at);
DROP INDEX inbox_processed_at;
CREATE INDEX inbox_processed_at ON inbox USING brin (processed_at);
