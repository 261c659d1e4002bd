-- Cheaper upkeep on the hottest table (see docs/performance.md).
--
-- The relay marks every outbox row once published: that UPDATE writes a new
-- row version and an entry in every btree of the table. event_id is a fresh
-- UUID per event, so its unique index guarded nothing; it goes.
ALTER TABLE outbox DROP CONSTRAINT outbox_event_id_key;

-- The purge deletes published rows by age every 10 minutes. A BRIN index costs
-- the marking UPDATE almost nothing. Published rows move on update and freed
-- pages are reused, so over time its ranges overlap and the purge reads most of
-- the table: acceptable for the outbox, which keeps about a day of rows. The
-- inbox, which keeps two weeks, keeps its btree.
DROP INDEX outbox_published_at;
CREATE INDEX outbox_published_at ON outbox USING brin (published_at);
