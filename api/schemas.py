"""Request and response bodies of the task API."""

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from taskflow.domain.delays import MAX_DELAY
from taskflow.domain.states import TaskStatus
from taskflow.domain.webhooks import MAX_ALLOWED_HOSTS, MAX_URL_LENGTH


def _iso_8601(value: object) -> object:
    # Lax parsing would read "0.5" as a Unix timestamp; the documented format is ISO 8601.
    return datetime.fromisoformat(value) if isinstance(value, str) else value


IsoTimestamp = Annotated[AwareDatetime, BeforeValidator(_iso_8601)]
Priority = Annotated[int, Field(ge=0, le=9, description="0 (default) to 9; 7 and up go to the high-priority queue")]
RunAt = Annotated[IsoTimestamp, Field(description="ISO 8601 with a time zone: the task is `scheduled` until then")]
DelaySeconds = Annotated[
    int, Field(ge=0, le=MAX_DELAY.days * 86_400, description="run this many seconds from now instead (0: at once)")
]
# The most tasks one task may run after: a fan-in wider than this is better expressed in stages.
MAX_AFTER = 100
After = Annotated[
    list[Annotated[UUID, Field(strict=False)]],  # JSON has no UUID type: the string form is the strict one here
    Field(
        max_length=MAX_AFTER,
        description=f"ids of up to {MAX_AFTER} of your tasks: this one is `waiting` until all of them have succeeded, "
        "and is cancelled if one of them fails or is cancelled",
        examples=[["0b8f3c1e-4a2d-4f6b-9c1e-2d3f4a5b6c7d"]],
    ),
]
CallbackUrl = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_URL_LENGTH,
        description="an https URL on a host you allow (PUT /webhooks): when the task finishes, it gets a POST signed "
        "as Standard Webhooks prescribe (webhook-id, webhook-timestamp, webhook-signature)",
        examples=["https://hooks.example.com/taskflow"],
    ),
]
Labels = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[\w.:-]+$")]],
    Field(max_length=20, description="up to 20 labels for filtering"),
]


class TaskCreate(BaseModel):
    """A task to run: one of the registered types, and a payload that type accepts."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,  # no silent coercion: "priority": false is an error, not 0
        json_schema_extra={"examples": [{"type": "word_stats", "payload": {"text": "To be, or not to be."}}]},
    )

    type: str = Field(min_length=1, max_length=100)
    payload: dict[str, Any] = Field(default_factory=dict)
    priority: Priority = 0
    labels: Labels = Field(default_factory=list)
    run_at: RunAt | None = None
    delay_seconds: DelaySeconds | None = None
    after: After = Field(default_factory=list)
    callback_url: CallbackUrl | None = None

    @model_validator(mode="after")
    def _one_run_time(self) -> "TaskCreate":
        if self.run_at is not None and self.delay_seconds is not None:
            raise ValueError("give run_at or delay_seconds, not both")
        return self


def _no_default(schema: dict) -> None:
    schema.pop("default", None)


def optional_not_null() -> Any:
    """A field a client may leave out but never send as null (the schema says so: no null, no default)."""
    return Field(default=None, json_schema_extra=_no_default)


class TaskUpdate(BaseModel):
    """The fields of a task that has not started that a client may change; send only those to change."""

    model_config = ConfigDict(
        extra="forbid", strict=True, json_schema_extra={"examples": [{"priority": 5, "labels": ["urgent"]}]}
    )

    payload: dict[str, Any] = optional_not_null()
    priority: Priority = optional_not_null()
    labels: Labels = optional_not_null()
    run_at: RunAt = optional_not_null()
    delay_seconds: DelaySeconds = optional_not_null()

    @model_validator(mode="after")
    def _one_run_time(self) -> "TaskUpdate":
        if {"run_at", "delay_seconds"} <= self.model_fields_set:
            raise ValueError("give run_at or delay_seconds, not both")
        return self


class TaskTypePublic(BaseModel):
    """A registered task type and the JSON Schema its payload must satisfy."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "word_stats",
                    "description": "Word, sentence and frequency statistics of a text.",
                    "payload_schema": {
                        "type": "object",
                        "properties": {"text": {"type": "string"}},
                        "required": ["text"],
                    },
                }
            ]
        }
    )

    name: str
    description: str
    payload_schema: dict[str, Any]


