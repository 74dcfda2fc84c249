-- file_spans rows per institution: how that table is shared out in status sizes.
SELECT sf.institution_code, COUNT(*) AS n
FROM file_spans s
JOIN source_files sf ON sf.id = s.source_file_id
GROUP BY sf.institution_code
