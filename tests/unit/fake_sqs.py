"""An in-memory stand-in for the few SQS calls the event source mapping makes."""

import itertools


class FakeSqs:
    """Messages are (id, body); received ones are in flight until deleted; `requeue_in_flight` redelivers them."""

    def __init__(
        self, receive_sizes: list[int] | None = None, fifo: bool = False, visibility_timeout: int = 180
    ) -> None:
        self.fifo = fifo
        self.visibility_timeout = visibility_timeout
        self.visible: list[dict] = []
        self.in_flight: dict[str, dict] = {}
        self.deleted: list[str] = []
        self.receive_calls: list[dict] = []
        self._receipts = itertools.count()
        self._receive_sizes = list(receive_sizes or [])

    def send(self, message_id: str, body: str = "{}", group: str | None = None) -> None:
        attributes = {"ApproximateReceiveCount": "1"} | ({"MessageGroupId": group} if group else {})
        self.visible.append(
            {
                "MessageId": message_id,
                "Body": body,
                "Attributes": attributes,
                "MessageAttributes": {"correlation_id": {"DataType": "String", "StringValue": "c"}},
            }
        )

    def get_queue_attributes(self, QueueUrl, AttributeNames):
        name = "tasks.fifo" if self.fifo else "tasks"
        attributes = {"QueueArn": f"arn:aws:sqs:eu-west-1:000000000000:{name}"}
        attributes["VisibilityTimeout"] = str(self.visibility_timeout)
        return {"Attributes": attributes | ({"FifoQueue": "true"} if self.fifo else {})}

    def receive_message(self, QueueUrl, MaxNumberOfMessages, WaitTimeSeconds, **_):
        self.receive_calls.append({"max": MaxNumberOfMessages, "wait": WaitTimeSeconds})
        limit = min(MaxNumberOfMessages, self._receive_sizes.pop(0) if self._receive_sizes else MaxNumberOfMessages)
        taken, self.visible = self.visible[:limit], self.visible[limit:]
        received = []
        for message in taken:
            handle = f"rh-{next(self._receipts)}"
            self.in_flight[handle] = message
            received.append({**message, "ReceiptHandle": handle})
        return {"Messages": received} if received else {}

    def delete_message_batch(self, QueueUrl, Entries):
        assert len(Entries) <= 10, "SQS refuses more than ten entries per batch"
        for entry in Entries:
            self.deleted.append(self.in_flight.pop(entry["ReceiptHandle"])["MessageId"])
        return {"Successful": [{"Id": e["Id"]} for e in Entries]}

    def requeue_in_flight(self) -> None:
        self.visible.extend(self.in_flight.values())
        self.in_flight.clear()
