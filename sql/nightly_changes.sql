-- The changes one nightly run reported against the previous succeeded run.
SELECT portfolio_id, mms_id, change, what_changed, outcome, previous_outcome, keeper, previous_keeper
FROM nightly_changes
WHERE run_id = :run_id
ORDER BY portfolio_id
