"""The local API server: the same app.py behind Chalice's own local gateway (what `chalice local` runs), with what
API Gateway's gateway responses do in the cloud, and fit for many clients at once.

- An unknown path answers 404 in the one error shape (with its X-Request-Id); any method, TRACE included, goes
  through the route table (a 405 in the one shape, never the standard library's HTML 501).
- HEAD answers without a body (`chalice local` sends one, which garbles the next answer on a kept-alive
  connection).
- The listening backlog is large (`chalice local` keeps 5: at 50 clients connections were reset before the app saw
  them), and with --reuse-port several processes share the port (the kernel spreads the connections among them, so
  the API is not held to one core by the interpreter's lock).

    python -m infrastructure.local.api_server --port 8000 [--reuse-port]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import socket
import sys
import uuid
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


def _handler_class() -> type:
    from chalice.local import ChaliceRequestHandler, LocalGateway, LocalGatewayException

    class RouteNotFound(LocalGatewayException):
        """No route has this path: API Gateway's MISSING_AUTHENTICATION_TOKEN, mapped to 404 by the stack's gateway
        responses (infrastructure/cdk/stack.py)."""

        CODE = 404

        def __init__(self) -> None:
            rid = str(uuid.uuid4())
            body = {"error": {"code": "route_not_found", "message": "No route has this path; see /openapi.json.",
                              "request_id": rid}}
            super().__init__({"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store",
                              "X-Request-Id": rid}, json.dumps(body).encode())

    class Gateway(LocalGateway):
        def _generate_lambda_event(self, method: str, path: str, headers: Any, body: bytes | None) -> Any:
            try:
                return self.event_converter.create_lambda_event(method=method, path=path, headers=headers,
                                                                body=body)
            except ValueError:
                raise RouteNotFound() from None

    class Handler(ChaliceRequestHandler):
        def __init__(self, request: Any, client_address: Any, server: Any, app_object: Any, config: Any) -> None:
            self.local_gateway = Gateway(app_object, config)
            super(ChaliceRequestHandler, self).__init__(request, client_address, server)

        def _send_http_response_with_body(self, code: int, headers: Any, body: str | bytes) -> None:
            if self.command != "HEAD":
                super()._send_http_response_with_body(code, headers, body)
                return
            data = body if isinstance(body, bytes) else body.encode("utf-8")
            self.send_response(code)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
            self._send_headers(headers)

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = ChaliceRequestHandler._generic_handle

        def __getattr__(self, name: str) -> Any:
            if name.startswith("do_") and name[3:].isalpha():
                return self._generic_handle
            raise AttributeError(name)

    return Handler


def build_server(host: str, port: int, stage: str = "local", reuse_port: bool = False) -> Any:
    from chalice.cli.factory import CLIFactory
    from chalice.local import LocalChalice, LocalDevServer

    config = CLIFactory(project_dir=str(ROOT), environ=dict(os.environ)).create_config_obj(chalice_stage_name=stage)
    app = config.chalice_app
    # As `chalice local` does: the local app keeps the request being handled per thread.
    app.__class__ = type("LocalApp", (LocalChalice, app.__class__), {})
    return LocalDevServer(app, config, host, port, handler_cls=_handler_class(), server_cls=_server_class(reuse_port))


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
    # Stopped by SIGINT or SIGTERM, whatever this process inherited: a shell's background job starts with SIGINT
    # ignored, and then a stop by SIGINT went unheard (a clean-clone run waited its 30 s on it).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with contextlib.suppress(KeyboardInterrupt):
        server.server.serve_forever(poll_interval=0.2)
    # Every write this process makes is synchronous, so nothing is left to finish: exit now rather than through
    # the interpreter's shutdown, which would wait on whatever a request thread still holds.
    server.server.server_close()
    logging.shutdown()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
