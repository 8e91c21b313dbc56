"""`make soak-bench`: the database after months of operation. Seeds SOAK_TASKS finished tasks (10 million by default)
with their events, outbox rows, idempotency keys, dead letters and webhook deliveries, spread over the last 60 days,
under a tenant of their own; then prints, beside the same figures on an empty database:

  1. the end-to-end phase of `make bench` (5,000 tasks by 32 clients, then SOAK_STEADY_RATE a second for 10 s),
     throughput and create -> succeeded p50/p99, with the relay pruning at its default retention;
  2. the size of each table and index, after seeding and after the pruning job caught up, with the pruning job's
     rate by kind (rows per second) and autovacuum's activity;
  3. which indexes no query used (pg_stat_user_indexes, after the end-to-end phase and a round of every read the API
     serves), and index entries written per created task;
  4. each migration since MIGRATIONS_FROM, applied to the soaked database while a writer creates and finishes tasks:
     the longest the writer waited on one transaction.
Nothing asserts a figure.
"""

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import psycopg
from alembic.config import Config
from alembic.script import ScriptDirectory

from bench import phases
from bench.ours import our_stack, use_local_credentials
from bench.phases import Measured, System, counter
from devstack import ROOT
from devstack.dev_key import new_api_key
from devstack.localstack import sqs_endpoint as find_or_start_sqs
from devstack.postgres import migrated_database, server_for_tests
from relay.pruner import Pruner
from relay.settings import RelaySettings
from taskflow.db.engine import libpq_url, make_engine

SOAK_TASKS = int(os.environ.get("SOAK_TASKS", 10_000_000))
# Below this machine's capacity (make bench's 200/s is above it in a slow hour, and then latency only measures the
# queue that grows): create -> succeeded compares the two databases, not two backlogs.
STEADY_RATE = float(os.environ.get("SOAK_STEADY_RATE", 80))
BIG_TABLE_ROWS = 10_000  # on smaller tables the planner reads the whole table, and no index tells anything
CHUNK = 100_000
MIGRATIONS_FROM = "0010"  # the migrations after it change tables that hold millions of rows by now
SEED = """
WITH made AS (
    INSERT INTO tasks (id, tenant_id, type, payload, status, attempts, result, error, version, correlation_id,
                       created_at, updated_at, started_at, finished_at, callback_url)
    SELECT gen_random_uuid(), %(tenant)s, 'word_stats', '{"text": "the quick brown fox jumps over the lazy dog"}',
           CASE WHEN g %% 50 = 0 THEN 'failed' ELSE 'succeeded' END, 1,
           CASE WHEN g %% 50 = 0 THEN NULL ELSE '{"words": 9, "characters": 43, "top": [["the", 2]]}'::jsonb END,
           CASE WHEN g %% 50 = 0 THEN 'ValueError: seeded' END, 4, 'soak-' || g,
           t, t + interval '30 ms', t + interval '10 ms', t + interval '30 ms',
           CASE WHEN g %% 20 = 0 THEN 'https://hooks.example.com/done' END
    FROM generate_series(%(first)s::bigint, %(last)s::bigint) g,
         LATERAL (SELECT now() - interval '60 days' + g * %(step)s * interval '1 microsecond') AS at(t)
    RETURNING id, status, created_at, correlation_id, callback_url
), events AS (
    INSERT INTO task_events (task_id, from_status, to_status, correlation_id, created_at)
    SELECT id, e.from_status, CASE WHEN e.to_status = 'done' THEN status ELSE e.to_status END, correlation_id,
           created_at + e.after * interval '1 ms'
    FROM made, (VALUES (NULL, 'pending', 0), ('pending', 'queued', 5), ('queued', 'running', 10),
                       ('running', 'done', 30)) AS e(from_status, to_status, after)
), outbox AS (
    INSERT INTO outbox (task_id, body, created_at, published_at)
    SELECT id, '{"task_id": "' || id || '", "version": 1}', created_at, created_at + interval '5 ms' FROM made
), keys AS (
    INSERT INTO idempotency_keys (tenant_id, key, request_hash, task_id, created_at)
    SELECT %(tenant)s, correlation_id, md5(correlation_id), id, created_at FROM made
    WHERE right(correlation_id, 1) = '7'
), letters AS (
    INSERT INTO dead_letters (message_id, tenant_id, task_id, body, receive_count, sent_at, recorded_at, last_error)
    SELECT md5(correlation_id), %(tenant)s, id, '{}', 3, created_at, created_at + interval '1 minute', 'seeded'
    FROM made WHERE status = 'failed' AND right(correlation_id, 3) = '500'
), deliveries AS (
    INSERT INTO webhook_deliveries (id, tenant_id, task_id, url, body, status, attempts, next_attempt_at,
                                    created_at, delivered_at)
    SELECT 'msg_' || replace(id::text, '-', ''), %(tenant)s, id, callback_url, '{}', 'delivered', 1,
           created_at, created_at, created_at + interval '50 ms'
    FROM made WHERE callback_url IS NOT NULL
)
SELECT count(*) FROM made
"""
TABLES = ["tasks", "task_events", "outbox", "idempotency_keys", "dead_letters", "webhook_deliveries"]


