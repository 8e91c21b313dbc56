"""Every error the domain raises, in one tree; the API maps them to problem responses in one handler.

TaskflowError
├── NotAuthenticated      a missing, unknown or revoked API key (HTTP 401)
├── TooManyStreams        one more open stream than a key may hold (HTTP 429)
├── TaskNotFound          no task with that id for this tenant (HTTP 404)
├── WebhooksNotConfigured  the tenant has not set its webhook settings yet (HTTP 404)
├── IllegalTransition     a status change the state machine forbids (HTTP 409)
├── PrerequisiteFailed    a task created to run after one that failed or was cancelled (HTTP 409)
├── TaskStillActive       deleting a task that has not finished (HTTP 409)
├── TaskAlreadyStarted    editing a task a consumer has already claimed (HTTP 409)
├── TaskNotRetryable      retrying a task that has not failed (HTTP 409)
├── PreconditionFailed    an If-Match that is not the task's current version (HTTP 412)
├── PreconditionRequired  a change that needs If-Match, sent without it (HTTP 428)
├── InvalidTaskRequest    the client asked for something malformed (HTTP 422)
│   ├── UnknownTaskType   no registered task type has that name
│   ├── UnknownPrerequisite  `after` names a task the tenant does not have
│   └── IdempotencyKeyReused  an Idempotency-Key sent again with a different request
├── MalformedMessage      a queue message that is not a task message (never retried)
├── TaskBusy              another consumer holds the task right now (retried later)
├── NotEnoughTime         too little of the invocation is left to run this record (redelivered at once)
├── TaskFailed            the task's own function refused its input (the task fails, never retried)
└── TransientTaskError    the task's function hit a passing problem (retried with backoff, up to a limit)
    └── TaskTimedOut      the function was still running when the invocation's time ran out
"""


class TaskflowError(Exception):
    """Base of every domain error."""


class NotAuthenticated(TaskflowError):
    """The request carries no valid API key."""


class TooManyStreams(TaskflowError):
    """The key already holds as many open streams as it may."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"this key already has {limit} open streams; close one (a dashboard tab) first")


class TaskNotFound(TaskflowError):
    """No task has the given id."""

    def __init__(self, task_id: object) -> None:
        super().__init__(f"task {task_id} does not exist")
        self.task_id = task_id


class WebhooksNotConfigured(TaskflowError):
    """The tenant has no webhook settings yet."""

    def __init__(self) -> None:
        super().__init__("no webhook settings yet: PUT /webhooks with the hosts your callback URLs may name")


class ScheduleNotFound(TaskflowError):
    """No schedule of this tenant has the given id."""

    def __init__(self, schedule_id: object) -> None:
        super().__init__(f"schedule {schedule_id} does not exist")
        self.schedule_id = schedule_id


class TooManySchedules(TaskflowError):
    """The tenant has as many schedules as it may."""

    def __init__(self, most: int) -> None:
        super().__init__(f"a tenant may have at most {most} schedules: delete one first")


class IllegalTransition(TaskflowError):
    """The state machine forbids this status change."""

    def __init__(self, current: str, target: str) -> None:
        super().__init__(f"a task cannot go from {current} to {target}")
        self.current = current
        self.target = target


class PrerequisiteFailed(TaskflowError):
    """A task would run after one that failed or was cancelled, so it would never run."""

    def __init__(self, task_id: object, status: str) -> None:
        super().__init__(f"task {task_id} is {status}: a task after it would never run")


class TaskStillActive(TaskflowError):
    """Only finished or cancelled tasks can be deleted."""

    def __init__(self, task_id: object, status: str) -> None:
        super().__init__(f"task {task_id} is {status}; only a finished or cancelled task can be deleted")


class TaskAlreadyStarted(TaskflowError):
    """Only a pending or queued task can be edited."""

    def __init__(self, task_id: object, status: str) -> None:
        super().__init__(f"task {task_id} is {status}; only a pending or queued task can be edited")


class TaskNotRetryable(TaskflowError):
    """Only a failed task can be retried."""

    def __init__(self, task_id: object, status: str) -> None:
        super().__init__(f"task {task_id} is {status}; only a failed task can be retried")


class PreconditionFailed(TaskflowError):
    """The client's If-Match names a version the task no longer has, or is not a tag the API issues."""


class PreconditionRequired(TaskflowError):
    """A change to a task was sent without If-Match."""

    def __init__(self) -> None:
        super().__init__("send If-Match with the task's ETag, so a concurrent change is not overwritten")


class InvalidTaskRequest(TaskflowError):
    """The request names a task the system cannot accept; `errors` lists each problem by field."""

    def __init__(self, message: str, errors: list[dict] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


class UnknownTaskType(InvalidTaskRequest):
    """No registered task type has this name."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"unknown task type {name!r}; known types: {', '.join(known)}")
        self.name = name
        self.known = known


class UnknownPrerequisite(InvalidTaskRequest):
    """`after` names a task that does not exist, or is another tenant's (the two look alike)."""

    def __init__(self, task_id: object) -> None:
        message = f"task {task_id} does not exist"
        super().__init__(f"after: {message}", [{"field": "after", "message": message}])


class MalformedMessage(TaskflowError):
    """A queue message whose body is not a valid task message."""


class TaskBusy(TaskflowError):
    """Another consumer is running this task and its lease has not expired."""


class NotEnoughTime(TaskflowError):
    """The invocation has too little time left to run this record within its task type's time budget."""


class TaskFailed(TaskflowError):
    """A task function's deliberate, permanent refusal: retrying cannot help."""


class IdempotencyKeyReused(InvalidTaskRequest):
    """The tenant already used this Idempotency-Key for a different request."""

    def __init__(self, key: str) -> None:
        super().__init__(
            f"Idempotency-Key {key!r} was already used for a different request; use a new key for a new task",
            [{"field": "Idempotency-Key", "message": "already used with another body"}],
        )


class TransientTaskError(TaskflowError):
    """A task function's passing failure (a remote service down, a timeout): retrying later can help."""


class TaskTimedOut(TransientTaskError, TimeoutError):
    """The task's function overran the time its invocation had left, and was interrupted."""
