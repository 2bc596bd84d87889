"""The bot's client of the HTTP API: channel authentication, JSON in and out, API errors as exceptions."""

from __future__ import annotations

from typing import Any

import httpx


class ApiUnavailable(Exception):
    """The API could not be reached or failed on its side (5xx): nothing the person can correct."""


class ApiError(Exception):
    """The API refused the call with its error JSON: {"error": {"code", "message", "field", "details"}}."""

    def __init__(self, status: int, code: str, field: str | None = None, details: dict[str, Any] | None = None,
                 message: str = "") -> None:
        super().__init__(f"API error {status} {code}")
        self.status = status
        self.code = code
        self.field = field
        self.details = details or {}
        self.message = message

    @property
    def errors(self) -> list[dict[str, Any]]:
        """Each wrong field as {"code", "field"}: the API lists them all in details.errors when several are."""
        listed = self.details.get("errors")
        if isinstance(listed, list) and listed:
            return [e for e in listed if isinstance(e, dict)]
        return [{"code": self.code, "field": self.field}]


class FeatureUnavailable(ApiError):
    """The route does not exist (yet) on this API: the feature degrades instead of failing."""


class ApiClient:
    def __init__(self, base_url: str, channel_key: str, *, timeout: float = 15.0,
                 transport: httpx.AsyncBaseTransport | None = None, api_key: str = "") -> None:
        # The API key names the channel's usage plan in the cloud (its throttle and quota); the key authenticates.
        headers = {"Accept": "application/json", **({"X-API-Key": api_key} if api_key else {})}
        self._client = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout, transport=transport,
                                         headers=headers)
        self._key = channel_key

    async def aclose(self) -> None:
        await self._client.aclose()

    def _headers(self, user: str | None, **extra: str) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self._key}", **extra}
        if user:
            headers["X-Channel-User"] = user
        return headers

    async def _call(self, method: str, path: str, *, user: str | None, json: Any = None,
                    content: bytes | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
        try:
            answer = await self._client.request(method, path, json=json, content=content,
                                                headers=self._headers(user, **(headers or {})))
        except httpx.HTTPError as error:
            raise ApiUnavailable(type(error).__name__) from None
        if answer.status_code >= 500:
            raise ApiUnavailable(f"HTTP {answer.status_code}")
        if answer.status_code >= 400:
            raise _error_from(answer)
        return answer

    async def _json(self, method: str, path: str, *, user: str | None, **kwargs: Any) -> dict[str, Any]:
        return dict((await self._call(method, path, user=user, **kwargs)).json())

    async def create_request(self, user: str, body: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        return await self._json("POST", "/v1/certificate-requests", user=user, json=body,
                                headers={"Idempotency-Key": idempotency_key})

    async def confirm_identity(self, user: str, request_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self._json("POST", f"/v1/certificate-requests/{request_id}/identity", user=user, json=body)

    async def submit_voucher(self, user: str, request_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self._json("POST", f"/v1/certificate-requests/{request_id}/voucher", user=user, json=body)

    async def get_request(self, user: str, request_id: str) -> dict[str, Any]:
        return await self._json("GET", f"/v1/certificate-requests/{request_id}", user=user)

    async def latest_request(self, user: str) -> dict[str, Any] | None:
        items = (await self._json("GET", "/v1/certificate-requests", user=user)).get("items") or []
        return max(items, key=lambda r: r.get("created_at") or "") if items else None

    async def document(self, user: str, request_id: str) -> bytes | None:
        """The issued certificate's PDF, or None while there is none (or the route does not exist yet)."""
        try:
            answer = await self._call("GET", f"/v1/certificate-requests/{request_id}/document", user=user,
                                      headers={"Accept": "application/pdf"})
        except ApiError as error:
            if error.code != "document_revoked" and (error.status in (403, 404, 409)
                                                     or isinstance(error, FeatureUnavailable)):
                return None
            raise
        if not answer.headers.get("content-type", "").startswith("application/pdf"):
            return None
        return answer.content

    async def request_replacement(self, user: str, request_id: str, language: str) -> dict[str, Any]:
        return await self._json("POST", f"/v1/certificate-requests/{request_id}/replacement", user=user,
                                json={"language": language})

    async def verify_document(self, document_id: str) -> dict[str, Any]:
        """What the public verification says of a document, by its id (anonymous, like a third party)."""
        try:
            return await self._json("GET", f"/v/{document_id}", user=None)
        except ApiError as error:
            if error.status == 404:  # the page answers an unknown id with 404 and {"status": "unknown"}
                return {"status": "unknown"}
            raise

    async def validate_applicant(self, user: str, applicant: dict[str, Any]) -> None:
        """Check the applicant fields entered so far; raises ApiError naming the wrong field."""
        await self._json("POST", "/v1/certificate-requests/validation", user=user, json={"applicant": applicant})

    # --- virtual penal control ---------------------------------------------------------------------------

    async def enrol(self, user: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self._json("POST", "/v1/control/enrolments", user=user, json=body)

    async def enrolment_photo(self, user: str, image: bytes) -> dict[str, Any]:
        return await self._json("POST", "/v1/control/enrolment/photo", user=user, content=image,
                                headers={"Content-Type": "image/jpeg"})

    async def start_checkin(self, user: str) -> dict[str, Any]:
        return await self._json("POST", "/v1/control/check-ins", user=user, json={})

    async def checkin_location(self, user: str, checkin_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self._json("POST", f"/v1/control/check-ins/{checkin_id}/location", user=user, json=body)

    async def checkin_selfie(self, user: str, checkin_id: str, media: bytes, kind: str) -> dict[str, Any]:
        content_type = "video/mp4" if kind == "video_note" else "image/jpeg"
        return await self._json("POST", f"/v1/control/check-ins/{checkin_id}/selfie?kind={kind}", user=user,
                                content=media, headers={"Content-Type": content_type})

    async def checkin_answers(self, user: str, checkin_id: str, answers: dict[str, Any]) -> dict[str, Any]:
        return await self._json("POST", f"/v1/control/check-ins/{checkin_id}/answers", user=user,
                                json={"answers": answers})

    async def verify_pdf(self, pdf: bytes) -> dict[str, Any]:
        # Anonymous on purpose: a third party's check must not be tied to the chat user.
        return await self._json("POST", "/v1/verify", user=None, content=pdf,
                                headers={"Content-Type": "application/pdf"})

    async def verify_qr(self, qr_text: str) -> dict[str, Any]:
        return await self._json("POST", "/v1/verify", user=None, json={"qr_text": qr_text})


def _error_from(answer: httpx.Response) -> ApiError:
    try:
        body = answer.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or "code" not in error:
        # API Gateway and `chalice local` answer a route that does not exist with 403 (or 404) and no error
        # code: the feature is missing on this deployment, not a mistake the person made.
        return FeatureUnavailable(answer.status_code, "route_missing")
    return ApiError(answer.status_code, str(error["code"]), error.get("field"), error.get("details") or {},
                    str(error.get("message") or ""))
