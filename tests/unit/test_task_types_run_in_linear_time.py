"""Every task type's parsing runs in linear time: a hostile payload of 1,000,000 characters, built from the
characters its regular expressions care about (runs of punctuation, separators, letters, digits, and mixes of
them), takes well under a second of CPU. A backtracking pattern takes minutes to hours on such input.

CPU time, not wall time: a busy machine slows a test down but cannot make it use more CPU.
"""

import os
import time
from collections.abc import Callable
from contextlib import suppress

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from taskflow.task_types import TaskContext, all_task_types
from taskflow.task_types.invoice_fields import normalise_key, parse_amount, parse_date
from taskflow.task_types.word_stats import SENTENCE_END, WORD

SIZE = 1_000_000
CPU_SECONDS = 1.0
ALPHABETS = {
    "end marks": ".!?",
    "punctuation": ".,;:!?-'’\"()[]/\\#",
    "separators": " \t\n\r\u00a0\u2028",
    "letters": "aZéß",
    "digits": "0123456789",
    "amounts": "0123456789.,- $€£",
    "dates": "0123456789/.- ",
    "mixed": ".!? \ta-’'0,€/",
}
HOSTILE = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=bool(os.environ.get("CI")),
)


@st.composite
def hostile_text(draw) -> str:
    """A motif of a few characters from one alphabet, repeated to SIZE, then one character that may break a match."""
    alphabet = ALPHABETS[draw(st.sampled_from(sorted(ALPHABETS)))]
    motif = draw(st.text(alphabet, min_size=1, max_size=6))
    ending = draw(st.sampled_from(["", "x", ".", " ", "1"]))
    return (motif * (SIZE // len(motif) + 1))[: SIZE - len(ending)] + ending


def cpu_seconds(function: Callable[[], object]) -> float:
    """CPU time of one call. Any exception is as good an answer as a result: the consumer fails the task with it."""
    started = time.process_time()
    with suppress(Exception):
        function()
    return time.process_time() - started


def example_payload(kind) -> dict:
    """The type's payload from its fields' first examples (or defaults): what the dashboard's form starts from."""
    payload = {}
    for name, field in kind.payload_model.model_fields.items():
        if field.examples:
            payload[name] = field.examples[0]
        elif not field.is_required():
            payload[name] = field.get_default(call_default_factory=True)
    return payload


def strings_in(value: object) -> int:
    """How many strings `value` holds, dictionary keys included."""
    if isinstance(value, str):
        return 1
    if isinstance(value, dict):
        return sum(strings_in(k) + strings_in(v) for k, v in value.items())
    return sum(map(strings_in, value)) if isinstance(value, list) else 0


def with_string_replaced(value: object, index: int, text: str) -> object:
    """`value` with its `index`th string (counted as `strings_in` counts them) replaced by `text`."""
    if isinstance(value, str):
        return text if index == 0 else value
    if isinstance(value, dict):
        replaced = {}
        for key, item in value.items():
            replaced[with_string_replaced(key, index, text)] = with_string_replaced(item, index - 1, text)
            index -= 1 + strings_in(item)
        return replaced
    if isinstance(value, list):
        replaced = []
        for item in value:
            replaced.append(with_string_replaced(item, index, text))
            index -= strings_in(item)
        return replaced
    return value


# Always tried, whatever Hypothesis draws besides: the text that stalled the consumer, and two relatives.
STALLED = "." * (SIZE - 1) + "x"
MARKS = "!?" * (SIZE // 2 - 1) + "!x"
HYPHENS = "a-" * (SIZE // 2 - 1) + "-x"


# The package's types (a scaffolded one included), not those other test modules register for themselves.
PACKAGE_TYPES = [kind for kind in all_task_types() if kind.function.__module__.startswith("taskflow.task_types.")]


@pytest.mark.parametrize("kind", PACKAGE_TYPES, ids=lambda kind: kind.name)
@HOSTILE
@given(text=hostile_text(), which=st.integers(min_value=0, max_value=50))
@example(text=STALLED, which=0)
@example(text=MARKS, which=0)
@example(text=HYPHENS, which=0)
def test_every_task_type_runs_a_hostile_payload_in_linear_time(kind, text, which):
    payload = example_payload(kind)
    assert strings_in(payload), f"{kind.name}'s example payload has no string to attack"
    hostile = with_string_replaced(payload, which % strings_in(payload), text)
    assert cpu_seconds(lambda: kind.run(hostile, TaskContext.standalone())) < CPU_SECONDS


@pytest.mark.parametrize(
    "parse",
    [
        lambda text: WORD.findall(text),
        lambda text: SENTENCE_END.findall(text),
        normalise_key,
        parse_amount,
        lambda text: parse_date(text, "day_first"),
    ],
    ids=["WORD", "SENTENCE_END", "normalise_key", "parse_amount", "parse_date"],
)
@HOSTILE
@given(text=hostile_text())
@example(text=STALLED)
@example(text=MARKS)
@example(text=HYPHENS)
def test_every_parser_reads_a_hostile_text_in_linear_time(parse, text):
    assert cpu_seconds(lambda: parse(text)) < CPU_SECONDS


def test_the_pattern_that_stalled_the_consumer_is_quadratic_where_ours_is_not():
    import re

    stalled = re.compile(r"[.!?]+(?:\s|$)")  # word_stats' pattern until a task of 200,000 dots stalled the consumer
    text = "." * 5_000 + "x"  # a two-hundredth of the size above: a third of a second for the old one
    assert cpu_seconds(lambda: stalled.findall(text)) > 100 * cpu_seconds(lambda: SENTENCE_END.findall(text))
