"""The peer's Celery app and its one task: compute word_stats (this project's own function, so both do the same
work) and mark the row succeeded. Run: celery -A bench.peer.worker worker --pool prefork --concurrency 4"""

import os

import psycopg
from celery import Celery
from celery.signals import worker_process_init
from psycopg.types.json import Jsonb

from taskflow.task_types import TaskContext
from taskflow.task_types.word_stats import WordStatsPayload, word_stats

app = Celery("peer", broker=os.environ.get("PEER_BROKER_URL", "redis://127.0.0.1:6379/0"))
app.conf.update(
    task_acks_late=True,  # a worker that dies mid-task leaves it to another: the guarantee the issue compares
    task_ignore_result=True,  # the result is the row; no result backend
    worker_prefetch_multiplier=4,
    broker_connection_retry_on_startup=True,
)
connection: psycopg.Connection | None = None


@worker_process_init.connect
def connect(**_) -> None:
    """One connection per worker process, opened after the fork."""
    global connection
    connection = psycopg.connect(os.environ["PEER_DATABASE_URL"], autocommit=True)


@app.task(name="word_stats")
def run_word_stats(task_id: str) -> None:
    """Compute the task's stats and mark it succeeded."""
    (payload,) = connection.execute("SELECT payload FROM peer_tasks WHERE id = %s", (task_id,)).fetchone()
    result = word_stats(WordStatsPayload.model_validate(payload), TaskContext.standalone())
    connection.execute(
        "UPDATE peer_tasks SET status = 'succeeded', result = %s, finished_at = now() WHERE id = %s",
        (Jsonb(result), task_id),
    )
