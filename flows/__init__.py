"""Prefect flows: thin orchestration over the almaclean package."""
