"""The ceiling: how fast this SQS endpoint moves messages with no database and no handler in the way."""

import threading
import time

import boto3


def raw_sqs_rate(endpoint: str, region: str, queue_url: str, messages: int) -> float:
    """Messages per second through SendMessageBatch, then ReceiveMessage + DeleteMessageBatch, run concurrently."""
    sender = boto3.client("sqs", endpoint_url=endpoint, region_name=region)
    receiver = boto3.client("sqs", endpoint_url=endpoint, region_name=region)
    body = '{"task_id": "00000000-0000-0000-0000-000000000000", "version": 1, "correlation_id": "bench"}'

    def send() -> None:
        for _ in range(0, messages, 10):
            sender.send_message_batch(
                QueueUrl=queue_url, Entries=[{"Id": str(i), "MessageBody": body} for i in range(10)]
            )

    started = time.perf_counter()
    thread = threading.Thread(target=send)
    thread.start()
    received = 0
    while received < messages:
        batch = receiver.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        )
        if batch:
            receiver.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
            )
        received += len(batch)
    thread.join()
    return messages / (time.perf_counter() - started)