def connect(database_url: str) -> psycopg.Connection:
    return psycopg.connect(libpq_url(database_url), autocommit=True)


def seed(database_url: str, tasks: int) -> float:
    """Write `tasks` finished tasks of the last 60 days, with what the system writes beside them; return seconds."""
    started = time.perf_counter()
    step = 60 * 86_400 * 1_000_000 // tasks  # microseconds between two tasks
    with connect(database_url) as connection:
        tenant = uuid.uuid4()
        connection.execute("INSERT INTO tenants (id, name) VALUES (%s, 'soak-history')", (tenant,))
        connection.execute("SET synchronous_commit = off")  # the seeding only: a crash would lose a chunk, not more
        for first in range(1, tasks + 1, CHUNK):
            last = min(tasks, first + CHUNK - 1)
            connection.execute(SEED, {"tenant": tenant, "first": first, "last": last, "step": step})
            print(f"    seeded {last:,} of {tasks:,} tasks ({time.perf_counter() - started:.0f} s)", flush=True)
        connection.execute("VACUUM ANALYZE")
    return time.perf_counter() - started


def sizes(database_url: str) -> dict[tuple[str, str], int]:
    """Bytes of each table (with its TOAST), keyed (table, table), and of each of its indexes, keyed (table, index)."""
    query = """
        SELECT relname, relname, pg_table_size(relid) FROM pg_stat_user_tables WHERE relname = ANY(%(tables)s)
        UNION ALL
        SELECT relname, indexrelname, pg_relation_size(indexrelid) FROM pg_stat_user_indexes
        WHERE relname = ANY(%(tables)s)
    """
    with connect(database_url) as connection:
        return {(table, name): size for table, name, size in connection.execute(query, {"tables": TABLES})}


def table_counters(database_url: str) -> dict[str, tuple]:
    """Per table: rows inserted, updated, updated in place (HOT), deleted; autovacuums, autoanalyzes, dead rows; its
    indexes."""
    query = """
        SELECT t.relname, t.n_tup_ins, t.n_tup_upd, t.n_tup_hot_upd, t.n_tup_del, t.autovacuum_count,
               t.autoanalyze_count, t.n_dead_tup, (SELECT count(*) FROM pg_index i WHERE i.indrelid = t.relid)
        FROM pg_stat_user_tables t WHERE t.relname = ANY(%s)
    """
    with connect(database_url) as connection:
        connection.execute("SELECT pg_stat_force_next_flush()")
        return {row[0]: row[1:] for row in connection.execute(query, (TABLES,)).fetchall()}


