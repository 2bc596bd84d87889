"""Countries as people type them: "Vietnam", "vietnam", "VNM" or "VN" become the ISO 3166 alpha-3 code the API
wants, from CLDR's data in Babel (names in Spanish and English). The API still decides whether a code exists."""

from __future__ import annotations

import re
import unicodedata
from functools import cache


def _plain(text: str) -> str:
    """Case, accents and punctuation do not count: "Perú" and "peru" are the same typed name."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    letters = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]+", " ", letters).strip()


# Withdrawn codes CLDR still maps to a living country: a name resolves to the current code, never to these.
_WITHDRAWN = frozenset({"BUR", "DDR", "FXX", "TMP", "YMD", "ZAR"})


@cache
def _alpha2_by_alpha3() -> dict[str, str]:
    from babel.core import get_global

    return {alias: targets[0] for alias, targets in get_global("territory_aliases").items()
            if re.fullmatch(r"[A-Z]{3}", alias) and len(targets) == 1 and re.fullmatch(r"[A-Z]{2}", targets[0])}


@cache
def _alpha3_by_alpha2() -> dict[str, str]:
    return {alpha2: alpha3 for alpha3, alpha2 in sorted(_alpha2_by_alpha3().items()) if alpha3 not in _WITHDRAWN}


@cache
def _by_name() -> dict[str, str]:
    from babel import Locale

    table: dict[str, str] = {}
    alpha3 = _alpha3_by_alpha2()
    for lang in ("es", "en"):
        for alpha2, name in Locale.parse(lang).territories.items():
            if alpha2 in alpha3:
                table.setdefault(_plain(name), alpha3[alpha2])
    return table


def resolve_country(typed: str) -> str:
    """The alpha-3 code for what was typed; anything unrecognised is passed on upper-cased for the API to judge."""
    cleaned = typed.strip()
    if re.fullmatch(r"[A-Za-z]{3}", cleaned):
        return cleaned.upper()
    if re.fullmatch(r"[A-Za-z]{2}", cleaned) and cleaned.upper() in _alpha3_by_alpha2():
        return _alpha3_by_alpha2()[cleaned.upper()]
    return _by_name().get(_plain(cleaned), cleaned.upper())


def country_label(alpha3: str | None, lang: str) -> str:
    """The country's name in the person's language (the code itself when unknown)."""
    from babel import Locale

    if not alpha3:
        return ""
    alpha2 = _alpha2_by_alpha3().get(alpha3)
    return str(Locale.parse(lang).territories.get(alpha2, alpha3)) if alpha2 else alpha3
