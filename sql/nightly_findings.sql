-- The findings of one nightly run (one row per P2E portfolio with an outcome).
SELECT portfolio_id, mms_id, outcome, keeper_portfolio_id, keeper_mms_id, evidence, evidence_sha256
FROM nightly_findings
WHERE run_id = :run_id
ORDER BY portfolio_id
