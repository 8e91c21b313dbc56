"""Acceptance test for the practical task `csv-summary` (45 minutes, mid): a task type made with
`make task-type NAME=csv_summary`.

Payload: {"csv": "<text with a header row>"}. Result: the number of data rows and, for every column whose
values are all numbers, their sum. A CSV without data rows, or with a row whose length differs from the
header's, fails the task (TaskFailed): retrying cannot help.
"""

import pytest

from taskflow.domain.errors import TaskFailed
from taskflow.task_types import TaskContext, get_task_type


def run(payload: dict) -> dict:
    kind = get_task_type("csv_summary")
    return kind.run(payload, TaskContext.standalone())


def test_rows_and_the_sums_of_numeric_columns():
    result = run({"csv": "name,qty,price\napple,2,1.5\npear,3,2.25\n"})
    assert result == {"rows": 2, "sums": {"qty": 5, "price": 3.75}}


def test_a_csv_without_data_rows_fails_the_task():
    with pytest.raises(TaskFailed):
        run({"csv": "name,qty\n"})


def test_a_ragged_row_fails_the_task():
    with pytest.raises(TaskFailed):
        run({"csv": "name,qty\napple,2\npear\n"})


def test_the_api_lists_the_type_and_refuses_a_payload_without_csv(client):
    listed = {t["name"]: t for t in client.get("/task-types").json()}
    assert listed["csv_summary"]["payload_schema"]["required"] == ["csv"]
    response = client.post("/tasks", json={"type": "csv_summary", "payload": {}})
    assert response.status_code == 422
