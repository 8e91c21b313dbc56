"""What every middleware of the API shares: plain ASGI (no per-request task, unlike BaseHTTPMiddleware), and
only HTTP requests handled; lifespan events pass straight through."""


class HttpMiddleware:
    """Passes anything but an HTTP request to the app; subclasses handle HTTP requests in `handle`."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    async def handle(self, scope, receive, send) -> None:
        """Handle one HTTP request, calling `self.app` to pass it on."""
        raise NotImplementedError
