"""A partner polling tasks its users deleted: many GETs of tasks that do not exist, 404 each. With the leak, each
404 keeps its database connection: the pool's connections in use climb to its size (on the API's /metrics), and
requests then wait the pool's timeout (30 s) and answer 500."""

import contextlib
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx

REQUESTS_PER_CONNECTION = 3


def provoke(stack) -> str:
    size = stack.metric("api", "taskflow_db_pool_size")
    in_use = stack.watch("api", "taskflow_db_pool_connections", state="in_use")

    def poll_a_deleted_task(_) -> None:
        with contextlib.suppress(httpx.TimeoutException):  # the symptom itself: the pool ran dry, requests wait
            stack.api.get(f"/tasks/{uuid.uuid4()}", timeout=5)

    with ThreadPoolExecutor(16) as clients:
        list(clients.map(poll_a_deleted_task, range(int(size) * REQUESTS_PER_CONNECTION)))
    return in_use.reaches(size)
