"""The one JSON writer for run folders: indented, UTF-8 as is, one trailing newline, atomic,
never over an existing file (same payload, same bytes: verify compares them)."""
from __future__ import annotations

import json
from pathlib import Path

from almaclean.write.atomic import atomic_path


def write_json(path: Path, payload: dict | list) -> Path:
    with atomic_path(Path(path)) as temp:
        temp.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return Path(path)
