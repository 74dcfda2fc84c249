"""Prefect flows: thin wrappers that run the services (almaclean.services) as flow and task
runs, for deployments, schedules, the UI, retries and concurrency. Importing this imports Prefect."""
