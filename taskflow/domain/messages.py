"""The SQS message that tells a consumer to run a task: a claim check, never the payload itself."""

import json
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from taskflow.domain.errors import MalformedMessage

CORRELATION_ATTRIBUTE = "correlation_id"
# What the database can store: a message beyond either is refused as malformed (and soon dead-lettered) instead of
# failing at the database as if the consumer had crashed.
MAX_CORRELATION_ID = 200
VERSIONS = (-(2**31), 2**31 - 1)  # PostgreSQL's integer


class TaskMessage(BaseModel):
    """What the queue carries: which task, which version of it was dispatched, the request it came from, and the
    task's type (so a consumer knows the task's time budget before it claims the task; None in older messages)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    task_id: UUID
    version: int = Field(ge=VERSIONS[0], le=VERSIONS[1])
    correlation_id: str = Field(max_length=MAX_CORRELATION_ID)
    type: str | None = None

    def to_body(self) -> str:
        """The SQS message body."""
        return self.model_dump_json()

    def to_attributes(self) -> dict[str, dict[str, str]]:
        """SQS message attributes, so tools that never parse the body can still follow the correlation id."""
        return {CORRELATION_ATTRIBUTE: {"DataType": "String", "StringValue": self.correlation_id}}

    @classmethod
    def from_body(cls, body: str) -> "TaskMessage":
        """Parse a message body; raise MalformedMessage for anything that is not a task message."""
        try:
            return cls.model_validate_json(body)
        except (ValidationError, json.JSONDecodeError, TypeError) as error:
            raise MalformedMessage(f"not a task message: {error}") from error
