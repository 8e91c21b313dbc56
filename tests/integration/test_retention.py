"""Retention against a real database, as the relay's own role: each kind of row goes once its retention has ended
and nothing younger goes; a finished task goes with its whole history unless something still needs it; a batch is a
transaction of its own; two relays never prune at once.

Rows here are dated in the year 2000 and pruned with cutoffs in 2000, in a database of this module's own: outbox
rows and dead letters are walked in id order, which follows their age only where nothing else wrote rows dated
otherwise. Each test deletes what it wrote.
"""

import threading
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devstack.postgres import migrated_database
from relay.pruner import Pruner
from taskflow.clock import utc_now
from taskflow.db.engine import libpq_url, make_engine
from taskflow.db.login import DatabaseLogin
from taskflow.services.retention import KINDS, PRUNING_LOCK, prune_batches

T0 = datetime(2000, 1, 1, tzinfo=UTC)
CUTOFF = T0 + timedelta(days=30)
OLD, YOUNG = T0 + timedelta(days=1), T0 + timedelta(days=60)


@pytest.fixture(scope="module")
def own_database(postgres_server_url):
    with migrated_database(postgres_server_url, "taskflow_retention") as url:
        yield url


@pytest.fixture(scope="module")
def relay_engine(own_database):
    engine = make_engine(own_database, pool_size=2, login=DatabaseLogin(own_database, role="taskflow_relay"))
    yield engine
    engine.dispose()


@pytest.fixture
def db(own_database):
    with psycopg.connect(libpq_url(own_database), autocommit=True) as connection:
        seeder = Seeder(connection)
        yield seeder
        seeder.delete_everything()


class Seeder:
    """Writes rows as they would be after the system made them, dated as the test says."""

    def __init__(self, connection: psycopg.Connection) -> None:
        self.connection = connection
        self.tenant = uuid.uuid4()
        connection.execute("INSERT INTO tenants (id, name) VALUES (%s, %s)", (self.tenant, f"retention-{self.tenant}"))

    def task(self, status: str, finished_at: datetime | None, after: list | None = None) -> uuid.UUID:
        task_id = uuid.uuid4()
        self.connection.execute(
            "INSERT INTO tasks (id, tenant_id, type, payload, status, correlation_id, created_at, updated_at,"
            " finished_at, after_ids) VALUES (%s, %s, 'word_stats', '{}', %s, 'c', %s, %s, %s, %s)",
            (task_id, self.tenant, status, T0, finished_at or T0, finished_at, after),
        )
        self.connection.execute(
            "INSERT INTO task_events (task_id, from_status, to_status, created_at) VALUES (%s, NULL, 'pending', %s)",
            (task_id, T0),
        )
        return task_id

    def outbox(self, task_id: uuid.UUID, created_at: datetime, published_at: datetime | None) -> int:
        return self.connection.execute(
            "INSERT INTO outbox (task_id, body, created_at, published_at) VALUES (%s, '{}', %s, %s) RETURNING id",
            (task_id, created_at, published_at),
        ).fetchone()[0]

    def dead_letter(self, task_id: uuid.UUID | None, recorded_at: datetime) -> int:
        return self.connection.execute(
            "INSERT INTO dead_letters (message_id, tenant_id, task_id, body, receive_count, sent_at, recorded_at)"
            " VALUES (%s, %s, %s, '{}', 3, %s, %s) RETURNING id",
            (uuid.uuid4().hex, self.tenant, task_id, recorded_at, recorded_at),
        ).fetchone()[0]

    def delivery(self, task_id: uuid.UUID, status: str, created_at: datetime) -> str:
        delivery_id = f"msg_{uuid.uuid4().hex}"
        self.connection.execute(
            "INSERT INTO webhook_deliveries (id, tenant_id, task_id, url, body, status, attempts, next_attempt_at,"
            " created_at) VALUES (%s, %s, %s, 'https://hooks.example.com/', '{}', %s, 1, %s, %s)",
            (delivery_id, self.tenant, task_id, status, created_at, created_at),
        )
        return delivery_id

    def idempotency_key(self, task_id: uuid.UUID, created_at: datetime) -> str:
        key = uuid.uuid4().hex
        self.connection.execute(
            "INSERT INTO idempotency_keys (tenant_id, key, request_hash, task_id, created_at)"
            " VALUES (%s, %s, 'h', %s, %s)",
            (self.tenant, key, task_id, created_at),
        )
        return key

    def delete_everything(self) -> None:
        for table in ("dead_letters", "idempotency_keys", "webhook_deliveries", "tasks"):  # tasks last: it cascades
            self.connection.execute(f"DELETE FROM {table} WHERE tenant_id = %s", (self.tenant,))  # noqa: S608 - ours

    def ids(self, table: str, column: str = "id") -> set:
        return {row[0] for row in self.connection.execute(f"SELECT {column} FROM {table}")}  # noqa: S608 - ours

    def tenant_tasks(self) -> set:
        return {row[0] for row in self.connection.execute("SELECT id FROM tasks WHERE tenant_id = %s", (self.tenant,))}


def prune(relay_engine, kind: str, cutoff: datetime = CUTOFF, batch_size: int = 3) -> list[int]:
    with relay_engine.connect() as connection:
        return list(prune_batches(connection, KINDS[kind], cutoff, batch_size))


