"""Batch runs over a tree of institutions (docs/audit.md): jobs, retries, the summary."""
