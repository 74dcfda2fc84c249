-- The versions one nightly run ended, and how (changed, resolved, no longer a duplicate).
-- integers: (none: every column is text)
SELECT v.portfolio_id, v.ended_as
FROM nightly_finding_versions v
JOIN nightly_runs r ON r.institution_code = v.institution_code
WHERE r.id = :run_id
  AND v.until_run_id = r.id
