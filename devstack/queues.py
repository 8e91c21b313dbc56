"""Provisioning the queues with the very script LocalStack runs at start-up in compose."""

import importlib.util
import json

import boto3

from devstack import ROOT

PROVISION_SCRIPT = ROOT / "localstack" / "init" / "ready.d" / "provision_queues.py"


def load_provision_script():
    """The provisioning script as a module (it lives outside any package, beside LocalStack's hooks)."""
    spec = importlib.util.spec_from_file_location("provision_queues", PROVISION_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def provision_queues(endpoint: str, region: str, queue_name: str | None = None) -> dict[str, str]:
    """Create the task queue and its dead-letter queue at `endpoint`; return {name: url}."""
    module = load_provision_script()
    client = boto3.client(
        "sqs", endpoint_url=endpoint, region_name=region, aws_access_key_id="test", aws_secret_access_key="test"
    )
    definitions = json.loads(module.DEFINITIONS.read_text())
    return module.provision(client, definitions, queue_name)
