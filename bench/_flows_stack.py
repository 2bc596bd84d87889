"""Runs one tree's local stack for bench/flows.py: `python bench/_flows_stack.py TREE` starts what `make run` starts
(minus the bot and its chat page) from TREE's own code, prints READY, and stops everything on SIGTERM.

The benchmark runs this for the tree under test and for the baseline tree, so both sides are started the way their
own `make run` starts them. Ports, DATA_DIR and the chat server's address come from the environment.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path


def main() -> int:
    tree = Path(sys.argv[1]).resolve()
    sys.path.insert(0, str(tree))
    os.chdir(tree)
    from chalicelib import logs
    from infrastructure.local.run import LocalStack

    logs.configure()
    stack = LocalStack(port=int(os.environ["PORT"]), ddb_port=int(os.environ["DYNAMODB_PORT"]),
                       pay_port=int(os.environ["PAYMENT_SIMULATOR_PORT"]), data_dir=None,
                       pki_port=int(os.environ["PKI_SERVICES_PORT"]), smtp_port=int(os.environ["SMTP_PORT"]),
                       mail_web_port=int(os.environ["MAIL_WEB_PORT"]),
                       in_memory=os.environ.get("BENCH_IN_MEMORY") == "1")
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    try:
        stack.start()
        print("READY", flush=True)
        while not stopping.wait(0.5):
            pass
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
