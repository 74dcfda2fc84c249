"""prefect.yaml's build step: the deployments' settings, read from the environment of
`prefect deploy` and checked there, so a missing or wrong one stops the deploy with a plain
message instead of failing every scheduled run at 02:30.

| variable | needed | becomes |
|---|---|---|
| ALMACLEAN_INBOX | yes: an existing folder | nightly-duplicates' inbox |
| ALMACLEAN_TIMEZONE | yes: an IANA time zone (Europe/Paris, America/Chicago) | the 02:30 schedule's zone |
| ALMACLEAN_OUT | no (default: the worker's data folder, runs/) | both deployments' out |
| ALMACLEAN_BATCH | no (default: the worker's $ALMACLEAN_BATCH when a batch run starts) | batch-cleanup's tree |
| ALMACLEAN_DB_SECRET_BLOCK | no (default: the worker's $ALMACLEAN_DB_URL, else its data folder's almaclean.db) | the Prefect Secret block holding the database URL |

The database URL itself is never read here: it is not a deployment parameter (the Prefect UI
shows those), the flow run finds it in the worker's environment or the Secret block.
"""
from __future__ import annotations

import os
from pathlib import Path

from almaclean.errors import AlmacleanError


class DeploymentSettingsError(AlmacleanError):
    """What to set before `prefect deploy`, in plain words."""

    exit_code = 2


def _folder(name: str, what: str, *, required: bool) -> str | None:
    value = os.environ.get(name, "").strip()
    if not value:
        if required:
            raise DeploymentSettingsError(f"{name} is not set: set it to {what}, then run `prefect deploy` again")
        return None
    path = Path(value).expanduser().resolve()
    if not path.is_dir():
        raise DeploymentSettingsError(f"{name}={value} is not a folder on this machine: set it to {what}, "
                                      "then run `prefect deploy` again")
    return str(path)


def _timezone() -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    value = os.environ.get("ALMACLEAN_TIMEZONE", "").strip()
    if not value:
        raise DeploymentSettingsError("ALMACLEAN_TIMEZONE is not set: set it to the time zone the nightly schedule "
                                      "(02:30) is in, e.g. America/Chicago or Europe/Paris, then run `prefect deploy` "
                                      "again")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise DeploymentSettingsError(f"ALMACLEAN_TIMEZONE={value} is not a time zone: use a name such as "
                                      "America/Chicago or Europe/Paris, then run `prefect deploy` again") from exc
    return value


def _secret_block() -> str | None:
    name = os.environ.get("ALMACLEAN_DB_SECRET_BLOCK", "").strip()
    if not name:
        return None
    from prefect.blocks.system import Secret

    try:
        Secret.load(name)
    except (ValueError, KeyError) as exc:
        raise DeploymentSettingsError(f"ALMACLEAN_DB_SECRET_BLOCK={name}: there is no Prefect Secret block of that "
                                      "name: create it (Prefect UI, Blocks, Secret, holding the database URL), then run "
                                      "`prefect deploy` again") from exc
    return name


def settings_from_environment() -> dict[str, str | None]:
    """prefect.yaml's build step (id `almaclean`): checked_settings(), or `prefect deploy` stops
    with the plain message alone (SystemExit: no traceback) and exit code 1."""
    try:
        return checked_settings()
    except DeploymentSettingsError as exc:
        raise SystemExit(f"almaclean: cannot deploy: {exc}") from None


def checked_settings() -> dict[str, str | None]:
    """The deployments' settings: inbox, out, batch, timezone, db_secret_block; raises
    DeploymentSettingsError for a missing or wrong one."""
    values = {
        "inbox": _folder("ALMACLEAN_INBOX", "the folder with one folder per institution (docs/nightly.md)",
                         required=True),
        "timezone": _timezone(),
        "out": _folder("ALMACLEAN_OUT", "the folder for run folders", required=False),
        "batch": _folder("ALMACLEAN_BATCH", "the folder tree for batch clean-up", required=False),
        "db_secret_block": _secret_block(),
    }
    if os.environ.get("ALMACLEAN_DB_URL"):
        print("note: ALMACLEAN_DB_URL is not part of the deployments; the worker's own environment (or "
              "ALMACLEAN_DB_SECRET_BLOCK) gives the flow runs their database")
    return values
