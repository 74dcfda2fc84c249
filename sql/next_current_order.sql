-- The current_order a file takes when it is ingested (or ingested again): above every other.
SELECT COALESCE(MAX(current_order), 0) + 1 FROM source_files
