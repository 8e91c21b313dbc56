import pytest

from esm.events import failed_message_ids, sqs_event

IDS = ["m1", "m2", "m3"]


def test_the_event_has_the_shape_aws_sends():
    received = {
        "MessageId": "m1",
        "ReceiptHandle": "rh",
        "Body": '{"a": 1}',
        "MD5OfBody": "abc",
        "Attributes": {"ApproximateReceiveCount": "2", "SentTimestamp": "1700000000000"},
        "MessageAttributes": {"correlation_id": {"DataType": "String", "StringValue": "req-1"}},
    }
    event = sqs_event([received], "arn:aws:sqs:eu-west-1:123:q", "eu-west-1")
    assert event == {
        "Records": [
            {
                "messageId": "m1",
                "receiptHandle": "rh",
                "body": '{"a": 1}',
                "attributes": {"ApproximateReceiveCount": "2", "SentTimestamp": "1700000000000"},
                "messageAttributes": {
                    "correlation_id": {
                        "stringValue": "req-1",
                        "binaryValue": None,
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": "String",
                    }
                },
                "md5OfBody": "abc",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-west-1:123:q",
                "awsRegion": "eu-west-1",
            }
        ]
    }


@pytest.mark.parametrize("response", [None, {}, {"batchItemFailures": []}, {"batchItemFailures": None}])
def test_no_reported_failures_means_every_record_succeeded(response):
    assert failed_message_ids(response, IDS) == set()


def test_reported_failures_are_the_failed_records():
    response = {"batchItemFailures": [{"itemIdentifier": "m2"}, {"itemIdentifier": "m3"}]}
    assert failed_message_ids(response, IDS) == {"m2", "m3"}


@pytest.mark.parametrize(
    "response",
    [
        "a string",
        ["m1"],
        {"batchItemFailures": "m1"},
        {"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]},
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        {"batchItemFailures": [{"id": "m1"}]},
        {"batchItemFailures": ["m1"]},
    ],
)
def test_a_malformed_response_fails_the_whole_batch(response):
    assert failed_message_ids(response, IDS) == set(IDS)
