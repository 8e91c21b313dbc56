"""`make scenario-provoke NAME=...`: drive the running stack (`make dev`) until a scenario's symptom shows on
its metrics, as the candidate would see it on the dashboard and in /metrics.

Each scenario's scenarios/NAME/provoke.py has `provoke(stack) -> str`: it drives the stack (tasks, duplicates,
load, an outage) and returns, once the symptom's metric has moved, what moved; it raises SymptomNotSeen when the
stack does not show it in time (the fault is not planted, or already fixed)."""

import importlib.util
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import boto3
import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session

from scenarios.catalog import Scenario
from taskflow.clock import utc_now
from taskflow.db.engine import make_engine, make_session_factory
from taskflow.db.models import Task
from taskflow.services.api_keys import create_api_key

# The symptom must show within this long, the promise to interviewers.
LIMIT_SECONDS = 120.0


class SymptomNotSeen(AssertionError):
    """The stack did not show the scenario's symptom in time."""


@dataclass
class Stack:
    """A running stack, as make dev describes it in its data folder (dev.env, dev-api-key)."""

    env: dict[str, str]
    api_key: str
    deadline: float

    @classmethod
    def of(cls, data_dir: Path, limit: float = LIMIT_SECONDS) -> "Stack":
        """The stack whose data is in `data_dir` (.data, or TASKFLOW_DATA_DIR)."""
        if not (data_dir / "dev.env").exists():
            raise FileNotFoundError(f"no running stack: {data_dir}/dev.env is missing (start one with `make dev`)")
        lines = (data_dir / "dev.env").read_text().splitlines()
        env = dict(line.split("=", 1) for line in lines if "=" in line)
        return cls(env, (data_dir / "dev-api-key").read_text().strip(), time.monotonic() + limit)

    @property
    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.env["API"], headers={"X-API-Key": self.api_key}, timeout=30)

    def metrics_url(self, of: str) -> str:
        """The /metrics address of `of`: api, consumer, relay or mail."""
        ports = {"consumer": "ESM_METRICS_PORT", "relay": "RELAY_METRICS_PORT"}
        if of == "api":
            return f"{self.env['API']}/metrics"
        if of == "mail":
            return f"{self.env['MAIL_SINK_URL']}/metrics"
        return f"http://127.0.0.1:{self.env[ports[of]]}/metrics"

    def samples(self, of: str, name: str) -> list[tuple[dict[str, str], float]]:
        """The samples called `name` on `of`'s /metrics: (labels, value) each."""
        text = httpx.get(self.metrics_url(of), timeout=10).text
        families = text_string_to_metric_families(text)
        return [(s.labels, s.value) for family in families for s in family.samples if s.name == name]

    def metric(self, of: str, name: str, **labels: str) -> float:
        """The sum of the samples called `name` on `of`'s /metrics whose labels include `labels`."""
        return sum(value for found, value in self.samples(of, name) if labels.items() <= found.items())

    def create(self, task_type: str, payload: dict, api_key: str | None = None) -> dict:
        """Create a task through the API; its body."""
        headers = {"X-API-Key": api_key} if api_key else {}
        created = self.api.post("/tasks", json={"type": task_type, "payload": payload}, headers=headers)
        created.raise_for_status()
        return created.json()

    @contextmanager
    def database(self) -> Iterator[Session]:
        """A session on the stack's database (as its owner), for what a provoke sets up directly."""
        engine = make_engine(self.env["DATABASE_URL"])
        try:
            with make_session_factory(engine)() as session:
                yield session
        finally:
            engine.dispose()

    def new_tenant(self, name: str) -> tuple[uuid.UUID, str]:
        """A tenant of the provoke's own, with an API key (written to the stack's database directly)."""
        with self.database() as session:
            api_key, key = create_api_key(session=session, tenant_name=f"{name}-{uuid.uuid4().hex[:6]}", key_name=name)
            return api_key.tenant_id, key

    def save_queued_tasks(self, tenant_id: uuid.UUID, count: int, text: str, attempts: int = 0) -> list[Task]:
        """`count` queued word_stats tasks of the tenant, saved directly: no message dispatches them."""
        now = utc_now()
        tasks = [
            Task(id=uuid.uuid4(), tenant_id=tenant_id, type="word_stats", payload={"text": text}, status="queued",
                 attempts=attempts, version=1, dispatched_version=1, correlation_id="provoke", created_at=now,
                 updated_at=now)
            for _ in range(count)
        ]  # fmt: skip
        with self.database() as session:
            session.add_all(tasks)
            session.commit()
        return tasks

    def server_errors(self, method: str, route: str) -> float:
        """Requests to `method` `route` the API answered with a 5xx status (taskflow_http_requests_total)."""
        return sum(
            value
            for labels, value in self.samples("api", "taskflow_http_requests_total")
            if labels["method"] == method and labels["route"] == route and labels["status"].startswith("5")
        )

    def task(self, task_id: str) -> dict:
        return self.api.get(f"/tasks/{task_id}").raise_for_status().json()

    @property
    def sqs(self):
        return boto3.client(
            "sqs",
            endpoint_url=self.env["AWS_ENDPOINT_URL"],
            region_name=self.env["AWS_REGION"],
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
        )

    def send_to_queue(self, *bodies: str) -> None:
        """Put raw message bodies on the task queue, as a duplicate delivery or a misbehaving client would."""
        client = self.sqs
        url = client.get_queue_url(QueueName=self.env["QUEUE_NAME"])["QueueUrl"]
        for body in bodies:
            client.send_message(QueueUrl=url, MessageBody=body)

    def wait_for(self, what: str, check: Callable[[], object], every: float = 0.5):
        """Poll `check` until it returns something true, and return that; SymptomNotSeen past the deadline."""
        while time.monotonic() < self.deadline:
            try:
                seen = check()
            except httpx.HTTPError:
                seen = None  # a hung or failing /metrics can be the symptom itself: look again
            if seen:
                return seen
            time.sleep(every)
        raise SymptomNotSeen(f"not seen within {LIMIT_SECONDS:.0f} s: {what}")

    def watch(self, of: str, name: str, **labels: str) -> "Watch":
        """Start watching metric `name` on `of`'s /metrics (the samples whose labels include `labels`)."""
        return Watch(self, of, name, labels, self.metric(of, name, **labels))


