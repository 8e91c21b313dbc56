"""The small AWS calls, against moto's in-process SQS: queue provisioning and the relay's sender."""

import json

import boto3
import pytest
from moto import mock_aws

from devstack.queues import load_provision_script
from taskflow.services.outbox import OutgoingMessage
from taskflow.sqs import SqsSender


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
    failed = SqsSender(sqs, url).send_batch([OutgoingMessage(str(i), f"body-{i}", attributes) for i in range(10)])
    assert failed == {}
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])["Messages"]
    assert sorted(m["Body"] for m in received) == sorted(f"body-{i}" for i in range(10))
    assert {m["MessageAttributes"]["correlation_id"]["StringValue"] for m in received} == {"req-7"}
