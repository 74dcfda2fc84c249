"""prefect.yaml as `prefect deploy` renders it, with its variables unset and set: a missing or
wrong one stops the deploy with a plain message; set, both entry points load and take the
parameters; the database URL is never a parameter; nightly runs one at a time."""
from __future__ import annotations

import inspect
import os
import subprocess
import sys

import pytest
import yaml

from conftest import REPO

VARIABLES = ("ALMACLEAN_INBOX", "ALMACLEAN_TIMEZONE", "ALMACLEAN_OUT", "ALMACLEAN_BATCH", "ALMACLEAN_DB_SECRET_BLOCK",
             "ALMACLEAN_DB_URL")


@pytest.fixture
def deploy_env(monkeypatch, tmp_path):
    """The deploy shell's environment: every almaclean variable unset; returns a setter."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "inbox").mkdir()

    def set_all(**extra):
        monkeypatch.setenv("ALMACLEAN_INBOX", str(tmp_path / "inbox"))
        monkeypatch.setenv("ALMACLEAN_TIMEZONE", "America/Chicago")
        for name, value in extra.items():
            monkeypatch.setenv(name, value)
    return set_all


def rendered() -> dict:
    """prefect.yaml's deployments as `prefect deploy` fills them in: the environment first
    ($NAME placeholders), then the build step's outputs ({{ almaclean.* }})."""
    from prefect.deployments.steps.core import run_steps
    from prefect.utilities.asyncutils import run_coro_as_sync
    from prefect.utilities.templating import apply_values

    config = yaml.safe_load((REPO / "prefect.yaml").read_text(encoding="utf-8"))
    outputs = run_coro_as_sync(run_steps(config["build"], {}, print_function=lambda *_: None))
    deployments = apply_values(config["deployments"], os.environ, remove_notset=False)
    return {d["name"]: apply_values(d, outputs) for d in deployments}


@pytest.mark.parametrize("unset,said", [
    ("ALMACLEAN_INBOX", "ALMACLEAN_INBOX is not set: set it to the folder with one folder per institution"),
    ("ALMACLEAN_TIMEZONE", "ALMACLEAN_TIMEZONE is not set: set it to the time zone the nightly schedule"),
])
def test_deploying_with_a_variable_unset_stops_with_a_plain_message(deploy_env, monkeypatch, unset, said):
    from almaclean.orchestration.deployment import settings_from_environment

    deploy_env()
    monkeypatch.delenv(unset)
    with pytest.raises(SystemExit) as stopped:
        settings_from_environment()
    assert str(stopped.value.code).startswith(f"almaclean: cannot deploy: {said}")
    assert "run `prefect deploy` again" in str(stopped.value.code)


@pytest.mark.parametrize("name,value,said", [
    ("ALMACLEAN_TIMEZONE", "Central Time", "is not a time zone"),
    ("ALMACLEAN_INBOX", "/nonexistent/inbox", "is not a folder on this machine"),
    ("ALMACLEAN_DB_SECRET_BLOCK", "no-such-block", "there is no Prefect Secret block of that name"),
])
def test_deploying_with_a_wrong_value_stops_with_a_plain_message(deploy_env, prefect_server, name, value, said):
    from almaclean.orchestration.deployment import DeploymentSettingsError, checked_settings

    deploy_env(**{name: value})
    with pytest.raises(DeploymentSettingsError, match=said):
        checked_settings()


def test_prefect_yaml_renders_with_variables_set_and_both_entry_points_load_it(deploy_env, prefect_server, tmp_path):
    """On the session's Prefect API, as `prefect deploy` runs against one: rendering the build step
    asks the API, and without one Prefect starts a temporary server of its own (20 s allowed),
    which a busy machine missed."""
    from prefect.client.schemas.schedules import CronSchedule
    from prefect.flows import load_flow_from_entrypoint

    deploy_env(ALMACLEAN_OUT=str(tmp_path))
    deployments = rendered()
    assert set(deployments) == {"nightly-duplicates", "batch-cleanup"}
    nightly = deployments["nightly-duplicates"]
    assert nightly["parameters"] == {"inbox": str(tmp_path / "inbox"), "out": str(tmp_path), "db_secret_block": None}
    assert deployments["batch-cleanup"]["parameters"] == {"tree": None, "out": str(tmp_path), "db_secret_block": None}
    (schedule,) = nightly["schedules"]
    assert CronSchedule(cron=schedule["cron"], timezone=schedule["timezone"]).timezone == "America/Chicago"
    assert nightly["concurrency_limit"] == {"limit": 1, "collision_strategy": "ENQUEUE"}
    for deployment in deployments.values():
        flow = load_flow_from_entrypoint(str(REPO / deployment["entrypoint"]))
        flow.validate_parameters(deployment["parameters"])
        assert not {"db_url", "db"} & set(inspect.signature(flow.fn).parameters), deployment["name"]


def test_no_flow_takes_the_database_url_as_a_parameter():
    from prefect import Flow

    from almaclean.orchestration import flows

    for name, value in vars(flows).items():
        if isinstance(value, Flow):
            assert not [p for p in inspect.signature(value.fn).parameters if "url" in p or p == "db"], name


def test_prefect_deploy_itself_stops_plainly_then_deploys(deploy_env, prefect_server, tmp_path):
    """The README's recipe with a variable unset: `prefect deploy` ends with almaclean's message
    alone (exit 1), and with the variables set it creates both deployments."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.settings import PREFECT_API_URL
    from prefect.utilities.asyncutils import run_coro_as_sync

    async def pool_and_deployment(name=None):
        async with get_client() as client:
            if name is None:
                await client.create_work_pool(WorkPoolCreate(name="almaclean", type="process"))
                return None
            return await client.read_deployment_by_name(name)

    run_coro_as_sync(pool_and_deployment())
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    env.update(PREFECT_API_URL=PREFECT_API_URL.value(), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    command = [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all"]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert "almaclean: cannot deploy: ALMACLEAN_INBOX is not set" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr + done.stdout

    env.update(ALMACLEAN_INBOX=str(tmp_path / "inbox"), ALMACLEAN_TIMEZONE="Europe/Paris")
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    deployment = run_coro_as_sync(pool_and_deployment("almaclean-nightly/nightly-duplicates"))
    assert deployment.parameters == {"inbox": str(tmp_path / "inbox"), "out": None, "db_secret_block": None}
    assert deployment.schedules[0].schedule.timezone == "Europe/Paris"
    assert deployment.global_concurrency_limit.limit == 1
