-- What is stored, per institution and kind: files, current files, and rows in the current ones.
SELECT sf.institution_code AS institution,
       sf.kind,
       COUNT(*) AS files,
       SUM(CASE WHEN sf.id = (SELECT n.id FROM source_files n
                              WHERE n.institution_code = sf.institution_code
                                AND n.kind = sf.kind AND n.scope = sf.scope
                              ORDER BY n.current_order DESC, n.id DESC LIMIT 1)
                THEN 1 ELSE 0 END) AS current_files,
       SUM(CASE WHEN sf.id = (SELECT n.id FROM source_files n
                              WHERE n.institution_code = sf.institution_code
                                AND n.kind = sf.kind AND n.scope = sf.scope
                              ORDER BY n.current_order DESC, n.id DESC LIMIT 1)
                THEN sf.row_count ELSE 0 END) AS current_rows,
       MAX(sf.ingested_at) AS last_ingest
FROM source_files sf
GROUP BY sf.institution_code, sf.kind
ORDER BY sf.institution_code, sf.kind
