-- Records how a nightly run ended: 'succeeded' (its findings and changes are stored in the same
-- transaction) or 'failed' (error says why).
UPDATE nightly_runs
SET finished_at = :finished_at, status = :status, error = :error, sources_json = :sources_json,
    findings = :findings
WHERE id = :run_id
