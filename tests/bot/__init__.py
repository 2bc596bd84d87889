"""Tests of the Telegram bot against the real local stack and the local Bot API server."""