def index_entries_written(before: dict, after: dict) -> int:
    """Index entries written between two readings: each inserted row, and each row updated other than in place
    (HOT), adds an entry to every index of its table (a partial index only when the row is in it: an upper bound)."""
    total = 0
    for table, (ins, upd, hot, *_rest, indexes) in after.items():
        ins0, upd0, hot0, *_ = before[table]
        total += ((ins - ins0) + (upd - upd0) - (hot - hot0)) * indexes
    return total


def prune_backlog(database_url: str) -> dict[str, tuple[int, float]]:
    """Run the relay's pruning once at the default retention until it has caught up: (rows, seconds) by kind."""
    settings = RelaySettings(_env_file=None)
    engine = make_engine(database_url, pool_size=1)
    done = {}
    try:
        for kind, keep in settings.retention.items():
            started = time.perf_counter()
            pruner = Pruner(engine, threading.Event(), {kind: keep}, settings.prune_batch_size, 0)
            done[kind] = (pruner.prune()[kind], time.perf_counter() - started)
    finally:
        engine.dispose()
    return done


def run_e2e(database_url: str, endpoint: str, log_path: Path, reads: bool) -> tuple[Measured, dict, dict]:
    """The end-to-end phase of `make bench` on this database (then, if `reads`, every read the API serves once);
    returns the figures and the table counters before and after."""
    finished = counter(database_url, "SELECT count(*) FROM tasks t JOIN tenants n ON n.id = t.tenant_id"
                       " WHERE n.name = 'soak' AND t.status IN ('succeeded', 'failed')")  # fmt: skip
    measured = Measured()
    with our_stack(database_url, endpoint, "soak", log_path) as stack:
        consumers = lambda: stack.start("relay", "esm")  # noqa: E731
        latencies = phases.system_on(stack.base, stack.headers, database_url, "tasks", consumers).latencies
        system = System(stack.base, stack.headers, consumers, lambda: finished()[0][0], latencies)
        before = table_counters(database_url)
        phases.measure_end_to_end(system, measured, 0, STEADY_RATE)
        if reads:  # as the bench's tenant, and as the tenant of the 10 million
            for reader in (stack.headers, {"X-API-Key": new_api_key(database_url, "soak-history")}):
                read_everything(stack.base, reader)
    # After the processes ended: their statistics reach the server as they end.
    return measured, before, table_counters(database_url)

def read_everything(base: str, headers: dict) -> None:
    """Every read a user or the dashboard makes, once, so that the index report sees the queries behind them."""
    with httpx.Client(base_url=base, headers=headers, timeout=60) as api:
        some = api.get("/tasks", params={"limit": 5}).raise_for_status().json()["items"][0]
        for path, params in [
            ("/tasks", {"status": "succeeded"}), ("/tasks", {"type": "word_stats"}), ("/tasks", {"label": "x"}),
            ("/tasks", {"created_after": "2026-01-01T00:00:00Z"}), (f"/tasks/{some['id']}", {}),
            (f"/tasks/{some['id']}/events", {}), (f"/tasks/{some['id']}/webhooks", {}), ("/dead-letters", {}),
            ("/dead-letters", {"task_id": some["id"]}), ("/stats", {}), ("/stats/pipeline", {}),
            ("/stats/history", {}), ("/schedules", {}), ("/metrics", {}),
        ]:  # fmt: skip
            api.get(path, params=params).raise_for_status()


def unused_indexes(database_url: str) -> dict[str, list[str]]:
    """The indexes no scan used, by why that may be: a constraint's (its checks are not scans), a small table's (the
    planner reads it whole), or neither: an index no query used."""
    query = """
        SELECT s.indexrelname, CASE WHEN i.indisunique THEN 'constraint'
                                    WHEN t.n_live_tup < %s THEN 'small table' ELSE 'unused' END
        FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
        JOIN pg_stat_user_tables t ON t.relid = s.relid
        WHERE s.idx_scan = 0 ORDER BY s.relname, s.indexrelname
    """
    found: dict[str, list[str]] = {"unused": [], "constraint": [], "small table": []}
    with connect(database_url) as connection:
        for name, why in connection.execute(query, (BIG_TABLE_ROWS,)):
            found[why].append(name)
    return found


