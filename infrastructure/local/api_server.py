"""The API on 127.0.0.1 as `chalice local` serves it, with what API Gateway's gateway responses do in the cloud:
an unknown path answers 404 in the one error shape (with its X-Request-Id), HEAD answers without a body, and the
listening socket keeps a backlog of more than five connections.

    python -m infrastructure.local.api_server --port 8000
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

from chalice.local import (
    ChaliceRequestHandler,
    CustomLocalChalice,
    LocalChalice,
    LocalDevServer,
    LocalGateway,
    LocalGatewayException,
    ThreadedHTTPServer,
)

ROOT = Path(__file__).resolve().parents[2]


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
            return self.event_converter.create_lambda_event(method=method, path=path, headers=headers, body=body)
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
        # HEAD: the headers a GET would send, never the body (a body here garbles the next answer on the
        # connection).
        data = body if isinstance(body, bytes) else body.encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
        self._send_headers(headers)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = ChaliceRequestHandler._generic_handle

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, CONNECT, ...): the route table answers it (a 405 in the one shape), as the
        # gateway does, instead of the standard library's HTML 501.
        if name.startswith("do_") and name[3:].isalpha():
            return self._generic_handle
        raise AttributeError(name)


class Server(ThreadedHTTPServer):
    request_queue_size = 128


def create_server(host: str, port: int, stage: str = "local") -> LocalDevServer:
    from chalice.cli.factory import CLIFactory

    factory = CLIFactory(project_dir=str(ROOT))
    config = factory.create_config_obj(chalice_stage_name=stage)
    os.environ.update(config.environment_variables)
    app = factory.load_chalice_app(config.environment_variables)
    # As chalice.local.create_local_server: the current request becomes per thread.
    CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
    app.__class__ = CustomLocalChalice
    return LocalDevServer(app, config, host, port, handler_cls=Handler, server_cls=Server)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--stage", default="local")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    server = create_server(args.host, args.port, args.stage)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
