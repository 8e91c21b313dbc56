"""Example task type `invoice_fields`: normalise the key/value pairs an OCR engine read off an invoice.

OCR output names the same field many ways ("Invoice No.", "inv #", "Rechnungsnummer") and writes amounts
and dates in local formats. This maps them to one record with Decimal amounts and ISO dates, and fails
with a clear message when the invoice does not add up.
"""

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from pydantic import BaseModel, Field

from taskflow.domain.errors import TaskFailed
from taskflow.task_types import TaskContext, task_type

FIELD_ALIASES = {
    "invoice_number": ["invoice number", "invoice no", "invoice", "inv no", "inv", "number", "rechnungsnummer"],
    "invoice_date": ["invoice date", "date", "issued", "date of issue", "rechnungsdatum"],
    "due_date": ["due date", "payment due", "due", "pay by", "fällig"],
    "vendor": ["vendor", "supplier", "seller", "from", "company", "lieferant"],
    "currency": ["currency", "curr", "währung"],
    "subtotal": ["subtotal", "sub total", "net", "net amount", "amount before tax", "netto"],
    "tax": ["tax", "vat", "gst", "sales tax", "tax amount", "mwst"],
    "total": ["total", "total due", "amount due", "grand total", "balance due", "gesamt"],
}
REQUIRED = ("invoice_number", "invoice_date", "total")
AMOUNTS = ("subtotal", "tax", "total")
CURRENCY_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}
DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d %B %Y", "%d %b %Y", "%B %d, %Y", "%b %d, %Y", "%Y/%m/%d")
CENT = Decimal("0.01")


class InvoiceFieldsPayload(BaseModel):
    """Raw OCR key/value pairs and how to read ambiguous dates like 03/04/2024."""

    fields: dict[str, str] = Field(
        min_length=1,
        examples=[
            {
                "Invoice No.": "INV-042",
                "Date": "2024-03-05",
                "Subtotal": "$1,000.00",
                "VAT": "$200.00",
                "Total Due": "$1,200.00",
                "Supplier": "ACME Ltd",
            }
        ],
    )
    slash_dates: str = Field(default="month_first", pattern="^(month_first|day_first)$")


def normalise_key(raw: str) -> str | None:
    """The canonical field name for an OCR key, or None when it is not one we know."""
    key = re.sub(r"[^\w\s]", " ", raw.lower())
    key = re.sub(r"\s+", " ", key).strip()
    for canonical, aliases in FIELD_ALIASES.items():
        if key == canonical.replace("_", " ") or key in aliases:
            return canonical
    return None


def parse_amount(raw: str) -> tuple[Decimal, str | None]:
    """An amount such as '$1,234.56', '1.234,56 €' or 'EUR 1 234,56' as (Decimal, currency code or None)."""
    currency = next((code for symbol, code in CURRENCY_SYMBOLS.items() if symbol in raw), None)
    code = re.search(r"\b([A-Z]{3})\b", raw)
    currency = currency or (code.group(1) if code else None)
    digits = re.sub(r"[^\d.,-]", "", raw)
    if "," in digits and "." in digits:
        # whichever separator comes last is the decimal point
        thousands = "," if digits.rfind(",") < digits.rfind(".") else "."
        digits = digits.replace(thousands, "").replace(",", ".")
    elif "," in digits:
        whole, _, fraction = digits.rpartition(",")
        digits = f"{whole.replace(',', '')}.{fraction}" if len(fraction) != 3 else digits.replace(",", "")
    try:
        return Decimal(digits).quantize(CENT), currency
    except InvalidOperation:
        raise TaskFailed(f"cannot read an amount from {raw!r}") from None


def parse_date(raw: str, slash_dates: str) -> date:
    """A date in any common invoice format; slashes are read month-first or day-first as asked."""
    text = raw.strip()
    slash_format = "%m/%d/%Y" if slash_dates == "month_first" else "%d/%m/%Y"
    for fmt in (*DATE_FORMATS, slash_format):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise TaskFailed(f"cannot read a date from {raw!r}")


@task_type("invoice_fields", InvoiceFieldsPayload, time_budget_seconds=1.0)
def invoice_fields(payload: InvoiceFieldsPayload, context: TaskContext) -> dict:
    """Map OCR invoice fields to a normalised record with Decimal amounts and ISO dates."""
    found: dict[str, str] = {}
    unmapped = []
    for raw_key, value in payload.fields.items():
        canonical = normalise_key(raw_key)
        if canonical and canonical not in found:
            found[canonical] = value.strip()
        else:
            unmapped.append(raw_key)
    missing = [name for name in REQUIRED if not found.get(name)]
    if missing:
        raise TaskFailed(f"invoice is missing required fields: {', '.join(missing)}")

    amounts, currencies = {}, set()
    for name in AMOUNTS:
        if name in found:
            amounts[name], currency = parse_amount(found[name])
            if currency:
                currencies.add(currency)
    if "currency" in found:
        currencies.add(found["currency"].upper())
    if len(currencies) > 1:
        raise TaskFailed(f"invoice mixes currencies: {', '.join(sorted(currencies))}")
    if "subtotal" in amounts and "tax" in amounts and amounts["subtotal"] + amounts["tax"] != amounts["total"]:
        raise TaskFailed(
            f"subtotal {amounts['subtotal']} + tax {amounts['tax']} does not equal total {amounts['total']}"
        )

    invoice_date = parse_date(found["invoice_date"], payload.slash_dates)
    due_date = parse_date(found["due_date"], payload.slash_dates) if "due_date" in found else None
    if due_date and due_date < invoice_date:
        raise TaskFailed(f"due date {due_date} is before invoice date {invoice_date}")
    return {
        "invoice_number": found["invoice_number"],
        "vendor": found.get("vendor"),
        "invoice_date": invoice_date.isoformat(),
        "due_date": due_date.isoformat() if due_date else None,
        "currency": currencies.pop() if currencies else None,
        **{name: str(value) for name, value in amounts.items()},
        "unmapped_fields": unmapped,
    }
