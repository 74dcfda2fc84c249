-- The nightly runs of one institution, oldest first.
SELECT id, institution_code, started_at, finished_at, tool_version, status, error, sources_json, findings
FROM nightly_runs
WHERE institution_code = :institution
ORDER BY id
