"""The event source mapping's and the relay's /metrics, scraped with Prometheus' text parser while the real
processes run."""

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import running_stack
from tests.e2e.test_task_flow import BAD_INVOICE, create, finished
from tests.ports import free_port
from tests.waiting import wait_until


def scrape(url: str) -> dict:
    samples = {}
    for family in text_string_to_metric_families(httpx.get(url).text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_the_mapping_and_the_relay_count_what_they_do(postgres_server_url, sqs_endpoint, tmp_path):
    port, relay_port = free_port(), free_port()
    env = {"ESM_METRICS_PORT": str(port), "RELAY_METRICS_PORT": str(relay_port)}
    with running_stack(postgres_server_url, sqs_endpoint, tmp_path / "log", env=env) as stack:
        tasks = [create(stack, "word_stats", {"text": f"metrics {i}"}) for i in range(5)] + [
            create(stack, "invoice_fields", BAD_INVOICE)
        ]
        for task in tasks:
            wait_until(lambda task=task: finished(stack, task["id"]), 15, "the tasks finishing")
        samples = scrape(f"http://127.0.0.1:{port}/metrics")
        relay = scrape(f"http://127.0.0.1:{relay_port}/metrics")

    assert relay[("taskflow_outbox_published_total", ())] == 6

    assert samples[("taskflow_tasks_processed_total", (("outcome", "succeeded"), ("type", "word_stats")))] == 5
    assert samples[("taskflow_tasks_processed_total", (("outcome", "failed"), ("type", "invoice_fields")))] == 1
    invocations = samples[("taskflow_consumer_invocations_total", (("result", "ok"),))]
    assert invocations >= 1
    assert samples[("taskflow_consumer_batch_size_sum", ())] == 6
    assert samples[("taskflow_consumer_invocation_duration_seconds_count", ())] == invocations
