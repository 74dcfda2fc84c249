"""When a nightly institution need not be analysed again: what it would analyse is exactly what
its last succeeded run analysed.

The inputs of an institution's analysis are its current stored files (each named by the sha256
of its content), the options the report is written with, the inbox's column mapping, and
almaclean's own rules (its version and the bytes of its code). Their fingerprint is the sha256
of all of them; a run records it, and the next run whose fingerprint is the same reuses that
run's findings instead of analysing again: the analysis is a pure function of these inputs, so
it would find exactly the same. Any change of a file, an option, the mapping or the code gives
another fingerprint, hence a full analysis.
"""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from almaclean import __version__
from almaclean.p2e.sets import DEFAULT_HEADER, DEFAULT_SIZE

# The options a nightly institution's report is written with (write_report's defaults today):
# named here so that an option the nightly comes to take changes the fingerprint.
NIGHTLY_OPTIONS = {"set_header": DEFAULT_HEADER, "set_size": DEFAULT_SIZE, "without_po_lines": False}


@lru_cache(maxsize=1)
def rules_digest() -> str:
    """sha256 of almaclean's version and of every module of the package (any code change counts)."""
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256(__version__.encode("utf-8"))
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def inputs_fingerprint(stored: dict[str, list[str]], *, mapping: bytes | None,
                       options: dict | None = None, rules: str | None = None) -> str:
    """sha256 of what an institution's analysis reads: per kind the sha256 of each current stored
    file (in the order given: the order of scopes is the order of rows), the mapping file's bytes
    (None: no mapping), the options and the rules (default: this almaclean's)."""
    facts = {"stored": {kind: list(hashes) for kind, hashes in sorted(stored.items())},
             "mapping": hashlib.sha256(mapping).hexdigest() if mapping is not None else None,
             "options": NIGHTLY_OPTIONS if options is None else options,
             "rules": rules_digest() if rules is None else rules}
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode("utf-8")).hexdigest()
