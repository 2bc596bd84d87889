"""API Gateway's own answers come in the API's one error shape with the request id (issue 14)."""

from __future__ import annotations

import json
from typing import Any


def test_every_gateway_answer_is_in_the_one_error_shape_with_its_request_id(dev: Any) -> None:
    responses = {r["Properties"]["ResponseType"]: r["Properties"]
                 for r in dev.of_type("AWS::ApiGateway::GatewayResponse").values()}
    assert {"MISSING_AUTHENTICATION_TOKEN", "THROTTLED", "DEFAULT_4XX", "DEFAULT_5XX", "UNAUTHORIZED"} <= set(responses)
    for kind, props in responses.items():
        template = props["ResponseTemplates"]["application/json"]
        error = json.loads(template)["error"]
        assert error["request_id"] == "$context.requestId" and error["code"] and error["message"], kind
        assert props["ResponseParameters"]["gatewayresponse.header.X-Request-Id"] == "context.requestId"
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["StatusCode"] == "404"
    assert responses["THROTTLED"]["ResponseParameters"]["gatewayresponse.header.Retry-After"] == "'60'"
    assert "WWW-Authenticate" in str(responses["UNAUTHORIZED"]["ResponseParameters"])
