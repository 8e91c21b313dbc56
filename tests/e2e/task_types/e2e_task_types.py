"""Task types for the end-to-end tests only: copied into a copy of the source tree (see `tree_with_test_types`),
never into the repository's own task types.

`test_sleep` sleeps as long as it is told. `test_hog` never ends and swallows every interruption, the way a
badly written function with a bare `except` would: only a kill at the function timeout stops it.
"""

import contextlib
import time

from pydantic import BaseModel, Field

from taskflow.domain.retry import RetryPolicy
from taskflow.task_types import TaskContext, task_type


class Sleep(BaseModel):
    seconds: float = Field(ge=0, le=600)


class Hog(BaseModel):
    pass


@task_type("test_sleep", Sleep, time_budget_seconds=1.0)
def sleep(payload: Sleep, context: TaskContext) -> dict:
    """Sleep for the given time."""
    time.sleep(payload.seconds)
    return {"slept": payload.seconds}


@task_type("test_hog", Hog, retry=RetryPolicy(max_attempts=2), time_budget_seconds=1.0)
def hog(payload: Hog, context: TaskContext) -> dict:
    """Run until killed, swallowing every interruption."""
    while True:
        with contextlib.suppress(BaseException):  # the point: nothing but a kill stops this function
            time.sleep(1)
