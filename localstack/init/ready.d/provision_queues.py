"""Create the task queue, the high-priority queue (NAME-high) and a dead-letter queue for each (NAME-dlq,
NAME-high-dlq), with redrive: the one definition of the queues.

LocalStack runs this file as a ready hook, in compose and in the embedded dev stack alike (the dev stack
points LocalStack's init directory here). The tests and the SAM template's test read QUEUES from it.
Standard library and boto3 only, because it runs inside LocalStack's own Python. Safe to run again:
CreateQueue is idempotent for equal attributes.

    python localstack/init/ready.d/provision_queues.py [--queue-name NAME] [--endpoint URL]
"""

import argparse
import json
import os

import boto3

# The function timeout is 30 s; AWS advises a visibility timeout of at least six times that.
QUEUES = {
    "name": "taskflow-tasks",
    "max_receive_count": 5,
    "visibility_timeout_seconds": 180,
    "message_retention_seconds": 345_600,
    "dead_letter_retention_seconds": 1_209_600,
    # Tasks of priority 7 and up go to NAME-high, read by consumers of its own (taskflow.domain.priority).
    "high_priority_suffix": "-high",
}


def sqs_client(endpoint: str, region: str | None = None):
    """A client for `endpoint`; region and credentials from the environment unless given (LocalStack's defaults)."""
    return boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name=region or os.environ.get("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1")),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
    )


def provision(client, queue_name: str | None = None, queues: dict = QUEUES) -> dict[str, str]:
    """Create both queues, each after its dead-letter queue; return {queue name: queue URL} for all four."""
    name = queue_name or queues["name"]
    urls: dict[str, str] = {}
    for each in (name, f"{name}{queues['high_priority_suffix']}"):
        urls |= provision_queue(client, each, queues)
    return urls


def provision_queue(client, name: str, queues: dict) -> dict[str, str]:
    """Create the dead-letter queue NAME-dlq, then the queue NAME redriving to it."""
    dlq_name = f"{name}-dlq"
    dlq_url = client.create_queue(
        QueueName=dlq_name, Attributes={"MessageRetentionPeriod": str(queues["dead_letter_retention_seconds"])}
    )["QueueUrl"]
    dlq_arn = client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(queues["max_receive_count"])}
    url = client.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": str(queues["visibility_timeout_seconds"]),
            "MessageRetentionPeriod": str(queues["message_retention_seconds"]),
            "RedrivePolicy": json.dumps(redrive),
        },
    )["QueueUrl"]
    return {name: url, dlq_name: dlq_url}


def provision_inside_localstack() -> None:
    """The ready hook: create QUEUE_NAME (default taskflow-tasks) on this LocalStack."""
    from localstack import config  # only importable inside LocalStack, which knows its own address

    for name, url in provision(sqs_client(config.internal_service_url()), os.environ.get("QUEUE_NAME")).items():
        print(f"queue ready: {name} {url}")


def main() -> None:
    parser = argparse.ArgumentParser(description="Create the task queues and their dead-letter queues.")
    parser.add_argument("--queue-name", default=os.environ.get("QUEUE_NAME"))
    parser.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL", "http://localhost:4566"))
    args = parser.parse_args()
    for name, url in provision(sqs_client(args.endpoint), args.queue_name).items():
        print(f"queue ready: {name} {url}")


# LocalStack runs ready hooks with exec() in an empty namespace, where __name__ falls through to "builtins".
if __name__ == "__main__":
    main()
elif __name__ == "builtins":
    provision_inside_localstack()
