"""Refusing request bodies over the configured size with 413, before the app reads them into memory.

Checks the declared Content-Length first and then counts what actually arrives, so a client that lies
about the length (or streams without one) is cut off too. If the app has already started its response when
the body goes over (a route that never reads the body), that response finishes unchanged. Plain ASGI: it sits
on every request's path.
"""

from http import HTTPStatus

import orjson

from api.asgi import HttpMiddleware
from taskflow.logs import correlation_id

PROBLEM_HEADERS = [(b"content-type", b"application/problem+json")]


class BodySizeLimitMiddleware(HttpMiddleware):
    """413 problem for any request body larger than `max_bytes`."""

    def __init__(self, app, max_bytes: int) -> None:
        super().__init__(app)
        self.max_bytes = max_bytes

    async def handle(self, scope, receive, send) -> None:
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        received = 0
        refused = responding = False

        async def counting_receive():
            nonlocal received, refused
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                # Tell the app the client is gone so it stops reading; answer 413 unless it already answered
                # (a response under way, GET / say, has its status sent: it ends as it would have).
                if not refused and not responding:
                    refused = True
                    await self._refuse(send)
                return {"type": "http.disconnect"}
            return message

        async def send_unless_refused(message):
            nonlocal responding
            if not refused:
                responding = responding or message["type"] == "http.response.start"
                await send(message)

        await self.app(scope, counting_receive, send_unless_refused)

    async def _refuse(self, send) -> None:
        body = orjson.dumps(
            {
                "type": "urn:taskflow:problem:body-too-large",
                "title": "Request body too large",
                "status": 413,
                "detail": f"request bodies are limited to {self.max_bytes} bytes",
                "correlation_id": correlation_id.get(),
            }
        )
        await send(
            {
                "type": "http.response.start",
                "status": HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                "headers": [*PROBLEM_HEADERS, (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})
