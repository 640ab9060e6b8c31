"""Keep secrets out of everything hockeyops writes: logs, error summaries, step details, API answers, CLI output.

Redaction is by value: every password, user-info part, key or token that the environment or the settings hold
is replaced wherever it appears, whatever the shape of the URL around it (raw ``%``, spaces, ``@`` or ``:`` in a
password, percent-encoded or not, libpq keyword strings). Connection strings are parsed with psycopg's conninfo
tools where they parse, and by splitting the user-info off the URL by hand where they do not.
"""
from __future__ import annotations

import os
import re
from urllib.parse import quote, unquote

import psycopg
from django.conf import settings

MASK = "***"
MIN_LENGTH = 4  # shorter values are masked only inside URL user-info (masking "pw" in every word would garble text)
_SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|_KEY$|^KEY$|_KEY_)", re.IGNORECASE)
_URL_NAME = re.compile(r"(_URL$|^DATABASE_URL$|_DSN$)", re.IGNORECASE)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_KEYWORD_PASSWORD = re.compile(r"password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def _variants(value: str) -> set[str]:
    """A secret as it may appear: raw, percent-decoded, percent-encoded."""
    out = {value}
    try:
        out.add(unquote(value))
    except Exception:  # noqa: BLE001 - a value that does not decode is kept raw
        pass
    out.add(quote(value, safe=""))
    return {v for v in out if v}


def url_secrets(url: str) -> set[str]:
    """The password (and the whole user-info) of a connection string, in every shape it may be written."""
    found: set[str] = set()
    text = (url or "").strip()
    if not text:
        return found
    if _SCHEME.match(text):
        rest = text.split("://", 1)[1]
        userinfo = rest.rpartition("@")[0] if "@" in rest else ""
        if userinfo:
            _, _, password = userinfo.partition(":")
            if password:
                found |= _variants(password)
            found |= _variants(userinfo) if password else set()
    for match in _KEYWORD_PASSWORD.finditer(text):
        found |= _variants(match.group(1).strip("'"))
    try:
        password = psycopg.conninfo.conninfo_to_dict(text).get("password")
    except (psycopg.Error, ValueError, TypeError):
        password = None
    if password:
        found |= _variants(str(password))
    return found


def environment_secrets(environ: dict[str, str] | None = None) -> set[str]:
    """Every secret value the environment holds: URL passwords, keys, tokens, the Django secret key."""
    environ = os.environ if environ is None else environ
    found: set[str] = set()
    for name, value in environ.items():
        if not value:
            continue
        if _URL_NAME.search(name) or _SCHEME.match(value.strip()):
            found |= url_secrets(value)
        elif _SECRET_NAME.search(name):
            found |= _variants(value)
    return found


def settings_secrets() -> set[str]:
    """Secrets held by the settings (database passwords, the secret key), when Django is configured."""
    try:
        values = {settings.SECRET_KEY, *(db.get("PASSWORD") or "" for db in settings.DATABASES.values())}
        values |= url_secrets(getattr(settings, "CELERY_BROKER_URL", "") or "")
    except Exception:  # noqa: BLE001 - outside Django there is nothing more to collect
        return set()
    return {v for value in values if value for v in _variants(str(value))}


def redact(text: str, extra: tuple[str, ...] = ()) -> str:
    """``text`` with every known secret (and the URLs or values in ``extra``) replaced by ``***``."""
    if not text:
        return text
    secrets = environment_secrets() | settings_secrets()
    for value in extra:
        if value:
            text = text.replace(value, "<target url>")
            secrets |= url_secrets(value)
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= MIN_LENGTH:
            text = text.replace(secret, MASK)
        else:
            text = text.replace(f":{secret}@", f":{MASK}@")
    return text


def without_secrets(message: str, url: str) -> str:
    """``message`` with the URL and every secret taken out (they must never reach a page)."""
    return redact(message.strip() or "unknown error", (url,) if url else ())
