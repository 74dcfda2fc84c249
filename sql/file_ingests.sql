-- Each time a file of one institution and kind became the current one of its scope (stored,
-- or an earlier file ingested again: "current again"), oldest first: the timeline of row history.
-- integers: id, source_file_id
SELECT fi.id, fi.source_file_id, fi.ingested_at, fi.status, sf.file_name, sf.scope
FROM file_ingests fi
JOIN source_files sf ON sf.id = fi.source_file_id
WHERE sf.institution_code = :institution
  AND sf.kind = :kind
ORDER BY fi.id
