-- Retries of loan notices (sqlite). Keep in step with the other engine.
-- A notice whose delivery failed in a way that may pass (connection refused, SMTP 4xx)
-- stays pending and is tried again at next_attempt_ms (platform clock), at most
-- NOTICE_ATTEMPTS times in all; a permanent refusal, or the last attempt, marks it failed.
ALTER TABLE loan_actions ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE loan_actions ADD COLUMN next_attempt_ms BIGINT NOT NULL DEFAULT 0;
