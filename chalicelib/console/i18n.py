"""Every text of the console, in Spanish (default) and English, from one gettext catalogue per language
(chalicelib/console/locale/<lang>/LC_MESSAGES/console.po, msgid = the key), read with Babel.

The domain's refusals (DomainError messages, import row errors) are English, and the API keeps them so; the
console shows them in its language through the same catalogue: msgctxt "domain", msgid = the English message.
A message built by an f-string is a template there (``{name}`` placeholders): the
console matches the message against it and fills the translation with the values it finds (msgctxt
"domain.template"; infrastructure/local/console_messages.py lists every message and template the source raises)."""

from __future__ import annotations

import gettext
import io
import re
import string
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

LANGUAGES = ("es", "en")
DEFAULT_LANGUAGE = "es"
LOCALE_DIR = Path(__file__).with_name("locale")
PERU = ZoneInfo("America/Lima")


DOMAIN = "domain"  # the msgctxt of the domain's messages
DOMAIN_TEMPLATE = "domain.template"  # and of those an f-string builds


@cache
def _read(lang: str) -> Any:
    from babel.messages.pofile import read_po

    with (LOCALE_DIR / lang / "LC_MESSAGES" / "console.po").open("rb") as handle:
        return read_po(handle, locale=lang, domain="console")


@cache
def catalogue(lang: str) -> tuple[dict[str, str], gettext.GNUTranslations]:
    """The language's plain messages, and the whole catalogue compiled in memory for plurals."""
    from babel.messages.mofile import write_mo

    catalog = _read(lang)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    plain = {str(m.id): str(m.string) for m in catalog
             if m.id and m.string and not m.pluralizable and not m.context}
    return plain, gettext.GNUTranslations(compiled)


@cache
def domain_catalogue(lang: str) -> dict[str, str]:
    """The domain's messages: {English message or template: its text in the language}."""
    return {str(m.id): str(m.string) for m in _read(language(lang))
            if m.id and m.string and m.context in (DOMAIN, DOMAIN_TEMPLATE)}


@cache
def domain_templates(lang: str) -> tuple[frozenset[str], tuple[tuple[re.Pattern[str], str], ...]]:
    """The exact messages, and each template compiled once to a regex (most literal text first, so the more
    specific template wins), with its translation."""
    exact, compiled = set(), []
    for m in _read(language(lang)):
        if not (m.id and m.string and m.context in (DOMAIN, DOMAIN_TEMPLATE)):
            continue
        if m.context == DOMAIN_TEMPLATE:
            literal = sum(len(text) for text, _, _, _ in string.Formatter().parse(str(m.id)))
            compiled.append((literal, template_pattern(str(m.id)), str(m.string)))
        else:
            exact.add(str(m.id))
    compiled.sort(key=lambda item: -item[0])
    return frozenset(exact), tuple((pattern, text) for _, pattern, text in compiled)


def template_pattern(template: str) -> re.Pattern[str]:
    """``The {kind} number must be {expected}.`` as a regex with a named group per placeholder."""
    parts, seen = [], set()
    for literal, name, _, _ in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if name:
            parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
            seen.add(name)
    return re.compile("".join(parts), re.DOTALL)


class Shown(NamedTuple):
    """A domain message as the console shows it, and the language it is in (for the page's lang mark)."""

    text: str
    lang: str


def domain_text(lang: str, message: str) -> Shown:
    """A domain message in the console's language: the exact entry, else the first template it matches (its
    values carried over: each translated too when the catalogue has it as an exact entry), else the English
    message itself. A text that already is one of the console's own (a form's note) is kept as it is."""
    lang = language(lang)
    message = str(message)
    texts = domain_catalogue(lang)
    exact, templates = domain_templates(lang)
    if message in exact:
        return Shown(texts[message], lang)
    for pattern, translated in templates:
        found = pattern.fullmatch(message)
        if found:
            values = {name: domain_text(lang, value).text if name == "message" else texts.get(value, value)
                      for name, value in found.groupdict().items()}
            return Shown(translated.format_map(_Values(values)), lang)
    if message in _own_texts(lang):
        return Shown(message, lang)
    return Shown(message, "en")


@cache
def _own_texts(lang: str) -> frozenset[str]:
    return frozenset(catalogue(lang)[0].values())


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
