-- Rows each institution's files of one kind stored (shared rows counted once, for the file
-- that stored them): how the kind's content table is shared out in status sizes.
SELECT institution_code, SUM(content_rows) AS n
FROM source_files
WHERE kind = :kind
GROUP BY institution_code
