-- Organization seals (sqlite). Keep in step with migrations/postgres.
-- A tenant is an organization; its seal (a vault key under the organization's own
-- vault owner, certified by the CA with the unified social credit code) is created on
-- first need, when the designated seal holder first proves their identity as a
-- sealing party. The holder's signing device is the seal's only credential.
ALTER TABLE tenants ADD COLUMN credit_code TEXT;
ALTER TABLE tenants ADD COLUMN seal_holder TEXT REFERENCES persons(id);
ALTER TABLE tenants ADD COLUMN seal_owner TEXT;
ALTER TABLE tenants ADD COLUMN seal_credential TEXT;
ALTER TABLE tenants ADD COLUMN seal_key TEXT;
ALTER TABLE tenants ADD COLUMN seal_certificate BLOB;
ALTER TABLE contract_parties ADD COLUMN seal BIGINT NOT NULL DEFAULT 0;
