"""The OpenAPI document (generated from the routes and models), its human page, and the fuzzer driven by it
against the API served over real HTTP (infrastructure/local/api_server.py on DynamoDB Local): no 5xx, and every
documented answer matching its schema (the error shape of every error included)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from chalicelib.settings import DEV_CHANNEL_KEY
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
FUZZ_SECONDS = int(os.environ.get("FUZZ_SECONDS", "30"))  # the base of each kind of caller's budget (SHARE)
# Each kind's budget, by its share of the routes (the operators' are most of them; the partners' and the public
# routes a handful): the same examples per route for less of the suite's time.
SHARE = {"public": 0.6, "channel": 1.0, "operator": 1.2, "partner": 0.5}


def test_the_document_is_valid_openapi_and_has_every_route(api):
    from openapi_spec_validator import validate

    import app

    answer = api.client.http.get("/openapi.json")
    assert answer.status_code == 200 and answer.headers["Access-Control-Allow-Origin"] == "*"
    document = json.loads(answer.body)
    validate(document)
    assert document["openapi"] == "3.1.0"
    routes = {(m.lower(), p) for p, methods in app.app.routes.items() for m in methods}
    assert {(m, p) for p, ops in document["paths"].items() for m in ops} == routes
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert {"404", "500"} <= set(operation["responses"]), (method, path)
    error = document["components"]["responses"]["E422"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/ErrorResponse"}
    create = document["paths"]["/v1/certificate-requests"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("CertificateRequestCreate")
    assert any(p["name"] == "Idempotency-Key" for p in create["parameters"])
    assert create["security"] == [{"channelKey": []}]
    partner = document["paths"]["/v1/partner/certificate-requests"]["post"]
    assert partner["security"] == [{"partnerClientCredentials": ["certificates/request"]}]
    assert partner["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("PartnerRequestCreate")
    assert [p["required"] for p in partner["parameters"] if p["name"] == "Idempotency-Key"] == [True]
    flows = document["components"]["securitySchemes"]["partnerClientCredentials"]["flows"]
    assert flows["clientCredentials"]["tokenUrl"] == "/oauth2/token"


def test_the_human_page_lists_every_route_from_the_document(api):
    page = api.client.http.get("/docs")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    document = json.loads(api.client.http.get("/openapi.json").body)
    text = page.body.decode()
    for path, operations in document["paths"].items():
        for method in operations:
            assert f"{method.upper()} {path}".replace("&", "&amp;") in text


def test_error_bodies_are_the_documented_model(api):
    from chalicelib.api.models import ErrorResponse

    for answer in (api.client.http.request("DELETE", "/health", headers={}),
                   api.post("/v1/certificate-requests", {"applicant": {}, "surprise": 1}),
                   api.post("/v1/verify", {"qr_text": 5}, headers={"Content-Type": "application/json"})):
        assert answer.status_code >= 400
        ErrorResponse.model_validate(answer.json_body)
    unknown = api.post("/v1/certificate-requests", {"applicant": {}, "surprise": 1}).json_body["error"]
    assert (unknown["code"], unknown["field"]) == ("unknown_field", "surprise")


# --- over real HTTP ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def served(dynamodb_endpoint, tmp_path_factory):  # type: ignore[no-untyped-def]
    """The API on a free port, on tables of its own (the fuzzer writes: other tests' tables stay as they were)."""
    from chalicelib import bootstrap
    from chalicelib.adapters.dynamo_models import configure, create_tables
    from chalicelib.settings import Settings
    from infrastructure.local.run import wait_http
    from infrastructure.local.seed import seed

    prefix = f"f{uuid.uuid4().hex[:8]}-"
    data_dir = tmp_path_factory.mktemp("served")
    settings = Settings(dynamodb_endpoint=dynamodb_endpoint, table_prefix=prefix, data_dir=data_dir)
    create_tables(settings)
    seed(bootstrap.build(settings))
    port = free_port()
    env = {**os.environ, "DYNAMODB_ENDPOINT": dynamodb_endpoint, "TABLE_PREFIX": prefix, "DATA_DIR": str(data_dir),
           "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", "PYTHONPATH": str(ROOT),
           # Migraciones with a quota the fuzzer does not use up (the quota has its own tests).
           "PARTNERS": json.dumps({name: {**conf, "per_minute": 10**6, "per_day": 10**7}
                                   for name, conf in settings.partners.items()})}
    log = (data_dir / "api.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "infrastructure.local.api_server", "--port", str(port)],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        assert wait_http(f"http://127.0.0.1:{port}/health", 60), (data_dir / "api.log").read_text()[-3000:]
        yield f"http://127.0.0.1:{port}", settings, data_dir
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        configure(settings)


def _call(url: str, method: str = "GET", headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_an_unknown_path_answers_404_in_the_one_shape(served):
    base, *_ = served
    status, headers, body = _call(base + "/no/such/route")
    assert status == 404
    error = json.loads(body)["error"]
    assert error["code"] == "route_not_found" and error["request_id"] == headers["X-Request-Id"]


def test_head_answers_without_a_body_and_the_connection_stays_whole(served):
    """The routes are GET-only (as in the gateway): HEAD is a 405 in the one shape's headers, and no body."""
    import http.client

    base, *_ = served
    connection = http.client.HTTPConnection(base.removeprefix("http://"), timeout=30)
    try:
        connection.request("HEAD", "/.well-known/jwks.json")
        head = connection.getresponse()
        assert head.status == 405 and head.read() == b""
        assert head.getheader("X-Request-Id") and int(head.getheader("Content-Length") or 0) > 0
        connection.request("GET", "/.well-known/jwks.json")  # the same connection: the next answer is whole
        assert json.loads(connection.getresponse().read())["keys"]
    finally:
        connection.close()


def _fuzz(base: str, data_dir: Path, name: str, *options: str) -> None:
    command = [str(Path(sys.executable).parent / "schemathesis"), "--no-color", "run", f"{base}/openapi.json",
               "--url", base,
               "--checks", "not_a_server_error,response_schema_conformance",
               "--max-time", str(max(10, round(FUZZ_SECONDS * SHARE[name]))),
               "--workers", "2", "--request-timeout", "30", "--suppress-health-check", "all",
               "--seed", "14", "--generation-database", "none", *options]
    done = subprocess.run(command, cwd=data_dir, capture_output=True, text=True, timeout=FUZZ_SECONDS * 6 + 120)
    (data_dir / f"fuzz-{name}.log").write_text(done.stdout + done.stderr)
    assert done.returncode == 0, (done.stdout + done.stderr)[-6000:]
    generated = re.search(r"(\d+) generated", done.stdout)
    assert generated is not None and int(generated.group(1)) >= 50, done.stdout[-3000:]  # it did send cases


def test_the_fuzzer_finds_no_5xx_and_no_answer_off_its_schema(served):
    """Four runs, one per kind of caller, each with its own time budget: the public routes (no credential), the
    channel routes (the bot's key), the operators' routes (a token with every role, national scope) and the
    partners' (Migraciones' token with every scope)."""
    from chalicelib.adapters.auth import LocalTokenVerifier, PartnerTokens, partners_from_settings

    base, settings, data_dir = served
    token = LocalTokenVerifier(settings.jwt_secret, settings.jwt_issuer, settings.jwt_audience).issue(
        "fuzzer", ["reviewer", "admin", "auditor", "court", "cvp_head", "officer"], districts=["*"], courts=["*"])
    _fuzz(base, data_dir, "public", "--exclude-path-regex", "^/v1/(certificate-requests|control|admin|court|cvp|"
                                                            "officer|indicators)")
    _fuzz(base, data_dir, "channel", "--include-path-regex", "^/v1/(certificate-requests|control)",
          "-H", f"Authorization: Bearer {DEV_CHANNEL_KEY}", "-H", "X-Channel-User: telegram:fuzzer")
    _fuzz(base, data_dir, "operator", "--include-path-regex", "^/v1/(admin|court|cvp|officer|indicators)",
          "-H", f"Authorization: Bearer {token}")
    partners = PartnerTokens(partners_from_settings(settings.partners), settings.jwt_secret, settings.jwt_issuer,
                             settings.partner_token_audience)
    partner = partners.issue(partners.partners["migraciones"])
    _fuzz(base, data_dir, "partner", "--include-path-regex", "^/v1/partner/", "-H", f"Authorization: Bearer {partner}")


def test_the_local_api_server_stops_on_sigint_even_when_started_with_it_ignored(dynamodb_endpoint, tmp_path):  # type: ignore[no-untyped-def]
    """A shell's background job starts with SIGINT ignored, and its children inherit that: the server still stops on
    SIGINT (or SIGTERM) rather than running on until it is killed."""
    from infrastructure.local.run import wait_http

    port = free_port()
    env = {**os.environ, "DYNAMODB_ENDPOINT": dynamodb_endpoint, "TABLE_PREFIX": f"s{uuid.uuid4().hex[:8]}-",
           "DATA_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    for stop in (signal.SIGINT, signal.SIGTERM):
        process = subprocess.Popen([sys.executable, "-m", "infrastructure.local.api_server", "--port", str(port)],
                                   cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
        try:
            assert wait_http(f"http://127.0.0.1:{port}/openapi.json", 60)  # answers without tables
            process.send_signal(stop)
            assert process.wait(timeout=20) == 0, stop
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