@dataclass
class Watch:
    """A metric's value when the watch began, to wait for it to move from."""

    stack: Stack
    of: str
    name: str
    labels: dict[str, str]
    before: float

    def now(self) -> float:
        return self.stack.metric(self.of, self.name, **self.labels)

    def reaches(self, value: float) -> str:
        """Wait until the metric is at least `value`; describe it."""
        what = f"{self.name}{self.labels or ''} on the {self.of}'s /metrics"
        now = self.stack.wait_for(f"{what} reaching {value:g}", lambda: (v := self.now()) >= value and v)
        return f"{what} went from {self.before:g} to {now:g}"

    def rises_by(self, amount: float) -> str:
        """Wait until the metric has risen by `amount`; describe the rise."""
        what = f"{self.name}{self.labels or ''} on the {self.of}'s /metrics"
        now = self.stack.wait_for(
            f"{what} rising by {amount:g}", lambda: (v := self.now()) >= self.before + amount and v
        )
        return f"{what} went from {self.before:g} to {now:g}"


def provoke(scenario: Scenario, stack: Stack) -> str:
    """Run scenario's provoke.py against `stack`; what moved."""
    return provoke_module(scenario).provoke(stack)


def stack_settings(scenario: Scenario) -> dict[str, str]:
    """The settings `make dev` needs for the scenario's symptom to show (its provoke.py's STACK_SETTINGS)."""
    return getattr(provoke_module(scenario), "STACK_SETTINGS", {})


def provoke_module(scenario: Scenario):
    spec = importlib.util.spec_from_file_location(f"provoke_{uuid.uuid4().hex}", scenario.folder / "provoke.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
