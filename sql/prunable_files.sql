-- Stored files history may drop: ingested before the given time, not the current file of their scope,
-- and named by no run in the run ledger (a kept run must stay verifiable).
SELECT sf.id, sf.institution_code, sf.kind, sf.file_name, sf.row_count, sf.ingested_at
FROM source_files sf
WHERE sf.ingested_at <= :before
  AND sf.id <> (
      SELECT newer.id
      FROM source_files newer
      WHERE newer.institution_code = sf.institution_code
        AND newer.kind = sf.kind
        AND newer.scope = sf.scope
      ORDER BY newer.current_order DESC, newer.id DESC
      LIMIT 1
  )
ORDER BY sf.id
