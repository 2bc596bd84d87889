"""Every text a citizen reads, in Spanish (default) and English: `text(key, lang, **values)`.

The texts live in gettext catalogues, bot/locale/<lang>/LC_MESSAGES/bot.po (msgid = the key), read with
Babel; translators edit those files. Chat texts are Telegram HTML (only <b>, <i>, <code>); values are
escaped when they are filled in.
The push notices (`push.*`) live in push_texts.json, plain text, so that the API's notifier can read the
same file without importing this package; they are merged in here so the bot has one catalogue.
This module imports nothing from telegram.
"""

from __future__ import annotations

import gettext
import html
import io
import json
import string
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

LANGUAGES = ("es", "en")
DEFAULT_LANGUAGE = "es"
PUSH_TEXTS_FILE = Path(__file__).with_name("push_texts.json")
# Peru has kept UTC-5 with no daylight saving since 1994; a fixed offset needs no tz database in Lambda.
LIMA = timezone(timedelta(hours=-5), "PET")

# Countries offered as buttons to foreigners (ISO 3166 alpha-3 as the API wants it, alpha-2 for the name).
COUNTRY_BUTTONS = (("VEN", "VE"), ("COL", "CO"), ("ECU", "EC"), ("BOL", "BO"), ("CHL", "CL"), ("ARG", "AR"),
                   ("BRA", "BR"), ("CHN", "CN"), ("USA", "US"), ("ESP", "ES"))

LOCALE_DIR = Path(__file__).with_name("locale")


def _read_catalogue(lang: str) -> tuple[dict[str, str], gettext.GNUTranslations]:
    """The gettext catalogue bot/locale/<lang>/LC_MESSAGES/bot.po, read with Babel: its plain messages as a
    dict, and the whole catalogue compiled in memory (Babel's write_mo) for gettext's ngettext and the
    language's Plural-Forms."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with (LOCALE_DIR / lang / "LC_MESSAGES" / "bot.po").open("rb") as handle:
        catalog = read_po(handle, locale=lang, domain="bot")
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    plain = {str(message.id): str(message.string) for message in catalog
             if message.id and message.string and not message.pluralizable}
    return plain, gettext.GNUTranslations(compiled)


(_ES, _ES_MO), (_EN, _EN_MO) = _read_catalogue("es"), _read_catalogue("en")
PLURALS: dict[str, gettext.GNUTranslations] = {"es": _ES_MO, "en": _EN_MO}


def _load_push_texts() -> dict[str, dict[str, str]]:
    return dict(json.loads(PUSH_TEXTS_FILE.read_text(encoding="utf-8")))


CATALOGUE: dict[str, dict[str, str]] = {"es": dict(_ES), "en": dict(_EN)}
for _key, _versions in _load_push_texts().items():
    for _lang in LANGUAGES:
        CATALOGUE[_lang][_key] = html.escape(_versions[_lang], quote=False)


def language_for(code: str | None) -> str:
    """The catalogue language for a Telegram language_code: English for en*, otherwise Spanish."""
    return "en" if (code or "").lower().startswith("en") else DEFAULT_LANGUAGE


def has(key: str, lang: str = DEFAULT_LANGUAGE) -> bool:
    return key in CATALOGUE.get(lang, CATALOGUE[DEFAULT_LANGUAGE])


def text(key: str, lang: str = DEFAULT_LANGUAGE, /, **values: Any) -> str:
    """The text for `key` in `lang` (Spanish when unknown), with HTML-escaped values filled in."""
    catalogue = CATALOGUE.get(lang, CATALOGUE[DEFAULT_LANGUAGE])
    return catalogue[key].format_map(_Values({name: html.escape(str(value), quote=False)
                                              for name, value in values.items()}))


def ntext(key: str, count: int, lang: str = DEFAULT_LANGUAGE, /, **values: Any) -> str:
    """A text whose wording depends on a number (gettext's ngettext and the catalogue's Plural-Forms); the
    number fills {count}. The catalogue entry has msgid `key` and msgid_plural `key.plural`."""
    translations = PLURALS.get(lang, PLURALS[DEFAULT_LANGUAGE])
    template = translations.ngettext(key, f"{key}.plural", count)
    filled = {name: html.escape(str(value), quote=False) for name, value in {"count": count, **values}.items()}
    return template.format_map(_Values(filled))


class _Values(dict[str, str]):
    """A placeholder nobody filled in reads as empty rather than failing in front of the person."""

    def __missing__(self, key: str) -> str:
        return ""


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def money(amount: str | Decimal, currency: str = "PEN") -> str:
    """Soles as Peruvians write them ("S/ 37.70"); other currencies with their code."""
    try:
        value = f"{Decimal(str(amount)):.2f}"
    except InvalidOperation:
        value = str(amount)
    return f"S/ {value}" if currency == "PEN" else f"{currency} {value}"


def lima_datetime(value: str | datetime, lang: str) -> str:
    """An instant as a date and time in Lima, e.g. "21 nov 2026, 10:00"."""
    from babel.dates import format_datetime

    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return format_datetime(moment.astimezone(LIMA).replace(tzinfo=None), "d MMM y, HH:mm", locale=lang)


def country_name(alpha2: str, lang: str) -> str:
    from babel import Locale

    return str(Locale.parse(lang).territories.get(alpha2, alpha2))
