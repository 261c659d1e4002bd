-- Indexes that no query uses, dropped: each cost every write of its table an
-- entry (see docs/performance.md; idx_scan stayed 0 through both benches).
--
-- No query reads decisions by campaign alone: the fan-out looks a pair up by
-- the primary key (contact_id, campaign_id), the sweep uses decisions_valid_until.
DROP INDEX decisions_campaign;

-- The fan-out pages through contacts in id order (keyset on the primary key)
-- and filters on these columns as it goes: its condition ORs them with "has a
-- standing decision", which no index on contacts can answer. The columns stay.
DROP INDEX contacts_country;
DROP INDEX contacts_org_country;
DROP INDEX contacts_organisation;
