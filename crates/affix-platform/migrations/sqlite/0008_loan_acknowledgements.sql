-- Repayment acknowledgements (收条, sqlite). Keep in step with the other engine.
-- 0007 named this table for "receipts", a word Affix keeps for the ledger's proof of
-- inclusion: it becomes loan_acknowledgements, and its `receipt` column (the signed
-- text, affix-loan-receipt v1, whose frozen header keeps the old word)
-- `acknowledgement`. The rows are copied unchanged.
CREATE TABLE loan_acknowledgements (
    contract_id TEXT PRIMARY KEY REFERENCES contracts(id),
    loan_id TEXT NOT NULL REFERENCES loans(contract_id),
    repayment BIGINT NOT NULL,
    acknowledgement TEXT NOT NULL,
    state TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
INSERT INTO loan_acknowledgements (contract_id, loan_id, repayment, acknowledgement, state, created_ms)
    SELECT contract_id, loan_id, repayment, receipt, state, created_ms FROM loan_receipts;
DROP TABLE loan_receipts;
CREATE INDEX loan_acknowledgements_state ON loan_acknowledgements(state);
CREATE INDEX loan_acknowledgements_loan ON loan_acknowledgements(loan_id);
