"""How a command almaclean prints for the user to run next is written.

Every next-step command in a run's words and files goes through ``command_line``, so the way
the program is invoked (and quoted) is decided in one place.
"""
from __future__ import annotations

import shlex

PROGRAM = "almaclean"


def command_line(*args: str) -> str:
    """The command to run ``almaclean`` with ``args``, quoted for a POSIX shell."""
    return " ".join([PROGRAM, *(shlex.quote(str(a)) for a in args)])
