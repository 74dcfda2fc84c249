-- A new nightly run of one institution; it stays 'running' until recorded (nightly_finish_run.sql).
INSERT INTO nightly_runs (institution_code, started_at, tool_version, status)
VALUES (:institution, :started_at, :tool_version, 'running')
RETURNING id
