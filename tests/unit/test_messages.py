import uuid

import pytest

from taskflow.domain.errors import MalformedMessage
from taskflow.domain.messages import TaskMessage


def test_a_message_survives_the_round_trip_through_its_body():
    message = TaskMessage(task_id=uuid.uuid4(), version=3, correlation_id="req-1")
    assert TaskMessage.from_body(message.to_body()) == message


def test_the_correlation_id_travels_as_a_message_attribute_too():
    message = TaskMessage(task_id=uuid.uuid4(), version=1, correlation_id="req-9")
    assert message.to_attributes() == {"correlation_id": {"DataType": "String", "StringValue": "req-9"}}


def test_the_body_is_a_claim_check_without_the_payload():
    message = TaskMessage(task_id=uuid.uuid4(), version=1, correlation_id="c", type="word_stats")
    assert set(TaskMessage.model_validate_json(message.to_body()).model_dump()) == {
        "task_id",
        "version",
        "correlation_id",
        "type",
    }


def test_a_message_from_before_the_type_was_carried_still_parses():
    task_id = uuid.uuid4()
    message = TaskMessage.from_body(f'{{"task_id": "{task_id}", "version": 2, "correlation_id": "old"}}')
    assert (message.task_id, message.type) == (task_id, None)


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "",
        "[]",
        '{"task_id": "not-a-uuid", "version": 1, "correlation_id": "c"}',
        '{"task_id": "2b1f3c9e-0f5e-4f5e-9b1a-1c2d3e4f5a6b", "correlation_id": "c"}',
        '{"task_id": "2b1f3c9e-0f5e-4f5e-9b1a-1c2d3e4f5a6b", "version": 1, "correlation_id": "c", "extra": 1}',
        # values the database cannot hold: refused here, not failed there like a crash
        '{"task_id": "2b1f3c9e-0f5e-4f5e-9b1a-1c2d3e4f5a6b", "version": 1, "correlation_id": "' + "c" * 201 + '"}',
        '{"task_id": "2b1f3c9e-0f5e-4f5e-9b1a-1c2d3e4f5a6b", "version": 99999999999999999999, "correlation_id": "c"}',
    ],
)
def test_anything_else_is_a_malformed_message(body):
    with pytest.raises(MalformedMessage):
        TaskMessage.from_body(body)
