-- Stored files by id: what a run pinned (its analysed files), whatever was ingested since.
-- integers: id, row_count
SELECT sf.id, sf.institution_code, sf.kind, sf.scope, sf.file_name, sf.sha256, sf.row_count,
       sf.ingested_at, sf.columns_json
FROM source_files sf
WHERE sf.id IN :ids
ORDER BY sf.kind, sf.scope, sf.id
