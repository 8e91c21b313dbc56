"""The queues come from LocalStack's own ready hook, the script compose mounts into its LocalStack container."""

import json
import os

import httpx
import pytest

from devstack.queues import load_provision_script

pytestmark = pytest.mark.integration


@pytest.mark.skipif(bool(os.environ.get("AWS_ENDPOINT_URL")), reason="an endpoint we did not start runs no hooks")
def test_localstack_ran_the_provisioning_hook_and_made_the_queue_with_its_dead_letter_queue(sqs_endpoint, sqs_client):
    ready = httpx.get(f"{sqs_endpoint}/_localstack/init/ready").json()
    assert ready["completed"] is True
    assert {"name": "provision_queues.py", "stage": "READY", "state": "SUCCESSFUL"} in ready["scripts"]

    queues = load_provision_script().QUEUES
    url = sqs_client.get_queue_url(QueueName=queues["name"])["QueueUrl"]
    attributes = sqs_client.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith(f":{queues['name']}-dlq")
    assert int(redrive["maxReceiveCount"]) == queues["max_receive_count"]
    assert int(attributes["VisibilityTimeout"]) == queues["visibility_timeout_seconds"]
