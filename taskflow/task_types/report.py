"""Task type `report`: a report that takes as long to build as its payload says, a stand-in for slow work
(queries, rendering) when watching what long tasks do to leases, timeouts and redeliveries."""

import hashlib
import time

from pydantic import BaseModel, Field

from taskflow.task_types import TaskContext, task_type

# The longest build a payload may ask for, which sets the type's time budget: a record starts only while its
# invocation has the budget left, so with the default 30 s function timeout an invocation builds three reports
# and returns the rest of its batch to the queue (each return counts as a receive towards the dead-letter queue).
LONGEST_SECONDS = 8.0


class ReportPayload(BaseModel):
    """What to report on, and how long building it takes."""

    title: str = Field(min_length=1, max_length=200, examples=["November invoices"])
    seconds: float = Field(default=2.0, ge=0, le=LONGEST_SECONDS)


@task_type("report", ReportPayload, time_budget_seconds=LONGEST_SECONDS + 1)
def build_report(payload: ReportPayload, context: TaskContext) -> dict:
    """Build a report that takes `seconds` of work."""
    digest, rows = hashlib.sha256(payload.title.encode()), 0
    ends = time.monotonic() + payload.seconds
    while time.monotonic() < ends:
        time.sleep(min(0.1, max(0.0, ends - time.monotonic())))
        digest.update(rows.to_bytes(8, "big"))
        rows += 1
    return {"title": payload.title, "rows": rows, "seconds": payload.seconds, "checksum": digest.hexdigest()[:16]}
