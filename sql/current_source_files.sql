-- The files analysis uses: per institution, kind and scope, the newest ingested one.
-- Older files of the same scope are superseded but kept for history.
SELECT sf.id, sf.institution_code, sf.kind, sf.scope, sf.file_name, sf.sha256, sf.row_count,
       sf.ingested_at,
       sf.columns_json
FROM source_files sf
WHERE sf.institution_code = :institution
  AND sf.kind = :kind
  AND sf.id = (
      SELECT MAX(newer.id)
      FROM source_files newer
      WHERE newer.institution_code = sf.institution_code
        AND newer.kind = sf.kind
        AND newer.scope = sf.scope
  )
ORDER BY sf.scope
