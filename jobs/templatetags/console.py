"""Template filters of the console: one pluralisation and number format, times with seconds."""
from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone

from etl.text import plural as plural_text
from etl.text import plural_word

register = template.Library()


@register.filter
def plural(count, word: str) -> str:
    """``{{ n|plural:"table" }}`` → "1 table", "1,234 tables"; ``"entry,entries"`` gives the plural form."""
    one, _, many = word.partition(",")
    try:
        return plural_text(count if isinstance(count, float) else int(count), one, many or None)
    except (TypeError, ValueError):
        return f"{count} {one}"


@register.filter
def word_for(count, word: str) -> str:
    """Only the word: ``{{ n|word_for:"row" }}``."""
    one, _, many = word.partition(",")
    try:
        return plural_word(float(count), one, many or None)
    except (TypeError, ValueError):
        return one


@register.filter
def number(value, digits: int = 0) -> str:
    """1234567 → "1,234,567"; with digits, "1,234.5"; None → "–"."""
    if value is None or value == "":
        return "–"
    try:
        return f"{float(value):,.{int(digits)}f}" if digits else f"{round(float(value)):,}"
    except (TypeError, ValueError):
        return str(value)


@register.filter
def when(value: datetime | None) -> str:
    """A time with seconds in the site's time zone: "2026-12-03 19:18:00 UTC"."""
    return format_when(value)


def format_when(value: datetime | None) -> str:
    if value is None:
        return "–"
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return local.strftime("%Y-%m-%d %H:%M:%S ") + (local.tzname() or "")


@register.filter
def readable(value) -> str:
    """A stored value in words, never a JSON or Python repr: lists comma-joined, options as "name: value",
    booleans yes/no, times with seconds, nothing as "–"."""
    if value is None or value == "" or value == [] or value == {}:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return format_when(value)
    if isinstance(value, int | float):  # stored numbers are mostly ids (games): no thousands separators
        return str(value) if isinstance(value, int) else f"{value:g}"
    if isinstance(value, list | tuple):
        return ", ".join(readable(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{str(k).replace('_', ' ')}: {readable(v)}" for k, v in value.items())
    return str(value)
