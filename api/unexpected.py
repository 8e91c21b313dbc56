"""The last line of defence: an error no handler expected becomes a 500 problem and one JSON log line.

Starlette hands an `Exception` handler's error back to the server after answering, and uvicorn then prints a
plain-text traceback (with whatever the exception carries). This middleware catches the error first: the
client gets a problem with its correlation id, the log gets the traceback as JSON, and nothing reaches the server.
"""

import logging

import orjson

from api.asgi import HttpMiddleware
from taskflow.logs import correlation_id

log = logging.getLogger("api")
PROBLEM = {
    "type": "urn:taskflow:problem:internal-error",
    "title": "Internal server error",
    "status": 500,
    "detail": "the server failed; quote the correlation_id when reporting it",
}


class UnexpectedErrorMiddleware(HttpMiddleware):
    """Answers any exception the app raised with a 500 problem (or ends a response already under way)."""

    async def handle(self, scope, receive, send) -> None:
        started = False

        async def tracking_send(message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error", extra={"path": scope.get("path")})
            if started:  # too late for a status: end the response where it is
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            body = orjson.dumps({**PROBLEM, "correlation_id": correlation_id.get()})
            headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 500, "headers": headers})
            await send({"type": "http.response.body", "body": body})
