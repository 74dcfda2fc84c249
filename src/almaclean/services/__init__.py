"""The service layer: each workflow as one plain function taking an engine (opened once by the
caller, store.db.open_database) and paths, returning a result object with lines() (plain words
for people) and as_json(). The CLI calls these directly; the Prefect flows in
almaclean.orchestration wrap them as tasks; the tests call them without Prefect."""
