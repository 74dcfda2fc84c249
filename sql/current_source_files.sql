-- The files analysis uses: per institution, kind and scope, the current one (the view
-- current_files, migration 0006). Older files of the same scope are superseded but kept for history.
-- integers: id, row_count
SELECT sf.id, sf.institution_code, sf.kind, sf.scope, sf.file_name, sf.sha256, sf.row_count,
       sf.ingested_at,
       sf.columns_json
FROM source_files sf
JOIN current_files cf ON cf.id = sf.id
WHERE sf.institution_code = :institution
  AND sf.kind = :kind
ORDER BY sf.scope
