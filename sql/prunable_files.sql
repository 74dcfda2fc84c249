-- Stored files history may drop: ingested before the given time and not current (the caller
-- also keeps every file a run in the run ledger analysed).
SELECT sf.id, sf.institution_code, sf.kind, sf.file_name, sf.row_count, sf.ingested_at
FROM source_files sf
LEFT JOIN current_files cf ON cf.id = sf.id
WHERE sf.ingested_at <= :before
  AND cf.id IS NULL
ORDER BY sf.id
