"""Request and response bodies of /schedules: recurring tasks."""

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from api.schemas import Labels, Priority, optional_not_null
from taskflow.domain.schedules import MIN_INTERVAL_SECONDS

Cron = Annotated[str, Field(min_length=1, max_length=200, description='a cron expression, "*/5 * * * *"')]
TimeZone = Annotated[str, Field(min_length=1, max_length=64, description="an IANA time zone for cron, Europe/Paris")]
Interval = Annotated[int, Field(ge=MIN_INTERVAL_SECONDS, le=366 * 86_400, description="instead of cron: every N s")]
Missed = Annotated[
    Literal["skip", "run_once"],
    Field(description="occurrences missed while nothing ran (over 60 s late): skip them, or run one task for all"),
]
EXAMPLE = {"type": "word_stats", "payload": {"text": "daily digest"}, "cron": "0 7 * * *", "timezone": "Europe/Paris"}


class ScheduleCreate(BaseModel):
    """A recurring task: each occurrence of the cron expression (in its time zone) or interval makes one task."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [EXAMPLE]})

    type: str = Field(min_length=1, max_length=100)
    payload: dict[str, Any] = Field(default_factory=dict)
    priority: Priority = 0
    labels: Labels = Field(default_factory=list)
    cron: Cron | None = None
    timezone: TimeZone = "UTC"
    interval_seconds: Interval | None = None
    missed: Missed = "skip"
    paused: bool = False


class ScheduleUpdate(BaseModel):
    """The fields of a schedule to change; send only those. `"paused": true` pauses it, `false` resumes it."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [{"paused": True}]})

    payload: dict[str, Any] = optional_not_null()
    priority: Priority = optional_not_null()
    labels: Labels = optional_not_null()
    cron: Cron = optional_not_null()
    timezone: TimeZone = optional_not_null()
    interval_seconds: Interval = optional_not_null()
    missed: Missed = optional_not_null()
    paused: bool = optional_not_null()


class SchedulePublic(BaseModel):
    """A schedule as clients see it; `next_run_at` is its next occurrence (while not paused)."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [EXAMPLE]})

    id: UUID
    type: str = Field(validation_alias="task_type")
    payload: dict[str, Any]
    priority: int
    labels: list[str]
    cron: str | None
    timezone: str
    interval_seconds: int | None
    missed: str
    paused: bool
    next_run_at: datetime
    version: int
    created_at: datetime
    updated_at: datetime
