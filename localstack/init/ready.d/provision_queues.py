"""Create the task queues and their dead-letter queues (NAME-dlq), with redrive, from queues.json beside this file.

The one provisioning step for every local setup: LocalStack runs it as a ready hook in compose, and the
embedded dev stack and the tests run this same file. Standard library and boto3 only, because it also
runs inside LocalStack's own Python. Safe to run again: CreateQueue is idempotent for equal attributes.

    python localstack/init/ready.d/provision_queues.py [--queue-name NAME] [--definitions FILE]
"""

import argparse
import json
import os
from pathlib import Path

import boto3

DEFINITIONS = Path(__file__).resolve().with_name("queues.json")


def sqs_client():
    """A client for the endpoint in AWS_ENDPOINT_URL (LocalStack's own address when unset inside it)."""
    return boto3.client(
        "sqs",
        endpoint_url=os.environ.get("AWS_ENDPOINT_URL", "http://localhost:4566"),
        region_name=os.environ.get("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1")),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
    )


def provision(client, definitions: dict, queue_name: str | None = None) -> dict[str, str]:
    """Create each queue after its dead-letter queue; return {queue name: queue URL}."""
    urls = {}
    for queue in definitions["queues"]:
        name = queue_name or queue["name"]
        dlq_name = f"{name}-dlq"
        dlq_url = client.create_queue(
            QueueName=dlq_name,
            Attributes={"MessageRetentionPeriod": str(definitions["dead_letter_retention_seconds"])},
        )["QueueUrl"]
        dlq_arn = client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(queue["max_receive_count"])}
        urls[name] = client.create_queue(
            QueueName=name,
            Attributes={
                "VisibilityTimeout": str(queue["visibility_timeout_seconds"]),
                "MessageRetentionPeriod": str(queue["message_retention_seconds"]),
                "RedrivePolicy": json.dumps(redrive),
            },
        )["QueueUrl"]
        urls[dlq_name] = dlq_url
    return urls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queue-name", help="override the queue name (tests give each run its own)")
    parser.add_argument("--definitions", type=Path, default=DEFINITIONS)
    args = parser.parse_args()
    definitions = json.loads(args.definitions.read_text())
    for name, url in provision(sqs_client(), definitions, args.queue_name).items():
        print(f"queue ready: {name} {url}")


if __name__ == "__main__":
    main()
