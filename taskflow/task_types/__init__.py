"""The registry of task types: each module in this package declares one with `@task_type`.

Adding a type is one new module here: the API validates payloads against its model, `/task-types`
lists it, and the consumer runs it. Modules are imported on first use, so nothing else needs editing.
"""

import importlib
import pkgutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel, ValidationError

from taskflow.domain.errors import InvalidTaskRequest, TransientTaskError, UnknownTaskType
from taskflow.domain.retry import RetryPolicy

DEFAULT_RETRY = RetryPolicy()
# How long one run of a type's function may take, unless the type declares its own budget: a record is only
# started while its invocation has at least this much time left.
DEFAULT_TIME_BUDGET_SECONDS = 10.0
# Failures that retrying can cure, whatever the task type; a type may declare more.
ALWAYS_TRANSIENT: tuple[type[BaseException], ...] = (TransientTaskError, TimeoutError, ConnectionError)


@dataclass(frozen=True)
class TaskContext:
    """What a task function knows of its run. A task may run more than once (at-least-once delivery, a retry):
    key side effects on `task_id`. The run is interrupted when `seconds_left()` reaches 0."""

    task_id: uuid.UUID
    attempt: int  # 1 for the first run
    seconds_left: Callable[[], float]

    @classmethod
    def standalone(cls, seconds: float = 60.0) -> "TaskContext":
        """A context for running a function outside the consumer (a test, a shell): a new task, first attempt."""
        return cls(uuid.uuid4(), 1, lambda: seconds)


@dataclass(frozen=True)
class TaskType:
    """A named kind of work: the payload it accepts, the function that turns a payload into a result,
    how its transient failures are retried, and how long one run may take (its time budget)."""

    name: str
    payload_model: type[BaseModel]
    function: Callable[[Any, TaskContext], dict]
    description: str
    retry: RetryPolicy = DEFAULT_RETRY
    transient: tuple[type[BaseException], ...] = ALWAYS_TRANSIENT
    time_budget_seconds: float = DEFAULT_TIME_BUDGET_SECONDS

    def is_transient(self, error: BaseException) -> bool:
        """True if retrying later can help with `error`."""
        return isinstance(error, self.transient)

    def run(self, payload: dict, context: TaskContext) -> dict:
        """Validate `payload` and run the type's function on it, as the consumer does."""
        return self.function(self.validate_payload(payload), context)

    def validate_payload(self, payload: dict) -> BaseModel:
        """Parse `payload` with the type's model; raise InvalidTaskRequest naming every bad field."""
        try:
            return self.payload_model.model_validate(payload)
        except ValidationError as error:
            problems = [
                {"field": ".".join(str(part) for part in e["loc"]) or "payload", "message": e["msg"]}
                for e in error.errors()
            ]
            raise InvalidTaskRequest(f"invalid payload for task type {self.name!r}", problems) from error


_REGISTRY: dict[str, TaskType] = {}


def task_type(
    name: str,
    payload_model: type[BaseModel],
    *,
    retry: RetryPolicy = DEFAULT_RETRY,
    transient: tuple[type[BaseException], ...] = (),
    time_budget_seconds: float = DEFAULT_TIME_BUDGET_SECONDS,
) -> Callable:
    """Decorator registering `function(payload, context) -> result` as the task type `name`.

    `transient` names the exception classes, beyond ALWAYS_TRANSIENT, that are retried under `retry`;
    any other exception fails the task at once. `time_budget_seconds` is the longest one run may take:
    the consumer starts a record only while its invocation has that much time left.
    """
    if time_budget_seconds <= 0:
        raise ValueError(f"task type {name!r}: the time budget must be positive")

    def register(function: Callable[[Any, TaskContext], dict]) -> Callable[[Any, TaskContext], dict]:
        if name in _REGISTRY and _REGISTRY[name].function is not function:
            raise ValueError(f"task type {name!r} is registered twice")
        description = (function.__doc__ or "").strip().splitlines()[0] if function.__doc__ else ""
        _REGISTRY[name] = TaskType(
            name, payload_model, function, description, retry, ALWAYS_TRANSIENT + transient, time_budget_seconds
        )
        return function

    return register


@cache
def _registry() -> dict[str, TaskType]:
    # Importing every module of the package runs its @task_type decorator; done once per process.
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return _REGISTRY


def all_task_types() -> list[TaskType]:
    """Every registered task type, sorted by name."""
    return sorted(_registry().values(), key=lambda t: t.name)


def time_budget_of(name: str | None) -> float:
    """The time budget of the type called `name`; the default budget for None or an unknown name."""
    kind = _registry().get(name) if name else None
    return kind.time_budget_seconds if kind else DEFAULT_TIME_BUDGET_SECONDS


def get_task_type(name: str) -> TaskType:
    """The task type called `name`; raise UnknownTaskType listing the known ones."""
    registry = _registry()
    if name not in registry:
        raise UnknownTaskType(name, sorted(registry))
    return registry[name]
