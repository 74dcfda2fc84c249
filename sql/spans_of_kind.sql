-- The row-id spans every stored file of one kind lists: the content rows still used (prune).
SELECT s.first_id, s.row_count
FROM file_spans s
JOIN source_files sf ON sf.id = s.source_file_id
WHERE sf.kind = :kind
