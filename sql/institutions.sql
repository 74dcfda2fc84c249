-- Institutions with at least one stored file.
-- integers: (none: every column is text)
SELECT DISTINCT institution_code AS institution FROM source_files ORDER BY institution_code
