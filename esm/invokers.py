"""Where the mapping sends each event: the handler loaded in this process, or a Lambda container over HTTP."""

import importlib
import json
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import httpx

# The path of the Lambda Invoke API, which the Runtime Interface Emulator in the AWS base image answers.
INVOKE_PATH = "/2015-03-31/functions/function/invocations"


class InvocationFailed(Exception):
    """The function raised, timed out, or its environment died."""


class FunctionUnreachable(InvocationFailed):
    """The invocation never reached the function (its container is restarting, say): nothing ran."""


class Invoker(Protocol):
    """Invokes a Lambda function with an event and returns its response (raising if the invocation failed)."""

    def invoke(self, event: dict) -> object: ...


@dataclass
class LocalLambdaContext:
    """The attributes of the Lambda context object that handlers and Powertools read."""

    function_name: str
    timeout_seconds: int
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = ""
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:000000000000:function:{self.function_name}"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before this invocation's timeout."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class InProcessInvoker:
    """Calls `module.function` from a task root directory, the way the Lambda runtime resolves its handler."""

    def __init__(self, task_root: Path, handler: str, *, function_name: str, timeout_seconds: int) -> None:
        module_name, _, function_name_in_module = handler.rpartition(".")
        if str(task_root) not in sys.path:
            sys.path.insert(0, str(task_root))
        self.function = getattr(importlib.import_module(module_name), function_name_in_module)
        self.function_name = function_name
        self.timeout_seconds = timeout_seconds

    def invoke(self, event: dict) -> object:
        """Run the handler on `event` with a fresh context."""
        return self.function(event, LocalLambdaContext(self.function_name, self.timeout_seconds))


class HttpInvoker:
    """One Lambda container (the AWS base image's emulator on port 8080), which runs one invocation at a time."""

    def __init__(
        self, function_url: str, *, timeout_seconds: int, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.url = function_url.rstrip("/") + INVOKE_PATH
        # The emulator enforces the function timeout itself; waiting a little longer lets its answer arrive.
        self.client = httpx.Client(timeout=timeout_seconds + 5, transport=transport)

    def invoke(self, event: dict) -> object:
        """The function's response to `event`; InvocationFailed if it raised, timed out or could not be reached."""
        try:
            response = self.client.post(self.url, json=event)
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            raise FunctionUnreachable(f"could not reach {self.url}: {error!r}") from error
        except httpx.HTTPError as error:
            raise InvocationFailed(f"could not invoke {self.url}: {error!r}") from error
        return function_response(response)

    def close(self) -> None:
        """Close the connection to the container."""
        self.client.close()


def function_response(response: httpx.Response) -> object:
    """The function's response, or InvocationFailed for each way the Invoke API and the emulator report a failure."""
    if response.status_code != 200:
        raise InvocationFailed(f"the invoke endpoint answered {response.status_code}: {response.text[:500]}")
    if "X-Amz-Function-Error" in response.headers:
        raise InvocationFailed(f"function error: {response.text[:500]}")
    try:
        payload = response.json()
    except json.JSONDecodeError:
        # The emulator answers a timeout with a bare "Task timed out after 30.00 seconds".
        raise InvocationFailed(response.text[:500]) from None
    if isinstance(payload, dict) and {"errorType", "errorMessage"} <= payload.keys():
        raise InvocationFailed(f"{payload['errorType']}: {payload['errorMessage']}")
    return payload
