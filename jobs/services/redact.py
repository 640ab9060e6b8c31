"""Keep secrets out of messages that reach a page, an API answer or a log."""
from __future__ import annotations

import psycopg


def without_secrets(message: str, url: str) -> str:
    """``message`` with the URL and its password taken out (they must never reach a page)."""
    text = message.strip() or "unknown error"
    if url:
        text = text.replace(url, "<target url>")
        try:
            password = psycopg.conninfo.conninfo_to_dict(url).get("password")
        except psycopg.Error:
            password = None
        if password:
            text = text.replace(str(password), "***")
    return text
