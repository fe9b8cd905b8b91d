-- Webhooks (PostgreSQL). Keep in step with migrations/sqlite.
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    disabled_ms BIGINT
);
CREATE INDEX webhooks_tenant ON webhooks(tenant_id);
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    webhook_id TEXT NOT NULL REFERENCES webhooks(id),
    event_type TEXT NOT NULL,
    body TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    next_ms BIGINT,
    state TEXT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_ms);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries(webhook_id, created_ms);
CREATE TABLE webhook_attempts (
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id),
    attempt BIGINT NOT NULL,
    at_ms BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    record_digest BYTEA NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);
CREATE INDEX contracts_expiry ON contracts(status, expires_ms);
