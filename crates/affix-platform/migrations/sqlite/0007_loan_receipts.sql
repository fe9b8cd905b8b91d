-- Repayment receipts (收条, sqlite). Keep in step with the other engine.
-- The receipt is a contract of its own (the receipt text as its document) that the
-- lender alone signs; once it is effective the scheduler confirms the repayment
-- (state proposed → applied), or marks it stale if the repayment was decided meanwhile.
CREATE TABLE loan_receipts (
    contract_id TEXT PRIMARY KEY REFERENCES contracts(id),
    loan_id TEXT NOT NULL REFERENCES loans(contract_id),
    repayment BIGINT NOT NULL,
    receipt TEXT NOT NULL,
    state TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX loan_receipts_state ON loan_receipts(state);
CREATE INDEX loan_receipts_loan ON loan_receipts(loan_id);
