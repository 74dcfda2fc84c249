-- The findings of one succeeded nightly run: the versions of its institution's findings open at
-- it (appeared at or before it, not ended at or before it).
-- integers: (none: every column is text)
SELECT v.portfolio_id, v.mms_id, v.outcome, v.keeper_portfolio_id, v.keeper_mms_id, v.evidence, v.evidence_sha256
FROM nightly_finding_versions v
JOIN nightly_runs r ON r.institution_code = v.institution_code
WHERE r.id = :run_id
  AND r.status = 'succeeded'
  AND v.first_run_id <= r.id
  AND (v.until_run_id IS NULL OR v.until_run_id > r.id)
ORDER BY v.portfolio_id
