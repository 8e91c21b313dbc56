"""Headers that tell browsers to trust nothing but this origin, on every response.

The dashboard keeps an API key in the tab (sessionStorage), and /docs runs Swagger UI beside it: a script from
anywhere else could read the key. So scripts, styles and connections come from this origin only, no inline
script runs, no other site may frame these pages, and no URL leaks in a Referer header.
"""

from api.asgi import HttpMiddleware

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),  # frame-ancestors, for browsers that predate it
]


class SecurityHeadersMiddleware(HttpMiddleware):
    """Adds HEADERS to every HTTP response."""

    async def handle(self, scope, receive, send) -> None:

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)
