"""The queues, defined once in the LocalStack ready hook that compose and the dev stack's LocalStack both run."""

import importlib.util

from devstack import ROOT

INIT_DIR = ROOT / "localstack" / "init"
PROVISION_SCRIPT = INIT_DIR / "ready.d" / "provision_queues.py"


def load_provision_script():
    """The provisioning script as a module (it lives outside any package, among LocalStack's hooks)."""
    spec = importlib.util.spec_from_file_location("provision_queues", PROVISION_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def provision_queues(endpoint: str, region: str, queue_name: str | None = None, **settings: int) -> dict[str, str]:
    """Create the task queue (QUEUES' name unless `queue_name`) and its dead-letter queue; return {name: url}.

    `settings` override QUEUES' values (visibility_timeout_seconds=12, say), applied as the queue is created.
    """
    module = load_provision_script()
    return module.provision(module.sqs_client(endpoint, region), queue_name, {**module.QUEUES, **settings})