TASK_EXAMPLE = {
    "id": "0d1c6a52-4f3e-4d39-9a57-3d1f0f1b2c3d",
    "type": "word_stats",
    "payload": {"text": "To be, or not to be.", "top": 5},
    "status": "succeeded",
    "priority": 0,
    "labels": ["demo"],
    "attempts": 1,
    "result": {"words": 6, "unique_words": 4, "sentences": 1, "top_words": [{"word": "be", "count": 2}]},
    "error": None,
    "version": 4,
    "correlation_id": "my-first-task",
    "created_at": "2026-11-22T14:25:40.512Z",
    "updated_at": "2026-11-22T14:25:40.569Z",
    "started_at": "2026-11-22T14:25:40.560Z",
    "finished_at": "2026-11-22T14:25:40.569Z",
    "run_at": None,
}


class TaskFields(BaseModel):
    """What every view of a task shows: all but its payload and result."""

    model_config = ConfigDict(from_attributes=True)

    id: UUID
    type: str
    status: TaskStatus
    priority: int
    labels: list[str]
    attempts: int
    error: str | None
    version: int
    correlation_id: str
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    run_at: datetime | None = Field(description="when a delayed task is to run; null: at once")
    schedule_id: UUID | None = Field(default=None, description="the recurring schedule that made it, if one did")
    occurrence_at: datetime | None = Field(default=None, description="which occurrence of its schedule it is")
    after: list[UUID] = Field(
        default_factory=list, validation_alias="after_ids", description="the tasks it runs after, if any"
    )
    callback_url: str | None = Field(default=None, description="where its completion webhook goes, if anywhere")

    @field_validator("after", mode="before")
    @classmethod
    def _none_is_empty(cls, after: list[UUID] | None) -> list[UUID]:
        return after or []  # the column is null for a task that runs after nothing


class TaskPublic(TaskFields):
    """A task as clients see it."""

    model_config = ConfigDict(json_schema_extra={"examples": [TASK_EXAMPLE]})

    payload: dict[str, Any]
    result: dict[str, Any] | None


class TaskEventPublic(BaseModel):
    """One status change in a task's history."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "from_status": "queued",
                    "to_status": "running",
                    "detail": {"message_version": 1},
                    "correlation_id": "my-first-task",
                    "created_at": "2026-11-22T14:25:40.560Z",
                }
            ]
        },
    )

    from_status: TaskStatus | None
    to_status: TaskStatus
    detail: dict[str, Any]
    correlation_id: str | None
    created_at: datetime


LISTED_EXAMPLE = {name: value for name, value in TASK_EXAMPLE.items() if name not in ("payload", "result")}


class TaskListed(TaskFields):
    """A task in a listing: everything but the payload and the result, unless the listing included them."""

    model_config = ConfigDict(json_schema_extra={"examples": [LISTED_EXAMPLE]})

    payload: dict[str, Any] | None = Field(default=None, description="only with include=payload")
    result: dict[str, Any] | None = Field(default=None, description="only with include=result")


class TaskPage(BaseModel):
    """A page of tasks, newest first; pass `next_cursor` as `cursor` to get the next page."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [LISTED_EXAMPLE], "next_cursor": None}]})

    items: list[TaskListed]
    next_cursor: str | None


