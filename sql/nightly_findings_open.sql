-- The open versions of an institution's findings: the findings of its last succeeded run.
-- integers: id
SELECT id, portfolio_id, mms_id, outcome, keeper_portfolio_id, keeper_mms_id, evidence, evidence_sha256
FROM nightly_finding_versions
WHERE institution_code = :institution
  AND until_run_id IS NULL
