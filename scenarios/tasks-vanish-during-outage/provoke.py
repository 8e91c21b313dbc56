"""An SQS outage: LocalStack is paused (SIGSTOP: it accepts connections and answers nothing, like a partial
outage) while clients create tasks. Fixed, the tasks are created and the relay publishes them once SQS is back;
with the fault, each create waits on SQS and fails with a 5xx although its task was saved, and that task stays
`pending` for good."""

import os
import signal
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import psutil

from scenarios.provoking import SymptomNotSeen

CREATES = 3
CLIENT_TIMEOUT_SECONDS = 75.0  # longer than the API's SQS client takes to give up (read timeout 25 s, two attempts)


def listening_on(port: int) -> psutil.Process:
    for connection in psutil.net_connections(kind="tcp"):
        if connection.laddr.port == port and connection.status == psutil.CONN_LISTEN and connection.pid:
            return psutil.Process(connection.pid)
    raise SymptomNotSeen(f"nothing listens on port {port}: is the stack's LocalStack running?")


def failed_creates(stack) -> float:
    samples = stack.samples("api", "taskflow_http_requests_total")
    return sum(v for labels, v in samples if labels["route"] == "/tasks" and labels["method"] == "POST"
               and labels["status"].startswith("5"))  # fmt: skip


def provoke(stack) -> str:
    before = failed_creates(stack)
    sqs = listening_on(urlsplit(stack.env["AWS_ENDPOINT_URL"]).port)
    os.kill(sqs.pid, signal.SIGSTOP)
    try:
        with ThreadPoolExecutor(CREATES) as clients:
            answers = list(clients.map(lambda n: create(stack, n), range(CREATES)))
    finally:
        os.kill(sqs.pid, signal.SIGCONT)
    failed = failed_creates(stack)
    if failed < before + 1:
        raise SymptomNotSeen(f"every create answered during the outage: {answers}")
    return (f"during the outage POST /tasks answered {answers}; taskflow_http_requests_total of POST /tasks with a"
            f" 5xx status on the API's /metrics went from {before:g} to {failed:g}")  # fmt: skip


def create(stack, number: int) -> int:
    payload = {"type": "word_stats", "payload": {"text": f"Created during the outage, {number}."}}
    try:
        return stack.api.post("/tasks", json=payload, timeout=CLIENT_TIMEOUT_SECONDS).status_code
    except Exception as error:  # noqa: BLE001 - a timed-out request is a finding, not an error
        return type(error).__name__
