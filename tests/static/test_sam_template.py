"""deploy/template.yaml, translated from SAM to CloudFormation as AWS would, holds the invariants the system needs.

The linters check that each resource is well formed; these check that it is the system we run here: the
queues defined once, the event source mapping as our own mapping would accept it, least privilege.
"""

import json
import os
import subprocess

import pytest

from devstack.processes import migrate_command
from devstack.queues import load_provision_script
from esm.config import MappingConfig
from tests.static.conftest import NATIVE_COMMANDS, ROOT, SETTING_NAMES

TEMPLATE = ROOT / "deploy" / "template.yaml"
DEPLOY_PYTHON = ROOT / ".venv-deploy" / "bin" / "python"
# Network interfaces of a function in a VPC: these EC2 actions take no narrower resource than "*".
ENI_ACTIONS = {
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
}
ALLOWED_MANAGED_POLICIES = {"arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"}


def translate(template_text: str) -> dict:
    """The template as CloudFormation after the SAM transform (run in .venv-deploy)."""
    translated = subprocess.run(
        [str(DEPLOY_PYTHON), str(ROOT / "tests" / "static" / "translate_sam.py")],
        input=template_text,
        capture_output=True,
        text=True,
        env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"},
    )
    assert translated.returncode == 0, translated.stderr
    return json.loads(translated.stdout)


def of_type(resources: dict, kind: str) -> dict:
    return {name: r["Properties"] for name, r in resources.items() if r["Type"] == kind}


def violations(cloudformation: dict) -> list[str]:
    """Every way the translated template breaks what the system relies on."""
    resources = cloudformation["Resources"]
    found = []
    found += queue_violations(resources)
    found += mapping_violations(resources)
    found += function_violations(resources)
    found += iam_violations(resources)
    found += observability_violations(resources)
    return found


def queue_violations(resources: dict) -> list[str]:
    queues = load_provision_script().QUEUES
    queue = resources["TaskQueue"]["Properties"]
    redrive = queue.get("RedrivePolicy", {})
    found = []
    if redrive.get("deadLetterTargetArn") != {"Fn::GetAtt": ["TaskDeadLetterQueue", "Arn"]}:
        found.append("the task queue does not redrive to the dead-letter queue")
    if int(redrive.get("maxReceiveCount", 0)) < 5 or int(redrive["maxReceiveCount"]) != queues["max_receive_count"]:
        found.append("maxReceiveCount is below 5 or differs from the local queues")
    if int(queue["VisibilityTimeout"]) != queues["visibility_timeout_seconds"]:
        found.append("the visibility timeout differs from the local queues")
    if (
        int(resources["TaskDeadLetterQueue"]["Properties"]["MessageRetentionPeriod"])
        != queues["dead_letter_retention_seconds"]
    ):
        found.append("the dead-letter retention differs from the local queues")
    return found


def mapping_violations(resources: dict) -> list[str]:
    mappings = of_type(resources, "AWS::Lambda::EventSourceMapping")
    if len(mappings) != 1:
        return [f"expected one event source mapping, found {len(mappings)}"]
    (mapping,) = mappings.values()
    found = []
    if mapping["EventSourceArn"] != {"Fn::GetAtt": ["TaskQueue", "Arn"]}:
        found.append("the mapping does not read the task queue")
    if mapping.get("FunctionResponseTypes") != ["ReportBatchItemFailures"]:
        found.append("the mapping lacks FunctionResponseTypes: [ReportBatchItemFailures]")
    for required in ("BatchSize", "MaximumBatchingWindowInSeconds"):
        if required not in mapping:
            found.append(f"the mapping does not set {required}")
    if "MaximumConcurrency" not in mapping.get("ScalingConfig", {}):
        found.append("the mapping does not set ScalingConfig.MaximumConcurrency")
        return found
    # Our own mapping applies AWS's rules: the template's values must pass them without advice against.
    config = MappingConfig(
        batch_size=mapping.get("BatchSize", 10),
        maximum_batching_window_in_seconds=mapping.get("MaximumBatchingWindowInSeconds", 0),
        maximum_concurrency=mapping["ScalingConfig"]["MaximumConcurrency"],
        function_response_types=tuple(mapping.get("FunctionResponseTypes", ())),
        function_timeout_seconds=resources["ConsumerFunction"]["Properties"]["Timeout"],
    )
    visibility = str(resources["TaskQueue"]["Properties"]["VisibilityTimeout"])
    found += config.check({"VisibilityTimeout": visibility})  # advice: below six times the function timeout
    return found


