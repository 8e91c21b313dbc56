"""A partner polling tasks its users deleted: bursts of GETs of tasks that do not exist, 404 each. With the leak,
each 404 keeps its database connection until a garbage collection happens to free it: burst after burst, the
pool's connections in use climb to its size (on the API's /metrics), and requests then wait the pool's timeout
(30 s) and answer 500."""

import contextlib
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx

CLIENTS = 16


def provoke(stack) -> str:
    size = stack.metric("api", "taskflow_db_pool_size")
    in_use = stack.watch("api", "taskflow_db_pool_connections", state="in_use")

    def poll_a_deleted_task(_) -> None:
        with contextlib.suppress(httpx.TimeoutException):  # the symptom itself: the pool ran dry, requests wait
            stack.api.get(f"/tasks/{uuid.uuid4()}", timeout=5)

    def burst_leaves_the_pool_dry() -> bool:
        with ThreadPoolExecutor(CLIENTS) as clients:
            list(clients.map(poll_a_deleted_task, range(int(size) * 2)))
        return in_use.now() >= size

    stack.wait_for(f"the pool's {size:g} connections all in use", burst_leaves_the_pool_dry, every=0)
    return f"taskflow_db_pool_connections{{state=in_use}} on the API's /metrics went from {in_use.before:g} to {size:g}"
