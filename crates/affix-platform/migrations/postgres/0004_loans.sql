-- Loans (postgres): the e-IOU lifecycle after a loan note takes effect. Keep in step with
-- migrations/sqlite.
-- The automation rules (rule set JSON) of a loan note, whose digest is signed with it.
ALTER TABLE contracts ADD COLUMN loan_rules TEXT;
CREATE TABLE loans (
    contract_id TEXT PRIMARY KEY REFERENCES contracts(id),
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    lender_party TEXT NOT NULL,
    borrower_party TEXT NOT NULL,
    rules TEXT NOT NULL,
    event_count BIGINT NOT NULL,
    action_count BIGINT NOT NULL,
    head BYTEA NOT NULL,
    next_due TEXT,
    evaluated_through TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX loans_due ON loans(next_due);
CREATE INDEX loans_tenant ON loans(tenant_id, created_ms);
-- The loan's own hash chain (affix-loan-event v1 texts), each an evidence record.
CREATE TABLE loan_events (
    contract_id TEXT NOT NULL REFERENCES loans(contract_id),
    seq BIGINT NOT NULL,
    text TEXT NOT NULL,
    proof BYTEA,
    record BYTEA NOT NULL,
    leaf_hash BYTEA,
    submitted BIGINT NOT NULL,
    receipt TEXT,
    PRIMARY KEY (contract_id, seq)
);
CREATE INDEX loan_events_unsubmitted ON loan_events(submitted);
-- Actions of the automation rules, exactly once by their idempotency key; each an
-- evidence record, with the delivery results of its notices (proof of notice).
CREATE TABLE loan_actions (
    key TEXT PRIMARY KEY,
    contract_id TEXT NOT NULL REFERENCES loans(contract_id),
    seq BIGINT NOT NULL,
    day TEXT NOT NULL,
    rule TEXT NOT NULL,
    action TEXT NOT NULL,
    state TEXT NOT NULL,
    deliveries TEXT,
    record BYTEA NOT NULL,
    leaf_hash BYTEA,
    submitted BIGINT NOT NULL,
    receipt TEXT,
    created_ms BIGINT NOT NULL
);
CREATE INDEX loan_actions_pending ON loan_actions(state);
CREATE INDEX loan_actions_unsubmitted ON loan_actions(submitted);
CREATE UNIQUE INDEX loan_actions_contract ON loan_actions(contract_id, seq);
