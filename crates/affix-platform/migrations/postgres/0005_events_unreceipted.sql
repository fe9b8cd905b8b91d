-- Events still waiting for their receipt (postgres). Keep in step with the other engine.
-- The evidence loop looks for them every round; events_unsubmitted (submitted) matches
-- every submitted event ever, receipted or not, so that query scanned the whole table.
CREATE INDEX events_unreceipted ON events(contract_id, seq) WHERE receipt IS NULL;
