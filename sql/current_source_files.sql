-- The files analysis uses: per institution, kind and scope, the one ingested last (highest
-- current_order: a file ingested again after a newer one is current again). Older files of the
-- same scope are superseded but kept for history.
SELECT sf.id, sf.institution_code, sf.kind, sf.scope, sf.file_name, sf.sha256, sf.row_count,
       sf.ingested_at,
       sf.columns_json
FROM source_files sf
WHERE sf.institution_code = :institution
  AND sf.kind = :kind
  AND sf.id = (
      SELECT newer.id
      FROM source_files newer
      WHERE newer.institution_code = sf.institution_code
        AND newer.kind = sf.kind
        AND newer.scope = sf.scope
      ORDER BY newer.current_order DESC, newer.id DESC
      LIMIT 1
  )
ORDER BY sf.scope
