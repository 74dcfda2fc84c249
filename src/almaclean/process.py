"""This host and its processes: who owns a staging folder or a run lease, and whether it still runs."""
from __future__ import annotations

import os
import socket


def host() -> str:
    return socket.gethostname()


def alive(pid: int) -> bool:
    """Whether a process of this host with this id runs (someone else's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True
