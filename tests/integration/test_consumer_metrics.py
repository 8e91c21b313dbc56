"""The consumer reports tasks processed by type and outcome in CloudWatch's Embedded Metric Format."""

import json

import pytest

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
