"""Lambda execution environments on this machine: one child process each, loaded once, one invocation at a time.

As on AWS, loading the handler (the init phase) has a limit of its own, ten seconds; an environment that
overruns the function timeout is killed (SIGKILL) and its invocation counts as failed; whatever the function
had done by then stays done, and the next invocation gets a fresh environment.
"""

import io
import json
import multiprocessing
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TextIO

from esm.invokers import InProcessInvoker, InvocationFailed
from taskflow.lifetime import die_with_parent

INIT_TIMEOUT_SECONDS = 10


class ProcessEnvironment:
    """Runs the handler in a child process of its own; `invoke` enforces the function timeout."""

    def __init__(
        self,
        task_root: Path,
        handler: str,
        *,
        function_name: str,
        timeout_seconds: int,
        emf_sink: Callable[[dict], None] = lambda document: None,
    ) -> None:
        self.timeout_seconds = timeout_seconds
        self.emf_sink = emf_sink
        self.initialised = False
        context = multiprocessing.get_context("spawn")
        self.connection, child_end = context.Pipe()
        self.process = context.Process(
            target=_serve,
            args=(child_end, str(task_root), handler, function_name, timeout_seconds),
            name=f"lambda-{function_name}",
            daemon=True,
        )
        self.process.start()
        child_end.close()
        # Reaped the moment it exits, busy or idle (SIGTERM, the OOM killer): no zombie lingers, and `alive` knows.
        threading.Thread(target=self.process.join, name=f"reap-{self.process.pid}", daemon=True).start()

    @property
    def alive(self) -> bool:
        """False once the environment was killed or died; the mapping then starts a new one."""
        return self.process.is_alive()

    def invoke(self, event: dict) -> object:
        """The handler's response to `event`; InvocationFailed if it raised, overran its timeout or died."""
        try:
            if not self.initialised:
                self._wait_for_init()
            self.connection.send(event)
            if not self.connection.poll(self.timeout_seconds):
                self.close()
                raise InvocationFailed(f"Task timed out after {self.timeout_seconds} seconds")
            succeeded, value, metric_documents = self.connection.recv()
        except (EOFError, OSError) as error:
            self.close()
            raise InvocationFailed(f"the execution environment died: {error!r}") from error
        for document in metric_documents:
            self.emf_sink(document)
        if not succeeded:
            raise InvocationFailed(value)
        return value

    def _wait_for_init(self) -> None:
        # The cold start (imports, clients, connection pool) does not count against the function timeout.
        if not self.connection.poll(INIT_TIMEOUT_SECONDS):
            self.close()
            raise InvocationFailed(f"Init phase did not finish within {INIT_TIMEOUT_SECONDS} seconds")
        self.connection.recv()
        self.initialised = True

    def close(self) -> None:
        """Kill the environment's process."""
        self.process.kill()
        self.process.join(5)
        self.connection.close()


def _serve(connection: Connection, task_root: str, handler: str, function_name: str, timeout_seconds: int) -> None:
    # Ctrl-C is for the mapping, which stops its environments itself; SIGTERM ends one at once, as Lambda's
    # shutdown does; and an environment never outlives its mapping, however the mapping ends.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(signal.SIGKILL)
    sys.stdout = emf = EmfCapture(sys.stdout)
    invoker = InProcessInvoker(Path(task_root), handler, function_name=function_name, timeout_seconds=timeout_seconds)
    connection.send("initialised")
    while True:
        try:
            event = connection.recv()
        except EOFError:
            return
        try:
            reply = (True, invoker.invoke(event))
        except Exception:
            reply = (False, traceback.format_exc())
        connection.send((*reply, emf.take()))


class EmfCapture(io.TextIOBase):
    """The environment's stdout: Embedded Metric Format lines are kept for the mapping, the rest is printed."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.documents: list[dict] = []
        self.partial = ""

    def write(self, text: str) -> int:
        *lines, self.partial = (self.partial + text).split("\n")
        for line in lines:
            if line.startswith('{"_aws"'):
                self.documents.append(json.loads(line))
            else:
                self.stream.write(line + "\n")
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def take(self) -> list[dict]:
        """The documents written since the last call."""
        documents, self.documents = self.documents, []
        return documents
