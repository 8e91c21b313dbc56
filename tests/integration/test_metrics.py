"""/metrics, scraped and read with Prometheus' own text parser (prometheus_client.parser)."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.integration


def scrape(client) -> dict:
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def test_requests_tasks_outbox_and_queues_are_measured(client, queue, sqs_client):
    for text in ("one", "two", "three"):
        assert client.post("/tasks", json={"type": "word_stats", "payload": {"text": text}}).status_code == 201
    assert client.post("/tasks", json={"type": "word_stats", "payload": {}}).status_code == 422
    assert client.get("/no/such/path").status_code == 404
    sqs_client.send_message(QueueUrl=queue.dlq_url, MessageBody="a dead letter")

    samples = scrape(client)

    assert value(samples, "taskflow_http_requests_total", method="POST", route="/tasks", status="201") == 3
    assert value(samples, "taskflow_http_requests_total", method="POST", route="/tasks", status="422") == 1
    assert value(samples, "taskflow_http_requests_total", method="GET", route="unmatched", status="404") == 1
    assert value(samples, "taskflow_http_request_duration_seconds_count", method="POST", route="/tasks") == 4
    assert (
        value(samples, "taskflow_http_request_duration_seconds_bucket", method="POST", route="/tasks", le="+Inf") == 4
    )
    assert value(samples, "taskflow_tasks_created_total", type="word_stats") == 3
    assert value(samples, "taskflow_outbox_lag_seconds") > 0, "no relay runs here: the rows wait"
    assert value(samples, "taskflow_queue_messages", queue=queue.name, state="visible") == 0
    assert value(samples, "taskflow_queue_messages", queue=f"{queue.name}-dlq", state="visible") == 1
    assert ("taskflow_oldest_queued_task_seconds", ()) in samples
    assert value(samples, "taskflow_db_pool_connections", state="in_use") == 0, "every request gave its own back"
    assert value(samples, "taskflow_db_pool_connections", state="idle") >= 1
    assert value(samples, "taskflow_db_pool_size") == client.app.state.settings.database_pool_size


def test_a_scrape_answers_when_the_pool_has_run_dry(client):
    """The moment the figures matter most: every connection is held (leaked, say) and the scrape still answers,
    within the time it allows the database, with the pool's figures and the backlog left unread."""
    import time

    from api.metrics import DATABASE_SECONDS

    engine = client.app.state.autocommit_engine
    pool = engine.sync_engine.pool

    async def hold_every_connection():
        return [await engine.connect() for _ in range(pool.size())]

    async def release(connections):
        for connection in connections:
            await connection.close()

    held = client.portal.call(hold_every_connection)
    try:
        started = time.monotonic()
        samples = scrape(client)
        assert time.monotonic() - started < DATABASE_SECONDS + 3
        assert value(samples, "taskflow_db_pool_connections", state="in_use") == pool.size()
        assert value(samples, "taskflow_metrics_database_unread_total") == 1
    finally:
        client.portal.call(release, held)
    assert value(scrape(client), "taskflow_metrics_database_unread_total") == 1, "read again once a connection is free"
