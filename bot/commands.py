"""The bot's command menu in both languages: set when polling starts and on deploy (`make set-webhook`).

No telegram import: the deploy tool sends it with a plain setMyCommands call.
"""

from __future__ import annotations

from .texts import text

COMMANDS = {
    "es": (("start", "command.start"), ("estado", "command.status"), ("control", "command.control"),
           ("registrar", "command.checkin"), ("ayuda", "command.help"), ("cancelar", "command.cancel")),
    "en": (("start", "command.start"), ("status", "command.status"), ("control", "command.control"),
           ("checkin", "command.checkin"), ("help", "command.help"), ("cancel", "command.cancel")),
}


def menus() -> list[tuple[str | None, list[dict[str, str]]]]:
    """(language_code, commands) for each setMyCommands call: Spanish is the default for every client, English
    for clients set to English."""
    return [(None if lang == "es" else lang,
             [{"command": name, "description": text(key, lang)} for name, key in commands])
            for lang, commands in COMMANDS.items()]
