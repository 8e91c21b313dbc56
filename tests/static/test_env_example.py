""".env.example lists every setting with its default, and nothing that no setting reads."""

import json
from datetime import timedelta

from pydantic import TypeAdapter

from tests.static.conftest import ROOT, SETTING_FIELDS, SETTINGS


def example_variables() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def as_env_value(default: object) -> str:
    if default is None:
        return ""
    if isinstance(default, timedelta):
        return TypeAdapter(timedelta).dump_python(default, mode="json")  # ISO 8601: P1D
    return json.dumps(default) if isinstance(default, list) else str(default)


def test_every_setting_is_listed_with_its_default():
    listed = example_variables()
    settings = {name.upper(): as_env_value(field.default) for name, field in SETTING_FIELDS.items()}
    assert listed == settings


def test_the_example_file_loads_as_the_default_settings(tmp_path, monkeypatch):
    for name in SETTING_FIELDS:
        monkeypatch.delenv(name.upper(), raising=False)
    example = example_variables()
    for kind in SETTINGS:  # a field one process requires (the operator's DATABASE_URL) is given as the example has it
        required = {name: example[name.upper()] for name, field in kind.model_fields.items() if field.is_required()}
        assert kind(_env_file=ROOT / ".env.example") == kind(_env_file=None, **required)