class Writer:
    """Creates and finishes a task every few milliseconds, as the system does, and keeps how long each took."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.waits: list[tuple[float, float]] = []  # (started, seconds)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run)

    def __enter__(self) -> "Writer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self.thread.join()

    def _run(self) -> None:
        with connect(self.database_url) as connection:
            tenant = connection.execute("SELECT id FROM tenants WHERE name = 'soak-history'").fetchone()[0]
            while not self.stopping.wait(0.01):
                started = time.perf_counter()
                with connection.transaction():  # only the columns every revision since MIGRATIONS_FROM has
                    task_id = uuid.uuid4()
                    connection.execute("INSERT INTO tasks (id, tenant_id, type, payload, status, correlation_id)"
                                       " VALUES (%s, %s, 'word_stats', '{}', 'pending', 'writer')", (task_id, tenant))
                    connection.execute("INSERT INTO task_events (task_id, to_status) VALUES (%s, 'pending')",
                                       (task_id,))  # fmt: skip
                connection.execute("UPDATE tasks SET status = 'succeeded', finished_at = now() WHERE id = %s",
                                   (task_id,))  # fmt: skip
                self.waits.append((started, time.perf_counter() - started))

    def longest_wait(self, since: float, until: float) -> float:
        return max((wait for started, wait in self.waits if since <= started + wait and started <= until), default=0)


def migration_stalls(database_url: str) -> list[tuple[str, str, float, float]]:
    """Downgrade to MIGRATIONS_FROM, then apply each migration after it, while a writer runs: (revision, what it
    does, seconds it took, the writer's longest wait meanwhile)."""
    scripts = ScriptDirectory.from_config(Config(str(ROOT / "alembic.ini")))
    revisions = list(reversed([r for r in scripts.walk_revisions() if r.revision > MIGRATIONS_FROM]))
    env = {**os.environ, "DATABASE_URL": database_url}
    alembic = lambda *args: subprocess.run([sys.executable, "-m", "alembic", *args], cwd=ROOT, env=env,  # noqa: E731
                                           check=True, capture_output=True)  # fmt: skip
    alembic("downgrade", MIGRATIONS_FROM)
    stalls = []
    with Writer(database_url) as writer:
        time.sleep(1)  # the writer's ordinary waits, before the first migration
        for revision in revisions:
            started = time.perf_counter()
            alembic("upgrade", revision.revision)
            ended = time.perf_counter()
            stalls.append((revision.revision, revision.doc.splitlines()[0], ended - started,
                           writer.longest_wait(started, ended)))  # fmt: skip
        ordinary = statistics.median(wait for _, wait in writer.waits)
    stalls.append(("-", "the writer's median wait, for comparison", 0.0, ordinary))
    return stalls


def mb(size: int) -> str:
    return f"{size / 1_048_576:,.0f} MB" if size >= 1_048_576 else f"{size / 1024:,.0f} kB"


def print_e2e(empty: Measured, soaked: Measured) -> None:
    at = f"at {STEADY_RATE:.0f}/s"
    rows = [
        ("end to end, tasks/s", f"{empty.e2e_rate:.0f}", f"{soaked.e2e_rate:.0f}", soaked.e2e_rate / empty.e2e_rate),
        (f"create -> succeeded p50 {at}", phases.ms(empty.latency(0.5)), phases.ms(soaked.latency(0.5)),
         soaked.latency(0.5) / empty.latency(0.5)),
        (f"create -> succeeded p99 {at}", phases.ms(empty.latency(0.99)), phases.ms(soaked.latency(0.99)),
         soaked.latency(0.99) / empty.latency(0.99)),
        ("CPU per task", phases.ms(empty.cpu_per_task), phases.ms(soaked.cpu_per_task),
         soaked.cpu_per_task / empty.cpu_per_task),
    ]  # fmt: skip
    print(f"\n  {'figure':<34} {'empty':>12} {f'{SOAK_TASKS:,} tasks':>16}  soaked / empty")
    for label, on_empty, on_soaked, ratio in rows:
        print(f"  {label:<34} {on_empty:>12} {on_soaked:>16}  {ratio:.2f}x")


def print_sizes(empty: dict, seeded: dict, pruned: dict) -> None:
    print(f"\n  {'table, then its indexes':<46} {'empty':>10} {'seeded':>10} {'pruned':>10}")
    for table, name in sorted(seeded, key=lambda key: (TABLES.index(key[0]), key[1] != key[0], key[1])):
        shown = name if name == table else f"  {name}"
        sized = (mb(sizes.get((table, name), 0)) for sizes in (empty, seeded, pruned))
        print(f"  {shown:<46} " + " ".join(f"{size:>10}" for size in sized))


def main() -> None:
    use_local_credentials()
    print(f"taskflow soak-bench ({os.cpu_count()} cores): {SOAK_TASKS:,} finished tasks seeded", flush=True)
    with tempfile.TemporaryDirectory(prefix="taskflow-soak-") as scratch_dir:
        scratch = Path(scratch_dir)
        with (
            server_for_tests(scratch) as server,
            find_or_start_sqs(scratch) as endpoint,
            migrated_database(server, "taskflow_soak") as database_url,
        ):
            seconds = seed(database_url, SOAK_TASKS)
            seeded = sizes(database_url)
            print(f"  seeded in {seconds:.0f} s; pruning at the default retention", flush=True)
            vacuums_before = table_counters(database_url)
            pruned_rows = prune_backlog(database_url)
            # The two end-to-end phases run one right after the other, so the machine is the same for both.
            with migrated_database(server, "taskflow_soak_empty") as empty_url:
                print("  the end-to-end phase on an empty database", flush=True)
                empty_sizes = sizes(empty_url)
                empty, *_ = run_e2e(empty_url, endpoint, scratch / "stack.log", reads=False)
            print("  the end-to-end phase on the soaked database", flush=True)
            soaked, before, after = run_e2e(database_url, endpoint, scratch / "stack.log", reads=True)
            pruned = sizes(database_url)
            unused = unused_indexes(database_url)
            print(f"  each migration since {MIGRATIONS_FROM} on the soaked database, with a writer", flush=True)
            stalls = migration_stalls(database_url)
    print_e2e(empty, soaked)
    print_sizes(empty_sizes, seeded, pruned)
    print("\n  the pruning job, catching up at the default retention (rows, rows per second):")
    for kind, (rows, took) in pruned_rows.items():
        print(f"    {kind:<20} {rows:>12,} rows in {took:7.1f} s  {rows / took if took else 0:>10,.0f} rows/s")
    print("\n  autovacuum during pruning and the end-to-end phase: runs (autoanalyze runs), dead rows left:")
    for table in TABLES:
        print(f"    {table:<20} {after[table][4] - vacuums_before[table][4]:>3} "
              f"({after[table][5] - vacuums_before[table][5]}), {after[table][6]:>12,}")  # fmt: skip
    created = phases.E2E_TASKS + len(soaked.latencies)
    per_task = index_entries_written(before, after) / created
    print(f"\n  index entries written per created task (an upper bound, end-to-end phase): {per_task:.1f}")
    print(f"  indexes no query used after the soak, on tables of {BIG_TABLE_ROWS:,} rows and more: "
          f"{', '.join(unused['unused']) or 'none'}")
    print(f"    (unique indexes whose checks are not scans: {', '.join(unused['constraint'])};")
    print(f"    on smaller tables, which the planner reads whole: {', '.join(unused['small table'])})")
    print("\n  migrations applied to the soaked database with a writer running (seconds, the writer's longest wait):")
    for revision, what, took, stall in stalls:
        print(f"    {revision:<5} {what[:72]:<72} {took:7.1f} s  {stall * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