def function_violations(resources: dict) -> list[str]:
    function = resources["ConsumerFunction"]["Properties"]
    found = []
    if function.get("PackageType") != "Image" or function["Code"] != {"ImageUri": {"Ref": "ConsumerImageUri"}}:
        found.append("the consumer is not the image from ECR")
    variables = function["Environment"]["Variables"]
    found += [f"the function sets {v}, which no setting reads" for v in set(variables) - SETTING_NAMES]
    if "DatabaseProxy.Endpoint" not in json.dumps(variables["DATABASE_URL"]) or "DATABASE_SECRET_ARN" not in variables:
        found.append("the function does not reach PostgreSQL through RDS Proxy with the secret's credentials")
    proxy = resources["DatabaseProxy"]["Properties"]
    if proxy["Auth"][0]["AuthScheme"] != "SECRETS" or not proxy.get("RequireTLS"):
        found.append("the proxy does not take its credentials from Secrets Manager over TLS")
    for name, task in of_type(resources, "AWS::ECS::TaskDefinition").items():
        (container,) = task["ContainerDefinitions"]
        if container["Command"] not in (NATIVE_COMMANDS["api"], NATIVE_COMMANDS["relay"]):
            found.append(f"{name} runs a command the native tests do not run")
        names = {variable["Name"] for variable in container["Environment"]}
        found += [f"{name} sets {variable}, which no setting reads" for variable in names - SETTING_NAMES]
    return found


def iam_violations(resources: dict) -> list[str]:
    found = []
    for name, role in of_type(resources, "AWS::IAM::Role").items():
        found += [f"{name} uses {arn}" for arn in set(role.get("ManagedPolicyArns", [])) - ALLOWED_MANAGED_POLICIES]
        for policy in role.get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                if any(a == "*" or a.endswith(":*") for a in actions):
                    found.append(f"{name} allows every action of a service: {actions}")
                if statement["Resource"] == "*" and not set(actions) <= ENI_ACTIONS:
                    found.append(f"{name} allows {actions} on every resource")
    return found


def observability_violations(resources: dict) -> list[str]:
    found = [
        f"{n} keeps logs forever"
        for n, g in of_type(resources, "AWS::Logs::LogGroup").items()
        if "RetentionInDays" not in g
    ]
    function = resources["ConsumerFunction"]["Properties"]
    if function.get("LoggingConfig", {}).get("LogGroup") != {"Ref": "ConsumerLogGroup"}:
        found.append("the function does not log to its log group with retention")
    alarms = {
        (a["MetricName"], json.dumps(a["Dimensions"])) for a in of_type(resources, "AWS::CloudWatch::Alarm").values()
    }
    # The relay drains the dead-letter queue into the database, receiving each letter once.
    dead_letter_arrivals = (
        "NumberOfMessagesReceived",
        '[{"Name": "QueueName", "Value": {"Fn::GetAtt": ["TaskDeadLetterQueue", "QueueName"]}}]',
    )
    oldest_message = (
        "ApproximateAgeOfOldestMessage",
        '[{"Name": "QueueName", "Value": {"Fn::GetAtt": ["TaskQueue", "QueueName"]}}]',
    )
    wanted = (dead_letter_arrivals, oldest_message)
    found += [f"no alarm on {metric}" for metric, dims in wanted if (metric, dims) not in alarms]
    return found


@pytest.fixture(scope="module")
def template_text() -> str:
    return TEMPLATE.read_text()


def test_the_template_holds_every_invariant(template_text):
    assert violations(translate(template_text)) == []


@pytest.mark.parametrize(
    ("mistake", "correct", "violation"),
    [
        (
            "FunctionResponseTypes: [ReportBatchItemFailures]",
            "FunctionResponseType: [ReportBatchItemFailures]",
            "FunctionResponseType",
        ),
        ("maxReceiveCount: 5", "maxReceiveCount: 3", "maxReceiveCount"),
        ("VisibilityTimeout: 180", "VisibilityTimeout: 60", "visibility"),
        ("MaximumConcurrency: 10", "MaximumConcurency: 10", "MaximumConcurrency"),
        ("Resource: !GetAtt TaskQueue.Arn", 'Resource: "*"', "every resource"),
        ("RetentionInDays: !Ref LogRetentionInDays", "KmsKeyId: !Ref AWS::NoValue", "forever"),
    ],
    ids=["response-types-typo", "few-receives", "short-visibility", "concurrency-typo", "wildcard", "no-retention"],
)
def test_each_invariant_catches_its_mistake(template_text, mistake, correct, violation):
    assert mistake in template_text
    broken = template_text.replace(mistake, correct, 1)
    try:
        found = violations(translate(broken))
    except AssertionError as refused:  # the translator itself refused the template: caught as well
        found = [str(refused)]
    assert any(violation.lower() in f.lower() for f in found), found


def test_the_guides_one_off_tasks_run_the_native_commands():
    guide = (ROOT / "docs" / "deploy-aws.md").read_text()
    assert f"run_once '{json.dumps(migrate_command('python'))}'" in guide
    assert f"--template-file {TEMPLATE.relative_to(ROOT)}" in guide
