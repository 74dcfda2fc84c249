"""A flow run that Ctrl-C or SIGTERM stops at once.

Prefect, when a flow run is stopped, reports the crash of each task and flow run to its API,
retrying for minutes when the API is gone (Ctrl-C in a terminal stops Prefect's temporary
server too), and stops its temporary server by waiting up to 5 s for it. So the flow runs on a
thread of its own (interrupts.call): on a stop the command removes what the flow's threads had
not finished (their staging folders), ends the temporary server, and leaves without waiting
for Prefect's reports.
"""
from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

from almaclean import interrupts
from almaclean.write.staging import discard_unfinished

log = logging.getLogger(__name__)

T = TypeVar("T")

SERVER_SPAWN_WAIT_SECONDS = 0.5


def run_stoppable(flow: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    try:
        return interrupts.call(flow, *args, **kwargs)
    except KeyboardInterrupt:
        interrupts.leave_threads_behind()
        for staging in discard_unfinished():
            log.info("stopped: removed %s", staging)
        stop_temporary_server()
        raise


def stop_temporary_server() -> None:
    """End Prefect's temporary API server, if this process started one (prefect is pinned
    exactly; tests/test_interrupts.py notices when this stops working)."""
    module = sys.modules.get("prefect.server.api.server")
    if module is None:  # not even imported (importing it now would take seconds): no server
        return
    server = module.SubprocessASGIServer()  # the one Prefect started, when it did (one per process)
    deadline = time.monotonic() + SERVER_SPAWN_WAIT_SECONDS
    while server.running and server.server_process is None and time.monotonic() < deadline:
        time.sleep(0.02)  # being spawned right now
    process = server.server_process if server.running else None
    if process is not None:
        process.kill()
        server.stop()
