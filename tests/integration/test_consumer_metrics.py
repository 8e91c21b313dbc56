"""The consumer reports tasks processed by type and outcome in CloudWatch's Embedded Metric Format."""

import json

import pytest
from pydantic import BaseModel

from esm.metrics import ConsumerMetrics
from taskflow.domain.errors import TransientTaskError
from taskflow.domain.retry import RetryPolicy
from taskflow.task_types import TaskContext, task_type
from tests.integration.lambda_events import body_of, event_for

pytestmark = pytest.mark.integration


def emf_documents(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{") and '"_aws"' in line]


def test_each_invocation_emits_tasks_processed_by_type_and_outcome(handler, new_task, capsys):
    good = [new_task("word_stats", {"text": f"word {i}"}) for i in range(2)]
    bad = new_task("invoice_fields", {"fields": {"Net": "100", "Tax": "19", "Total": "120"}})
    capsys.readouterr()

    handler.invoke(event_for(*(body_of(task) for task in [*good, bad])))

    documents = emf_documents(capsys.readouterr().out)
    counts = {(d["type"], d["outcome"]): sum(d["TasksProcessed"]) for d in documents}
    assert counts == {("word_stats", "succeeded"): 2, ("invoice_fields", "failed"): 1}
    directive = documents[0]["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "Taskflow"
    assert sorted(directive["Dimensions"][0]) == ["outcome", "type"]


class Nothing(BaseModel):
    pass


@task_type("test_metrics_downstream_down", Nothing, retry=RetryPolicy(max_attempts=3, base_delay_seconds=8))
def downstream_down(payload: Nothing, context: TaskContext) -> dict:
    raise TransientTaskError("the downstream service is down")


def test_each_retry_emits_its_backoff_which_the_mapping_turns_into_a_histogram(handler, new_task, capsys, read):
    task = new_task("test_metrics_downstream_down", {})
    capsys.readouterr()
    handler.invoke(event_for(body_of(task)))
    documents = [d for d in emf_documents(capsys.readouterr().out) if "RetryDelay" in d]
    chosen = [e.detail["retry_in_seconds"] for e in read.events(task.id) if "retry_in_seconds" in e.detail]
    assert len(chosen) == 1 and [(d["RetryDelay"], d["type"]) for d in documents] == [([chosen[0]], task.type)]
    metrics = ConsumerMetrics()
    for document in documents:
        metrics.record_emf(document)
    labels = {"type": task.type}
    assert metrics.registry.get_sample_value("taskflow_retry_delay_seconds_count", labels) == 1
    assert metrics.registry.get_sample_value("taskflow_retry_delay_seconds_sum", labels) == chosen[0]


def test_each_invocation_counts_the_messages_it_refused_by_reason(handler, new_task, sessions, capsys):
    from datetime import timedelta

    from tests.integration.lambda_events import set_running

    busy = new_task()
    set_running(sessions, busy.id, lease_ends_in=timedelta(minutes=1))
    capsys.readouterr()
    handler.invoke(event_for(body_of(busy), "not a task message", "{}"))
    documents = [d for d in emf_documents(capsys.readouterr().out) if "MessagesRefused" in d]
    assert {d["reason"]: sum(d["MessagesRefused"]) for d in documents} == {"TaskBusy": 1, "MalformedMessage": 2}
    metrics = ConsumerMetrics()
    for document in documents:
        metrics.record_emf(document)
    assert metrics.registry.get_sample_value("taskflow_messages_refused_total", {"reason": "TaskBusy"}) == 1
