"""Hidden check: the queue, as this tree provisions it, gives the consumer the time AWS advises, and the consumer
keeps the time its tasks have today (30 s an invocation)."""

from esm.config import MappingConfig
from esm.mapping import EventSourceMapping
from taskflow.settings import Settings


def test_the_event_source_mapping_accepts_the_queue_without_advising_against_it(sqs_client, queue, caplog):
    settings = Settings()
    config = MappingConfig(function_timeout_seconds=settings.function_timeout_seconds)
    EventSourceMapping(sqs_client, queue.url, lambda: None, config)  # the checks CreateEventSourceMapping makes
    assert not [r.getMessage() for r in caplog.records if r.name == "esm"], "the mapping warned about the queue"
    visibility = int(sqs_client.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["VisibilityTimeout"])[
        "Attributes"]["VisibilityTimeout"])  # fmt: skip
    assert visibility >= 6 * settings.function_timeout_seconds


def test_the_consumer_keeps_the_time_its_invocations_have():
    """Shrinking the function timeout until six times it fits under the queue's visibility timeout silences the
    advice, and interrupts every task that needs longer: the slow tasks fail instead of running twice."""
    assert Settings().function_timeout_seconds >= 30, "the consumer's function timeout was shortened"
