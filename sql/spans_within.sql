-- The spans of one institution's files of one kind that may hold row ids first..last (row
-- history: which files list the rows with a key, at which row number).
-- integers: source_file_id, first_row, first_id, row_count
SELECT s.source_file_id, s.first_row, s.first_id, s.row_count
FROM file_spans s
JOIN source_files sf ON sf.id = s.source_file_id
WHERE sf.institution_code = :institution
  AND sf.kind = :kind
  AND s.first_id <= :last
  AND s.first_id + s.row_count > :first
