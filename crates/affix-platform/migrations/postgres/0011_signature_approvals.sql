-- What each signer's credential approved (postgres). Keep in step with the sqlite migration.
-- The vault signs a party's CMS signed attributes only under the signer's authorization
-- (a statement binding their digest, proven by the signer's device key, browser-held
-- key or passkey). The signature row keeps that authorization (affix_vault's frozen
-- Authorization encoding: statement and proof, e.g. the raw WebAuthn assertion), the
-- credential's kind and public key (raw Ed25519, SEC1 P-256, or the passkey's COSE key)
-- and, for passkeys, the relying party id and origin, so that the evidence bundle lets
-- anyone re-check offline that the signer's credential approved exactly those bytes.
-- Signatures made before this migration have none (their bundles are format v1).
ALTER TABLE signatures ADD COLUMN authorization_proof BYTEA;
ALTER TABLE signatures ADD COLUMN credential_kind TEXT;
ALTER TABLE signatures ADD COLUMN credential_public_key BYTEA;
ALTER TABLE signatures ADD COLUMN rp_id TEXT;
ALTER TABLE signatures ADD COLUMN rp_origin TEXT;

-- A passkey account's WebAuthn credential id (what the browser's allowCredentials names
-- when the passkey approves a signature); none for device and browser-held keys.
ALTER TABLE signers ADD COLUMN webauthn_credential_id BYTEA;
