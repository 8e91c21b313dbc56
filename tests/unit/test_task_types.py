import time

import pytest

from taskflow.domain.errors import InvalidTaskRequest, TaskFailed, UnknownTaskType
from taskflow.task_types import TaskContext, all_task_types, get_task_type


def run(name: str, payload: dict) -> dict:
    kind = get_task_type(name)
    return kind.run(payload, TaskContext.standalone())


def test_the_registry_finds_every_module_in_the_package():
    assert {"word_stats", "invoice_fields"} <= {t.name for t in all_task_types()}


def test_an_unknown_type_names_the_known_ones():
    with pytest.raises(UnknownTaskType) as caught:
        get_task_type("no_such_type")
    assert "word_stats" in caught.value.known and "invoice_fields" in str(caught.value)


def test_payload_errors_name_the_field():
    with pytest.raises(InvalidTaskRequest) as caught:
        get_task_type("word_stats").validate_payload({"text": "", "top": 0})
    assert {e["field"] for e in caught.value.errors} == {"text", "top"}


def test_word_stats_counts_words_sentences_and_frequencies():
    result = run("word_stats", {"text": "The cat sat. The cat ran! Did the dog?", "top": 2})
    assert result["words"] == 9
    assert result["unique_words"] == 6
    assert result["sentences"] == 3
    assert result["top_words"] == [{"word": "the", "count": 3}, {"word": "cat", "count": 2}]


def test_word_stats_keeps_apostrophes_and_ignores_numbers():
    result = run("word_stats", {"text": "It's 42 o'clock, it's late"})
    assert result["words"] == 4
    assert result["top_words"][0] == {"word": "it's", "count": 2}


def test_invoice_fields_maps_varied_ocr_keys_to_one_record():
    result = run(
        "invoice_fields",
        {
            "fields": {
                "Invoice No.": "INV-042",
                "Date of issue": "March 5, 2024",
                "Pay by": "2024-04-04",
                "Supplier": "ACME Ltd",
                "Sub Total": "$1,000.00",
                "VAT": "$200.00",
                "Total Due": "$1,200.00",
                "Reference": "PO-7",
            }
        },
    )
    assert result == {
        "invoice_number": "INV-042",
        "vendor": "ACME Ltd",
        "invoice_date": "2024-03-05",
        "due_date": "2024-04-04",
        "currency": "USD",
        "subtotal": "1000.00",
        "tax": "200.00",
        "total": "1200.00",
        "unmapped_fields": ["Reference"],
    }


@pytest.mark.parametrize(
    ("raw", "amount", "currency"),
    [
        ("1.234,56 €", "1234.56", "EUR"),
        ("EUR 1 234,50", "1234.50", "EUR"),
        ("£12", "12.00", "GBP"),
        ("1,234", "1234.00", None),
        ("99,5", "99.50", None),
    ],
)
def test_invoice_amounts_in_local_formats(raw, amount, currency):
    result = run("invoice_fields", {"fields": {"Invoice": "A1", "Date": "2024-01-02", "Total": raw}})
    assert (result["total"], result["currency"]) == (amount, currency)


def test_invoice_slash_dates_follow_the_declared_order():
    fields = {"Invoice": "A1", "Date": "03/04/2024", "Total": "10"}
    assert run("invoice_fields", {"fields": fields})["invoice_date"] == "2024-03-04"
    assert run("invoice_fields", {"fields": fields, "slash_dates": "day_first"})["invoice_date"] == "2024-04-03"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"Date": "2024-01-02", "Total": "10"}, "missing required fields: invoice_number"),
        ({"Invoice": "A", "Date": "2024-01-02", "Net": "10", "Tax": "2", "Total": "13"}, "does not equal total"),
        ({"Invoice": "A", "Date": "2024-01-02", "Net": "$10", "Total": "€10"}, "mixes currencies"),
        ({"Invoice": "A", "Date": "yesterday", "Total": "10"}, "cannot read a date"),
        ({"Invoice": "A", "Date": "2024-01-02", "Total": "ten"}, "cannot read an amount"),
        ({"Invoice": "A", "Date": "2024-02-01", "Due": "2024-01-01", "Total": "1"}, "before invoice date"),
    ],
)
def test_invoice_validation_fails_with_a_clear_reason(fields, message):
    with pytest.raises(TaskFailed, match=message):
        run("invoice_fields", {"fields": fields})


def test_a_report_takes_the_time_its_payload_asks_for():
    started = time.monotonic()
    result = run("report", {"title": "November", "seconds": 0.3})
    assert time.monotonic() - started >= 0.3 and result["title"] == "November" and result["rows"] >= 1


def test_a_report_may_not_outlast_its_time_budget():
    kind = get_task_type("report")
    with pytest.raises(InvalidTaskRequest):
        kind.validate_payload({"title": "x", "seconds": kind.time_budget_seconds})
