-- Affix platform schema v1 (PostgreSQL). Keep in step with migrations/sqlite.
CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    tenant_id TEXT REFERENCES tenants(id),
    role TEXT NOT NULL,
    secret_hash BYTEA NOT NULL,
    label TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    revoked_ms BIGINT
);
CREATE TABLE persons (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    mobile TEXT,
    credential_id TEXT,
    credential_public_key BYTEA,
    vault_key TEXT,
    certificate BYTEA,
    created_ms BIGINT NOT NULL
);
CREATE INDEX persons_tenant ON persons(tenant_id, created_ms);
CREATE TABLE contracts (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    template_id TEXT NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    content BYTEA NOT NULL,
    document BYTEA,
    document_name TEXT,
    event_count BIGINT NOT NULL,
    head BYTEA NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX contracts_list ON contracts(tenant_id, created_ms, id);
CREATE INDEX contracts_status ON contracts(tenant_id, status, created_ms);
CREATE TABLE contract_parties (
    contract_id TEXT NOT NULL REFERENCES contracts(id),
    party_id TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    person_id TEXT NOT NULL REFERENCES persons(id),
    position BIGINT NOT NULL,
    role TEXT NOT NULL,
    salt BYTEA NOT NULL,
    invite_hash BYTEA,
    invite_expires_ms BIGINT,
    PRIMARY KEY (contract_id, party_id)
);
CREATE UNIQUE INDEX contract_parties_invite ON contract_parties(invite_hash);
CREATE INDEX contract_parties_person ON contract_parties(tenant_id, person_id);
CREATE TABLE events (
    contract_id TEXT NOT NULL REFERENCES contracts(id),
    seq BIGINT NOT NULL,
    bytes BYTEA NOT NULL,
    record BYTEA NOT NULL,
    leaf_hash BYTEA,
    submitted BIGINT NOT NULL,
    receipt TEXT,
    PRIMARY KEY (contract_id, seq)
);
CREATE INDEX events_unsubmitted ON events(submitted);
CREATE TABLE signatures (
    contract_id TEXT NOT NULL REFERENCES contracts(id),
    party_id TEXT NOT NULL,
    cms BYTEA NOT NULL,
    certificate BYTEA NOT NULL,
    timestamp_token BYTEA NOT NULL,
    image BYTEA NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (contract_id, party_id)
);
CREATE TABLE party_state (
    contract_id TEXT NOT NULL REFERENCES contracts(id),
    party_id TEXT NOT NULL,
    otp BYTEA,
    image BYTEA,
    prepared BYTEA,
    PRIMARY KEY (contract_id, party_id)
);
CREATE TABLE idempotency (
    principal TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash BYTEA NOT NULL,
    status BIGINT,
    body BYTEA,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (principal, key)
);
CREATE TABLE audit (
    seq BIGSERIAL PRIMARY KEY,
    tenant_id TEXT,
    principal TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);
