"""A local Telegram Bot API server and browser chat page, so the bot runs with no Telegram account."""

from .server import LOCAL_BOT_TOKEN, BotApiState, LocalBotApi

__all__ = ["LOCAL_BOT_TOKEN", "BotApiState", "LocalBotApi"]
