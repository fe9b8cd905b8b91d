-- Idempotency answers that hold a secret (sqlite). Keep in step with the other engine.
-- An answer carrying a bearer secret (an API key, invite tokens, a webhook secret) is
-- never stored: its row keeps the status and the SHA-256 of the answer, and a replay is
-- refused with replay-unavailable. Rows written before this migration may hold such
-- answers in clear, so they are deleted (the server is stopped while it migrates: no
-- request holds a key). Rows older than 24 hours are pruned from now on; the index
-- serves that sweep.
ALTER TABLE idempotency ADD COLUMN answer_sha256 BLOB;
DELETE FROM idempotency;
CREATE INDEX idempotency_created ON idempotency (created_ms);
