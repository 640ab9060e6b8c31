"""Numbers in sentences: one pluralisation and number format for logs, pages and messages."""
from __future__ import annotations

IRREGULAR = {"entry": "entries", "query": "queries", "status": "statuses", "index": "indexes"}


def plural_word(count: float, word: str, many: str | None = None) -> str:
    """``word`` for exactly one, else its plural (``many``, a known irregular form, or word + s)."""
    if count == 1:
        return word
    return many or IRREGULAR.get(word) or word + "s"


def plural(count: float, word: str, many: str | None = None) -> str:
    """"1 row", "1,234 rows", "0 tables": the count with thousands separators and the right form of ``word``."""
    number = f"{count:,}" if isinstance(count, int) else f"{count:,.1f}"
    return f"{number} {plural_word(count, word, many)}"
