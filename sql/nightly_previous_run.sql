-- The run a nightly run compares with: the institution's newest succeeded run before it.
-- integers: id
SELECT id, started_at, finished_at
FROM nightly_runs
WHERE institution_code = :institution
  AND status = 'succeeded'
  AND id < :run_id
ORDER BY id DESC
LIMIT 1
