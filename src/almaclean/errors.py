"""The two error kinds the CLI turns into exit codes: 2 for bad input, 1 otherwise."""
from __future__ import annotations

from pathlib import Path


class AlmacleanError(Exception):
    """An error almaclean explains to the user; exit code 1."""

    exit_code = 1


class InputError(AlmacleanError):
    """Bad input: names the file, the row (as Excel shows it) and the column; exit code 2."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.row = row
        self.column = column
        super().__init__(str(self))

    def __reduce__(self):
        # Keep file, row and column when the error crosses a process boundary (Dask workers).
        return (_rebuild_input_error, (self.message, self.file, self.row, self.column))

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        prefix = f"{self.file}: " if self.file else ""
        place = f"{', '.join(where)}: " if where else ""
        return f"{prefix}{place}{self.message}"


def _rebuild_input_error(message: str, file: str | None, row: int | None, column: str | None) -> InputError:
    return InputError(message, file=file, row=row, column=column)
