"""The Telegram bot: a client of the HTTP API that guides citizens; it keeps only its own chat state."""