def test_finished_tasks_past_retention_go_with_their_history_unless_something_still_needs_them(db, relay_engine):
    statuses = ["succeeded", "failed", "cancelled"] * 3
    gone = [db.task(status, OLD + timedelta(seconds=i)) for i, status in enumerate(statuses)]
    for task_id in gone[:2]:
        db.outbox(task_id, OLD, OLD)
        db.delivery(task_id, "delivered", OLD)
    young = db.task("succeeded", YOUNG)
    live = [db.task(status, None) for status in ("queued", "running", "waiting", "scheduled", "pending")]
    retried = db.task("queued", None)  # a retry of a failed task clears finished_at
    with_dead_letter = db.task("failed", OLD)
    db.dead_letter(with_dead_letter, YOUNG)
    with_pending_webhook = db.task("succeeded", OLD)
    db.delivery(with_pending_webhook, "pending", OLD)
    awaited = db.task("succeeded", OLD)
    waiting = db.task("waiting", None, after=[awaited])

    deleted = prune(relay_engine, "finished_tasks")

    kept = {young, retried, with_dead_letter, with_pending_webhook, awaited, waiting, *live}
    assert db.tenant_tasks() == kept
    assert sum(deleted) == len(gone)
    left = db.connection.execute("SELECT count(*) FROM task_events WHERE task_id = ANY(%s)", (gone,)).fetchone()[0]
    assert left == 0, "a pruned task's events go with it"
    assert not db.connection.execute("SELECT 1 FROM outbox WHERE task_id = ANY(%s)", (gone,)).fetchall()
    assert not db.connection.execute("SELECT 1 FROM webhook_deliveries WHERE task_id = ANY(%s)", (gone,)).fetchall()
    assert sum(prune(relay_engine, "finished_tasks")) == 0, "a second pass finds nothing more"


def test_published_outbox_rows_go_and_unpublished_ones_stay_however_old(db, relay_engine):
    task_id = db.task("running", None)
    published = [db.outbox(task_id, OLD, OLD + timedelta(seconds=i)) for i in range(7)]
    unpublished_old = db.outbox(task_id, OLD, None)  # a task delayed for months waits here
    published_late = db.outbox(task_id, OLD, YOUNG)  # made long ago, but sent after the cutoff
    young = db.outbox(task_id, YOUNG, YOUNG)
    prune(relay_engine, "published_outbox")
    assert db.ids("outbox") & {*published, unpublished_old, published_late, young} == {
        unpublished_old, published_late, young
    }


def test_keys_letters_and_settled_deliveries_go_after_their_retention(db, relay_engine):
    task_id = db.task("running", None)
    old_keys = [db.idempotency_key(task_id, OLD) for _ in range(5)]  # one instant: the walk must not stall on it
    young_key = db.idempotency_key(task_id, YOUNG)
    old_letters = [db.dead_letter(None, OLD) for _ in range(4)]
    young_letter = db.dead_letter(None, YOUNG)
    settled = [db.delivery(task_id, status, OLD) for status in ("delivered", "failed") * 2]
    pending = db.delivery(task_id, "pending", OLD)
    young_delivery = db.delivery(task_id, "delivered", YOUNG)
    for kind in ("idempotency_keys", "dead_letters", "webhook_deliveries"):
        prune(relay_engine, kind, batch_size=2)
    assert db.ids("idempotency_keys", "key") & {*old_keys, young_key} == {young_key}
    assert db.ids("dead_letters") & {*old_letters, young_letter} == {young_letter}
    assert db.ids("webhook_deliveries") & {*settled, pending, young_delivery} == {pending, young_delivery}


def test_each_batch_is_a_transaction_of_its_own(db, relay_engine):
    for i in range(7):
        db.task("succeeded", OLD + timedelta(seconds=i))
    with relay_engine.connect() as connection:
        batches = []
        for deleted in prune_batches(connection, KINDS["finished_tasks"], CUTOFF, 3):
            assert not connection.in_transaction(), "no lock outlives its batch"
            batches.append(deleted)
    assert sum(batches) == 7 and max(batches) == 3, "seven tasks, in batches of three at most"


def test_only_one_relay_prunes_at_a_time(db, relay_engine, own_database):
    task_id = db.task("succeeded", OLD)
    pruner = Pruner(relay_engine, threading.Event(), {"finished_tasks": utc_now() - CUTOFF}, 100, 60)
    with psycopg.connect(libpq_url(own_database)) as other_relay:
        other_relay.execute("SELECT pg_advisory_lock(%s)", (PRUNING_LOCK,))
        assert pruner.prune() is None
        assert task_id in db.tenant_tasks()
    assert pruner.prune()["finished_tasks"] >= 1
    assert task_id not in db.tenant_tasks()


instants = st.integers(min_value=0, max_value=2).map(lambda s: OLD + timedelta(seconds=s))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    tasks=st.lists(st.tuples(instants | st.just(YOUNG), st.booleans()), max_size=12),
    batch_size=st.integers(min_value=1, max_value=4),
)
def test_whatever_the_ties_and_the_batch_size_exactly_the_unneeded_old_tasks_go(db, relay_engine, tasks, batch_size):
    """Many tasks finishing in one instant, kept ones among them (a dead letter names them), batches smaller than a
    tie: the walk neither stalls nor skips."""
    made = {}
    for finished_at, has_dead_letter in tasks:
        task_id = db.task("succeeded", finished_at)
        if has_dead_letter:
            db.dead_letter(task_id, YOUNG)
        made[task_id] = finished_at < CUTOFF and not has_dead_letter
    prune(relay_engine, "finished_tasks", batch_size=batch_size)
    assert db.tenant_tasks() & set(made) == {task_id for task_id, goes in made.items() if not goes}
    db.connection.execute("DELETE FROM tasks WHERE id = ANY(%s)", (list(made),))
