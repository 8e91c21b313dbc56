"""The small AWS calls, against moto's in-process SQS: queue provisioning, the relay's sender, and the SQS
plumbing every process shares (taskflow.sqs)."""

import json

import boto3
import pytest
from moto import mock_aws

from devstack.queues import load_provision_script
from relay.sqs_sender import SqsSender
from taskflow.domain.priority import (
    HIGH_PRIORITY_FROM,
    HIGH_PRIORITY_QUEUE_SUFFIX,
    high_priority_queue_name,
    is_high_priority,
)
from taskflow.services.outbox import OutgoingMessage
from taskflow.sqs import (
    QueueCounts,
    QueueDepths,
    dead_letter_queue_url,
    delete_messages,
    in_batches,
    make_visible,
    queue_counts,
)


@pytest.fixture
def sqs():
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


def test_provisioning_creates_the_queue_with_its_dead_letter_queue_and_is_repeatable(sqs):
    provision = load_provision_script()
    first = provision.provision(sqs, "orders")
    assert provision.provision(sqs, "orders") == first
    attributes = sqs.get_queue_attributes(QueueUrl=first["orders"], AttributeNames=["All"])["Attributes"]
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith(":orders-dlq")
    assert int(redrive["maxReceiveCount"]) >= 5
    assert int(attributes["VisibilityTimeout"]) >= 6 * 30, "at least six times the function timeout, as AWS advises"


def test_the_sender_sends_bodies_and_the_correlation_attribute(sqs):
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    attributes = {"correlation_id": {"DataType": "String", "StringValue": "req-7"}}
    failed = SqsSender(sqs, url).send([OutgoingMessage(str(i), f"body-{i}", attributes) for i in range(25)])
    assert failed == {}
    received = receive_all(sqs, url)
    assert sorted(m["Body"] for m in received) == sorted(f"body-{i}" for i in range(25)), "25: three batches"
    assert {m["MessageAttributes"]["correlation_id"]["StringValue"] for m in received} == {"req-7"}


def receive_all(sqs, url: str, visibility: int = 30) -> list[dict]:
    messages = []
    while batch := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=visibility, MessageAttributeNames=["All"]
    ).get("Messages"):
        messages.extend(batch)
    return messages


def test_the_sender_puts_high_priority_messages_on_their_own_queue(sqs):
    urls = load_provision_script().provision(sqs, "orders")
    messages = [OutgoingMessage(str(i), f"body-{i}", {}, high_priority=i % 4 == 0) for i in range(23)]
    assert SqsSender(sqs, urls["orders"], urls["orders-high"]).send(messages) == {}
    assert sorted(m["Body"] for m in receive_all(sqs, urls["orders-high"])) == sorted(
        f"body-{i}" for i in range(0, 23, 4)
    )
    assert len(receive_all(sqs, urls["orders"])) == 23 - 6


def test_the_high_priority_queue_is_provisioned_under_the_name_the_processes_derive(sqs):
    module = load_provision_script()
    urls = module.provision(sqs, "orders")
    assert module.QUEUES["high_priority_suffix"] == HIGH_PRIORITY_QUEUE_SUFFIX
    high = high_priority_queue_name("orders")
    assert set(urls) == {"orders", "orders-dlq", high, f"{high}-dlq"}
    assert dead_letter_queue_url(sqs, urls[high]) == urls[f"{high}-dlq"]
    assert [is_high_priority(p) for p in range(10)] == [False] * HIGH_PRIORITY_FROM + [True] * (10 - HIGH_PRIORITY_FROM)


def test_in_batches_slices_into_tens_keeping_the_order():
    assert [list(batch) for batch in in_batches(range(23))] == [list(range(10)), list(range(10, 20)), [20, 21, 22]]
    assert list(in_batches([])) == []


def test_the_dead_letter_queue_is_the_one_the_redrive_policy_names(sqs):
    urls = load_provision_script().provision(sqs, "orders")
    assert dead_letter_queue_url(sqs, urls["orders"]) == urls["orders-dlq"]


def test_deleting_and_releasing_go_ten_at_a_time_and_report_what_failed(sqs):
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    for i in range(23):
        sqs.send_message(QueueUrl=url, MessageBody=str(i))
    received = receive_all(sqs, url)
    handles = [m["ReceiptHandle"] for m in received]
    assert queue_counts(sqs, url).in_flight == 23
    assert make_visible(sqs, url, handles[:12]) == []
    assert queue_counts(sqs, url).visible == 12
    assert delete_messages(sqs, url, handles[12:]) == []
    assert len(delete_messages(sqs, url, ["not-a-receipt-handle"])) == 1
    assert queue_counts(sqs, url) == QueueCounts(visible=12, in_flight=0, delayed=0)


def test_queue_depths_are_read_once_per_period(sqs):
    urls = load_provision_script().provision(sqs, "orders")
    readings = []
    depths = QueueDepths(sqs, "orders", seconds=3600)
    readings.append(depths.read())
    sqs.send_message(QueueUrl=urls["orders"], MessageBody="new")
    readings.append(depths.read())
    assert readings[0] == readings[1], "within the period, the first reading stands"
    assert depths.names == {"queue": "orders", "dead_letter_queue": "orders-dlq", "high_priority_queue": "orders-high",
                            "high_priority_dead_letter_queue": "orders-high-dlq"}  # fmt: skip
    assert QueueDepths(sqs, "orders", seconds=0).read()["queue"].visible == 1
