-- A version number of everything a decision is read from (contacts,
-- suppressions, consents, decisions): every statement that writes one of
-- these tables draws the next number, whichever release or tool runs it.
--
-- A fan-out page is written under the exclusive decide lock. The next page is
-- read and decided meanwhile, on another connection, and is used in the next
-- page's transaction only if the version is still the one read at the end of
-- the previous page's writes: then no writer that takes the decide lock has
-- changed what it was read from (process::audience). A writer without the
-- lock, or with these triggers disabled, was never safe against a running
-- fan-out. A sequence, not a counter row: writers draw numbers
-- without waiting for each other, and the value does not roll back with its
-- transaction, so a write rolled back only costs a page read again. CACHE 1
-- (the default) keeps the numbers in the order they were drawn.
--
-- Expand only: the previous release writes these tables without knowing it
-- draws numbers, which is what keeps this release's pages current during an
-- upgrade.
CREATE SEQUENCE decide_state_version CACHE 1;

CREATE FUNCTION decide_state_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nextval('decide_state_version');
    RETURN NULL;
END
$$;

CREATE TRIGGER decide_state_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON contacts
    FOR EACH STATEMENT EXECUTE FUNCTION decide_state_changed();
CREATE TRIGGER decide_state_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON suppressions
    FOR EACH STATEMENT EXECUTE FUNCTION decide_state_changed();
CREATE TRIGGER decide_state_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON consents
    FOR EACH STATEMENT EXECUTE FUNCTION decide_state_changed();
CREATE TRIGGER decide_state_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON decisions
    FOR EACH STATEMENT EXECUTE FUNCTION decide_state_changed();
