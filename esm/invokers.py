"""Where the mapping sends each event: the handler loaded in this process, as the Lambda runtime loads it."""

import importlib
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


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
