"""Building the SQS event a Lambda receives, in the exact shape AWS sends it."""

import hashlib


def _attribute(value: dict) -> dict:
    # Lambda's event spells message attributes in camelCase, unlike the SQS API's PascalCase.
    return {
        "stringValue": value.get("StringValue"),
        "binaryValue": value.get("BinaryValue"),
        "stringListValues": value.get("StringListValues", []),
        "binaryListValues": value.get("BinaryListValues", []),
        "dataType": value["DataType"],
    }


def sqs_record(message: dict, queue_arn: str, region: str) -> dict:
    """One event record from one ReceiveMessage result entry (received with all attributes)."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {name: _attribute(v) for name, v in message.get("MessageAttributes", {}).items()},
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def sqs_event(messages: list[dict], queue_arn: str, region: str) -> dict:
    """The event for one invocation: {"Records": [...]} in receive order."""
    return {"Records": [sqs_record(m, queue_arn, region) for m in messages]}


def failed_message_ids(response: object, message_ids: list[str]) -> set[str]:
    """Which messages the function reported as failed, by AWS's partial batch response rules.

    No response, or an empty or null list, means every record succeeded. A malformed response, or an item
    identifier that is empty or not in the batch, fails the whole batch.
    """
    every_message = set(message_ids)
    if response is None:
        return set()
    if not isinstance(response, dict):
        return every_message
    failures = response.get("batchItemFailures")
    if not failures:
        return set()
    if not isinstance(failures, list):
        return every_message
    reported = {item.get("itemIdentifier") if isinstance(item, dict) else None for item in failures}
    if not reported <= every_message:
        return every_message
    return reported


def keep_group_order(messages: list[dict], failed: set[str]) -> set[str]:
    """FIFO queues: once a message of a group failed, every later message of that group in the batch fails too.

    Deleting them would let them overtake the failed one, which SQS redelivers first.
    """
    failed = set(failed)
    broken_groups = set()
    for message in messages:
        group = message.get("Attributes", {}).get("MessageGroupId")
        if message["MessageId"] in failed:
            broken_groups.add(group)
        elif group in broken_groups:
            failed.add(message["MessageId"])
    return failed