class Health(BaseModel):
    """The process answers."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok"}]})

    status: str


class Readiness(BaseModel):
    """The database and the queue answer."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "ready", "checks": {"database": "ok", "queue": "ok"}}]}
    )

    status: str
    checks: dict[str, str]


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem: every error this API returns has this shape."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:taskflow:problem:task-not-found",
                    "title": "Task not found",
                    "status": 404,
                    "detail": "task 0b0c... does not exist",
                    "correlation_id": "my-request-1",
                }
            ]
        },
    )

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    correlation_id: str | None = None
    errors: list[FieldError] | None = None


class DeadLetterPublic(BaseModel):
    """A message SQS gave up on, and what became of its task."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 42,
                    "message_id": "5fea7756-0ea4-451a-a703-a558b933e274",
                    "task_id": "0b8e9c1e-3c71-4d55-9f0e-7d2f9a3c4b10",
                    "task_type": "word_stats",
                    "status": "failed",
                    "receive_count": 5,
                    "sent_at": "2026-11-22T10:00:00.100Z",
                    "first_failure_at": "2026-11-22T10:00:00.120Z",
                    "last_failure_at": "2026-11-22T10:12:03.480Z",
                    "last_error": "TimeoutError: the remote call timed out",
                }
            ]
        },
    )

    id: int
    message_id: str
    task_id: UUID
    task_type: str
    status: TaskStatus = Field(description="the task's status now")
    receive_count: int = Field(description="deliveries before SQS gave up on the message")
    sent_at: datetime = Field(description="when the message was sent")
    first_failure_at: datetime | None = Field(description="the task's first run (None if it never ran)")
    last_failure_at: datetime | None = Field(description="its last run or recorded error")
    last_error: str | None = Field(description="the task's error when the message was given up on")


class DeadLetterPage(BaseModel):
    """A page of dead letters, newest first; pass `next_before` as `before` for the next page."""

    items: list[DeadLetterPublic]
    next_before: int | None


class RedriveRequest(BaseModel):
    """Which dead letters to move back: the given tasks' messages, or all of the tenant's when omitted."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"task_ids": None}]})

    task_ids: list[UUID] | None = Field(default=None, max_length=1000)


class RedriveResult(BaseModel):
    """The tasks dispatched again, each with a fresh message."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"task_ids": ["0b8e9c1e-3c71-4d55-9f0e-7d2f9a3c4b10"]}]})

    task_ids: list[UUID]


class StatsPublic(BaseModel):
    """A tenant's figures; the queues are shared by every tenant."""

    by_status: dict[str, int] = Field(description="tasks by status")
    by_type: dict[str, dict[str, int]] = Field(description="tasks by type, then status")
    finished_last_minute: int
    finished_last_hour: int
    latency_p50_seconds: float | None = Field(description="create to finish, tasks finished in the last hour")
    latency_p95_seconds: float | None
    schedules: dict[str, int] = Field(description='your recurring schedules: {"active": n, "paused": n}')
    webhooks: dict[str, int] = Field(description="your completion webhooks by status: pending, delivered, failed")
    queues: dict[str, dict[str, int]] = Field(
        description='{"queue", "dead_letter_queue", "high_priority_queue" or "high_priority_dead_letter_queue": '
        '{"visible" or "in_flight": messages}}, read every few seconds'
    )


class StageTimesPublic(BaseModel):
    """How many of the window's tasks passed a stage, and the p50/p99 of the time they spent in it."""

    tasks: int
    p50_seconds: float | None
    p99_seconds: float | None


class ConsumerPublic(BaseModel):
    """One execution environment of the consumer: on AWS a Lambda log stream, in compose a container, in make dev a
    child process of the event source mapping."""

    id: str
    started_at: datetime
    last_seen_at: datetime
    invocations: int
    records: int
    failed_records: int = Field(description="records reported back to SQS for redelivery")
    current_batch: int = Field(description="records of the invocation running now; 0: idle")
    busy_since: datetime | None
    state: Literal["idle", "busy", "stopped"] = Field(
        description="stopped: its batch outlived the invocation's deadline (the environment died without reporting)"
    )


