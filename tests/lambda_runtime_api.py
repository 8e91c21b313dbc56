"""A test stand-in for what the AWS base image's Runtime Interface Emulator serves, for one Lambda container.

The native tests start it in-process; the Lambda base image's stand-in (tests/compose/standins/lambda) runs it
as its entry point: `python lambda_runtime_api.py handler.lambda_handler`.

Two faces, as in the emulator: the Invoke API (`POST /2015-03-31/functions/function/invocations`), which the
event source mapping calls, and the Lambda Runtime API (`/2018-06-01/runtime/...`), which `awslambdaric`, the
runtime interface client in the image, polls. One invocation at a time; a second one meanwhile gets 400.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RUNTIME = "/2018-06-01/runtime"
INVOKE = "/2015-03-31/functions/function/invocations"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:000000000000:function:task-consumer"


@dataclass
class Invocation:
    request_id: str
    event: bytes
    deadline_ms: int
    done: threading.Event = field(default_factory=threading.Event)
    response: bytes = b""
    failed: bool = False


class LambdaRuntimeApi:
    """Serves both faces on 127.0.0.1; `address` goes in AWS_LAMBDA_RUNTIME_API, `function_url` in ESM_FUNCTION_URLS."""

    def __init__(self, timeout_seconds: int = 30, host: str = "127.0.0.1", port: int = 0) -> None:
        self.timeout_seconds = timeout_seconds
        self.busy = threading.Lock()
        self.waiting: Invocation | None = None
        self.running: dict[str, Invocation] = {}
        self.init_error: bytes | None = None
        self.condition = threading.Condition()
        self.invocations = 0
        self.server = ThreadingHTTPServer((host, port), self._handler_class())
        self.server.daemon_threads = True

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    @property
    def function_url(self) -> str:
        return f"http://{self.address}"

    def __enter__(self) -> "LambdaRuntimeApi":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def invoke(self, event: bytes) -> tuple[int, dict, bytes]:
        """Hand `event` to the runtime and wait for its answer: (status, headers, body) as the emulator replies."""
        if not self.busy.acquire(blocking=False):
            return 400, {}, b'{"errorMessage": "an invocation is already running in this environment"}'
        try:
            deadline = time.time() + self.timeout_seconds
            invocation = Invocation(str(uuid.uuid4()), event, int(deadline * 1000))
            with self.condition:
                self.invocations += 1
                self.waiting = invocation
                self.condition.notify_all()
            if not invocation.done.wait(self.timeout_seconds):
                return 200, {}, f"Task timed out after {self.timeout_seconds}.00 seconds".encode()
            if self.init_error is not None:
                return 502, {}, self.init_error
            headers = {"X-Amz-Function-Error": "Unhandled"} if invocation.failed else {}
            return 200, headers, invocation.response
        finally:
            with self.condition:
                self.waiting = None
            # Free before the answer is sent: the mapping invokes again as soon as it has it.
            self.busy.release()

    def next_invocation(self) -> Invocation:
        """Block until an event arrives (the runtime's long poll)."""
        with self.condition:
            self.condition.wait_for(lambda: self.waiting is not None)
            invocation, self.waiting = self.waiting, None
            self.running[invocation.request_id] = invocation
            return invocation

    def finish(self, request_id: str, body: bytes, *, failed: bool) -> None:
        """Record the runtime's response or error for one invocation."""
        invocation = self.running.pop(request_id)
        invocation.response, invocation.failed = body, failed
        invocation.done.set()

    def end_all(self, body: bytes) -> None:
        """The sandbox is going away: every invocation waiting or running fails with `body`."""
        with self.condition:
            ended = [*self.running.values(), *([self.waiting] if self.waiting else [])]
            self.running.clear()
        for invocation in ended:
            invocation.response, invocation.failed = body, True
            invocation.done.set()

    def fail_init(self, body: bytes) -> None:
        """The handler could not be loaded: every invocation now fails as the emulator's do."""
        self.init_error = body
        with self.condition:
            if self.waiting is not None:
                self.waiting.done.set()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                if self.path != f"{RUNTIME}/invocation/next":
                    return self._reply(404, {}, b"")
                invocation = api.next_invocation()
                headers = {
                    "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                    "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
                    "Lambda-Runtime-Invoked-Function-Arn": FUNCTION_ARN,
                    "Lambda-Runtime-Trace-Id": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}",
                    "Content-Type": "application/json",
                }
                self._reply(200, headers, invocation.event)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path == INVOKE:
                    # One invocation per connection: a container told to stop then refuses the next one at connect,
                    # which the mapping tells apart from a failed invocation, rather than on an idle kept-alive one.
                    self.close_connection = True
                    return self._reply(*api.invoke(body))
                if self.path == f"{RUNTIME}/init/error":
                    api.fail_init(body)
                    return self._reply(202, {}, b"{}")
                parts = self.path.removeprefix(f"{RUNTIME}/invocation/").split("/")
                if len(parts) == 2 and parts[1] in ("response", "error") and parts[0] in api.running:
                    api.finish(parts[0], body, failed=parts[1] == "error")
                    return self._reply(202, {}, b"{}")
                self._reply(404, {}, json.dumps({"errorMessage": f"unknown path {self.path}"}).encode())

            def _reply(self, status: int, headers: dict, body: bytes) -> None:
                self.send_response(status)
                if self.close_connection:
                    self.send_header("Connection", "close")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:  # quiet: the runtime polls continuously
                pass

        return Handler


def main() -> None:
    """The stand-in image's entry point: the Invoke API on port 8080, the image's CMD run under awslambdaric
    against the Runtime API on 127.0.0.1:9001, where AWS's emulator serves it."""
    api = LambdaRuntimeApi(int(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "30")), "127.0.0.1", 9001)
    invocations = ThreadingHTTPServer(("0.0.0.0", 8080), api._handler_class())
    invocations.daemon_threads = False  # so that closing the server waits for the answers it owes
    threading.Thread(target=invocations.serve_forever, daemon=True).start()
    with api:
        runtime = subprocess.Popen([sys.executable, "-m", "awslambdaric", *sys.argv[1:]],
                                   env={**os.environ, "AWS_LAMBDA_RUNTIME_API": api.address})  # fmt: skip

        def stop(*_: object) -> None:
            # `docker stop`, taken as AWS's emulator takes it (its signal handler resets the sandbox, then exits):
            # new invocations are refused, and the one in progress ends as failed ("SandboxTerminated"). As
            # process 1, this process would ignore SIGTERM otherwise. The listener is shut first: a connection
            # still waiting to be accepted would be reset after its request was sent, where a refused connect
            # tells the mapping that nothing ran.
            invocations.socket.shutdown(socket.SHUT_RDWR)
            invocations.shutdown()
            api.end_all(b'{"errorType": "Runtime.ExitError", "errorMessage": "SandboxTerminated"}')
            invocations.server_close()  # its handler threads have sent those answers
            runtime.terminate()

        signal.signal(signal.SIGTERM, stop)
        ended = runtime.wait()
        sys.exit(0 if ended == -signal.SIGTERM else ended)


if __name__ == "__main__":
    main()
