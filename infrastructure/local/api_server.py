"""The local API server: the same app.py, behind Chalice's own local gateway (what `chalice local` runs), made fit for
many clients at once.

`chalice local` is a development server: it listens with a backlog of 5 (at 50 clients connections are reset before
the app sees them) and answers HEAD with a body (which garbles the next answer on a kept-alive connection). Here the
backlog is large, HEAD has no body, and with --reuse-port several processes share the port (the kernel spreads the
connections among them, so the API is not held to one core by the interpreter's lock).

    python -m infrastructure.local.api_server --port 8000 [--reuse-port]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import sys
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _server_class(reuse_port: bool) -> type[ThreadingHTTPServer]:
    class Server(ThreadingHTTPServer):
        daemon_threads = True
        allow_reuse_address = True
        request_queue_size = 1024

        def server_bind(self) -> None:
            if reuse_port:
                self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            super().server_bind()

    return Server


def build_server(host: str, port: int, stage: str = "local", reuse_port: bool = False) -> Any:
    from chalice.cli.factory import CLIFactory
    from chalice.local import ChaliceRequestHandler, LocalChalice, LocalDevServer

    class Handler(ChaliceRequestHandler):
        def _send_http_response_with_body(self, code: int, headers: Any, body: str | bytes) -> None:
            if self.command != "HEAD":
                super()._send_http_response_with_body(code, headers, body)
                return
            self.send_response(code)
            self.send_header("Content-Length", str(len(body.encode() if isinstance(body, str) else body)))
            self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
            self._send_headers(headers)

    config = CLIFactory(project_dir=str(ROOT), environ=dict(os.environ)).create_config_obj(chalice_stage_name=stage)
    app = config.chalice_app
    # As `chalice local` does: the local app keeps the request being handled per thread.
    app.__class__ = type("LocalApp", (LocalChalice, app.__class__), {})
    return LocalDevServer(app, config, host, port, handler_cls=Handler, server_cls=_server_class(reuse_port))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--stage", default="local")
    parser.add_argument("--reuse-port", action="store_true")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from chalicelib import logs

    logs.configure()
    server = build_server(args.host, args.port, args.stage, args.reuse_port)
    from chalicelib.bootstrap import container

    container().warm()  # as Lambda's init phase does: the first request costs what the next ones do
    with contextlib.suppress(KeyboardInterrupt):
        server.server.serve_forever(poll_interval=0.2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
