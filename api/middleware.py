"""Request ids: every request gets one (the client's X-Request-ID, or a new one), echoed in the response.

The id becomes the correlation id of whatever the request creates, so it follows a task into the outbox,
the SQS message and the consumer's logs. Written as plain ASGI: it sits on every request's hot path.
"""

import re
import uuid

from api.asgi import HttpMiddleware
from taskflow.logs import correlation_id

HEADER = b"x-request-id"
ACCEPTABLE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def request_id_from(headers: list[tuple[bytes, bytes]]) -> str:
    """The client's request id if it is a sane token, else a fresh UUID."""
    for name, value in headers:
        if name == HEADER:
            candidate = value.decode("latin-1")
            if ACCEPTABLE.match(candidate):
                return candidate
    return str(uuid.uuid4())


class RequestIdMiddleware(HttpMiddleware):
    """Sets the correlation id for the request and adds X-Request-ID to the response."""

    async def handle(self, scope, receive, send) -> None:
        request_id = request_id_from(scope["headers"])
        # Kept in the scope too: the last-resort 500 handler runs outside this middleware.
        scope.setdefault("state", {})["request_id"] = request_id
        token = correlation_id.set(request_id)

        async def send_with_id(message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (HEADER, request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            correlation_id.reset(token)
