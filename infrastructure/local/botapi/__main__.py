"""`python -m infrastructure.local.botapi`: the local Bot API server and chat page on their own."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from .server import LOCAL_BOT_TOKEN, LocalBotApi


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Local Telegram Bot API server with a browser chat page")
    parser.add_argument("--port", type=int, default=int(os.environ.get("LOCAL_BOTAPI_PORT", "8081")))
    parser.add_argument("--token", default=LOCAL_BOT_TOKEN)
    args = parser.parse_args(argv)
    server = LocalBotApi(args.port, args.token).start()
    print(f"Local Bot API on {server.base_url} (bot token {args.token}); chat page: {server.chat_url}",
          flush=True)
    stopping = threading.Event()
    # Set explicitly: a shell that starts us in the background would otherwise leave SIGINT ignored.
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    while not stopping.wait(0.5):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
