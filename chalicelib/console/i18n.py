"""Every text of the console, in Spanish (default) and English, from one gettext catalogue per language
(chalicelib/console/locale/<lang>/LC_MESSAGES/console.po, msgid = the key), read with Babel."""

from __future__ import annotations

import gettext
import io
import string
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

LANGUAGES = ("es", "en")
DEFAULT_LANGUAGE = "es"
LOCALE_DIR = Path(__file__).with_name("locale")
PERU = ZoneInfo("America/Lima")


@cache
def catalogue(lang: str) -> tuple[dict[str, str], gettext.GNUTranslations]:
    """The language's plain messages, and the whole catalogue compiled in memory for plurals."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with (LOCALE_DIR / lang / "LC_MESSAGES" / "console.po").open("rb") as handle:
        catalog = read_po(handle, locale=lang, domain="console")
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    plain = {str(m.id): str(m.string) for m in catalog if m.id and m.string and not m.pluralizable}
    return plain, gettext.GNUTranslations(compiled)


class _Values(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def language(code: str | None) -> str:
    return code if code in LANGUAGES else DEFAULT_LANGUAGE


def translator(lang: str) -> Callable[..., str]:
    """t(key, **values): the text in the language (the key itself when missing, so a gap shows in tests)."""
    plain, _ = catalogue(language(lang))

    def t(key: str, **values: Any) -> str:
        return plain.get(key, key).format_map(_Values({k: str(v) for k, v in values.items()}))

    return t


def plural_translator(lang: str) -> Callable[..., str]:
    """tn(key, count, **values): gettext's ngettext with the catalogue's Plural-Forms (msgid_plural key.plural)."""
    _, compiled = catalogue(language(lang))

    def tn(key: str, count: int, **values: Any) -> str:
        return compiled.ngettext(key, f"{key}.plural", count).format_map(
            _Values({k: str(v) for k, v in {"count": count, **values}.items()}))

    return tn


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def peru(moment: datetime | str | None, with_time: bool = True) -> str:
    """An instant as Peru's local date (and time): 20/11/2026 10:00."""
    if moment is None or moment == "":
        return "—"
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    local = value.astimezone(PERU)
    return local.strftime("%d/%m/%Y %H:%M" if with_time else "%d/%m/%Y")


def day(value: date | str | None) -> str:
    if value is None or value == "":
        return "—"
    parsed = date.fromisoformat(value) if isinstance(value, str) else value
    return parsed.strftime("%d/%m/%Y")


def age(moment: datetime | str | None, now: datetime, lang: str) -> str:
    """How long ago, in words an operator reads at a glance: "3 h", "2 días" / "2 days"."""
    if moment is None or moment == "":
        return "—"
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    minutes = max(0, int((now - value).total_seconds() // 60))
    tn = plural_translator(lang)
    if minutes < 60:
        return tn("age.minutes", minutes)
    if minutes < 48 * 60:
        return tn("age.hours", minutes // 60)
    return tn("age.days", minutes // (24 * 60))