class PipelinePublic(BaseModel):
    """Your tasks in each stage of the path now, and the time your recent tasks spent in each stage."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{
                "unpublished": 0, "queued": 3, "running": 2, "dead_letters": 1, "window_seconds": 60,
                "stages": {"committed_to_published": {"tasks": 120, "p50_seconds": 0.004, "p99_seconds": 0.02}},
                "queues": {"queue": {"visible": 3, "in_flight": 2}},
                "consumers": [{
                    "id": "2026/12/02/[$LATEST]0f1e2d3c", "started_at": "2026-12-02T16:00:00Z",
                    "last_seen_at": "2026-12-02T16:05:00Z", "invocations": 310, "records": 2900,
                    "failed_records": 2, "current_batch": 10, "busy_since": "2026-12-02T16:05:00Z", "state": "busy",
                }],
            }]
        }
    )  # fmt: skip

    unpublished: int = Field(description="due outbox messages the relay has not sent yet")
    queued: int = Field(description="sent to SQS, not claimed yet")
    running: int
    dead_letters: int = Field(description="your dead letters, as GET /dead-letters lists them")
    window_seconds: int = Field(description="the stages' figures are over the tasks created this long ago or since")
    stages: dict[str, StageTimesPublic] = Field(
        description="committed_to_published (the relay), published_to_received (SQS), received_to_claimed (the "
        "event source mapping's hand-off), claimed_to_finished (the function)"
    )
    queues: dict[str, dict[str, int]] = Field(description="the shared queues' messages, as in /stats")
    consumers: list[ConsumerPublic] = Field(description="the consumer's execution environments seen in 15 minutes")


class HistoryPointPublic(BaseModel):
    """One task type's activity in one bucket."""

    type: str
    at: datetime = Field(description="the bucket's start")
    created: int
    succeeded: int
    failed: int
    retried: int
    dead_lettered: int
    latency_p50_seconds: float | None = Field(description="create -> succeeded, of the tasks that succeeded in it")
    latency_p99_seconds: float | None


class HistoryPublic(BaseModel):
    """Your tasks' activity over the last minutes, by type, in buckets; a bucket in which a type saw nothing is
    left out."""

    since: datetime = Field(
        description="the first bucket's start (buckets are aligned to multiples of bucket_seconds; the first holds "
        "the window's start, the last is the current one)"
    )
    bucket_seconds: int
    points: list[HistoryPointPublic]


class WebhookSettingsUpdate(BaseModel):
    """The hosts your callback URLs may name."""

    model_config = ConfigDict(
        extra="forbid", strict=True, json_schema_extra={"examples": [{"allowed_hosts": ["hooks.example.com"]}]}
    )

    allowed_hosts: list[Annotated[str, Field(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9.:\[\]-]+$")]] = Field(
        max_length=MAX_ALLOWED_HOSTS, description="host names (no scheme, no port, no path)"
    )


class WebhookSettingsPublic(BaseModel):
    """Your webhook settings, with the secret your receiver verifies signatures with."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [{"allowed_hosts": ["hooks.example.com"], "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}]
        },
    )

    allowed_hosts: list[str]
    secret: str = Field(description="whsec_ and base64: give it to your Standard Webhooks library")


class WebhookDeliveryPublic(BaseModel):
    """One completion webhook of a task: where it goes, and how its attempts went."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "msg_6f1c2b0a9d8e4f3a8b7c6d5e4f3a2b1c",
                    "url": "https://hooks.example.com/taskflow",
                    "status": "delivered",
                    "attempts": 2,
                    "next_attempt_at": "2026-12-02T09:15:05Z",
                    "last_error": None,
                    "created_at": "2026-12-02T09:15:00Z",
                    "delivered_at": "2026-12-02T09:15:05Z",
                }
            ]
        },
    )

    id: str = Field(description="the webhook-id header of every attempt")
    url: str
    status: str = Field(description="pending, delivered, or failed (its attempts ran out)")
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
