"""Where almaclean talks to: the API gateway of the institution's region, and the API key.

The key is read from an environment variable ($ALMA_API_KEY by default) or a Prefect Secret
block, never from the command line (other users see a process's arguments) or a file in the
inbox. It travels in the `Authorization: apikey ...` header, never in a URL, so no request line
in a log holds it; any text almaclean builds from a server's answer goes through ApiKey.redact.
"""
from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from almaclean.errors import InputError

API_KEY_ENV = "ALMA_API_KEY"
API_BASE_ENV = "ALMA_API_BASE"
# developers.exlibrisgroup.com: one API gateway per region; a key only works on its own.
GATEWAYS = {
    "na": "https://api-na.hosted.exlibrisgroup.com",     # North America
    "eu": "https://api-eu.hosted.exlibrisgroup.com",     # Europe
    "ap": "https://api-ap.hosted.exlibrisgroup.com",     # Asia Pacific
    "ca": "https://api-ca.hosted.exlibrisgroup.com",     # Canada
    "cn": "https://api-cn.hosted.exlibrisgroup.com.cn",  # China
}
DEFAULT_BASE = GATEWAYS["na"]
_API_PATH = re.compile(r"/almaws(/v1(/analytics(/reports)?)?)?/?$")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
REDACTED = "[API key]"


def api_base(explicit: str | None = None) -> str:
    """--api-base (a URL or a region: na, eu, ap, ca, cn), else $ALMA_API_BASE, else North America.
    The scheme and host only; https, or http to this machine alone (a test server)."""
    given = explicit if explicit is not None else os.environ.get(API_BASE_ENV) or DEFAULT_BASE
    where = "--api-base" if explicit is not None else f"${API_BASE_ENV}" if os.environ.get(API_BASE_ENV) else "default"
    text = given.strip()
    if text.lower() in GATEWAYS:
        return GATEWAYS[text.lower()]
    parts = urlsplit(text)
    regions = ", ".join(f"{name} ({url})" for name, url in GATEWAYS.items())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InputError(f"{where} {given!r} is not an API gateway URL: give one of the regional gateways, "
                         f"{regions}")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise InputError(f"{where} {given!r}: give the gateway's address alone (no user, query or #part), "
                         "like https://api-eu.hosted.exlibrisgroup.com")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise InputError(f"{where} {given!r}: the API key would travel unencrypted; use https://")
    path = _API_PATH.sub("", parts.path.rstrip("/") + "/") if parts.path not in ("", "/") else ""
    return f"{parts.scheme}://{parts.netloc}{path.rstrip('/')}"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ApiKey:
    value: str = field(repr=False)
    source: str                      # where it came from, in words (never the key)

    def __str__(self) -> str:
        return f"the API key from {self.source}"

    def redact(self, text: str) -> str:
        return text.replace(self.value, REDACTED) if self.value else text


def api_key(*, env: str | None = None, block: str | None = None) -> ApiKey:
    """The key from a Prefect Secret block when one is named, else from $env ($ALMA_API_KEY)."""
    if block:
        return _from_block(block)
    name = env or API_KEY_ENV
    if not _ENV_NAME.fullmatch(name):
        raise InputError(f"{name!r} is not an environment variable name")
    value = os.environ.get(name, "")
    if not value.strip():
        raise InputError(f"no Alma API key: set ${name} to a key with read-only Analytics permission for this "
                         "institution (README, \"Fetching reports from Alma Analytics\"), or name a Prefect "
                         "Secret block that holds it")
    return _checked(value, f"${name}")


def _from_block(name: str) -> ApiKey:
    try:
        from prefect.blocks.system import Secret
    except ImportError as exc:  # pragma: no cover - Prefect is a dependency
        raise InputError(f"cannot read the Prefect Secret block {name!r}: {exc}") from None
    try:
        value = Secret.load(name).get()
    except ValueError as exc:
        raise InputError(f"no Prefect Secret block named {name!r} ({exc}): create it in the Prefect UI "
                         "(Blocks > Secret) or with Secret(value=...).save(name)") from None
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"the Prefect Secret block {name!r} does not hold an API key (text)")
    return _checked(value, f"the Prefect Secret block {name!r}")


def _checked(value: str, source: str) -> ApiKey:
    value = value.strip()
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        raise InputError(f"the API key in {source} holds spaces or control characters: copy it again from "
                         "the Developer Network (Build > My APIs > Manage API keys)")
    return ApiKey(value, source)
