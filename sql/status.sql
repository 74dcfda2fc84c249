-- What is stored, per institution and kind: files, current files, and rows in the current ones.
-- integers: files, current_files, current_rows
SELECT sf.institution_code AS institution,
       sf.kind,
       COUNT(*) AS files,
       SUM(CASE WHEN cf.id IS NOT NULL THEN 1 ELSE 0 END) AS current_files,
       SUM(CASE WHEN cf.id IS NOT NULL THEN sf.row_count ELSE 0 END) AS current_rows,
       MAX(sf.ingested_at) AS last_ingest
FROM source_files sf
LEFT JOIN current_files cf ON cf.id = sf.id
GROUP BY sf.institution_code, sf.kind
ORDER BY sf.institution_code, sf.kind
