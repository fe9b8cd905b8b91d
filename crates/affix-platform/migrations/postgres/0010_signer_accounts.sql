-- Signer accounts (postgres). Keep in step with the sqlite migration.
-- A natural person's signing account belongs to the person, not to a tenant: it is
-- created by the person's first identity check (a one-time code to the e-mail address),
-- keyed by that verified address, and reused by every tenant that invites the address.
-- It holds the person's vault credential (registered by the person's own device), the
-- vault key (in the vault tenant "affix-signers", which no tenant API key maps to) and
-- the certificate, whose name the signer gave and whose serialNumber is the account id.
-- The enrolment columns of persons (credential_*, vault_key, certificate) are no longer
-- written: certificates issued through them stay valid for the signatures made with
-- them (the signatures table keeps each one), new signatures use signer accounts.
CREATE TABLE signers (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    credential_id TEXT NOT NULL,
    credential_kind TEXT NOT NULL,
    credential_public_key BYTEA NOT NULL,
    vault_key TEXT,
    certificate BYTEA,
    created_ms BIGINT NOT NULL
);
