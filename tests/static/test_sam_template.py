"""deploy/template.yaml, translated from SAM to CloudFormation as AWS would, holds the invariants the system needs.

The linters check that each resource is well formed; these check that it is the system we run here: the
queues defined once, the event source mapping as our own mapping would accept it, least privilege.
"""

import json
import os
import re
import subprocess

import pytest

from devstack.processes import migrate_command
from devstack.queues import load_provision_script
from esm.config import MappingConfig
from tests.static.conftest import NATIVE_COMMANDS, ROOT, SETTING_NAMES, dockerfile

TEMPLATE = ROOT / "deploy" / "template.yaml"
DEPLOY_PYTHON = ROOT / ".venv-deploy" / "bin" / "python"
# Network interfaces of a function in a VPC: these EC2 actions take no narrower resource than "*".
ENI_ACTIONS = {
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
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
    found += https_violations(resources)
    found += login_violations(resources)
    found += database_tls_violations(resources)
    found += process_role_violations(resources)
    found += deployment_violations(resources)
    found += first_key_violations(resources)
    return found


def first_key_violations(resources: dict) -> list[str]:
    """The guide's first API key goes to a secret of its own, which only the migration task may write."""
    if "FirstApiKeySecret" not in resources:
        return ["no secret for the first API key: it would be printed to the task's logs"]
    writable = {json.dumps({"Ref": "FirstApiKeySecret"})}
    found = []
    for role in of_type(resources, "AWS::IAM::Role"):
        for target in allowed_actions(resources, role).get("secretsmanager:PutSecretValue", set()):
            if role != "MigrateTaskRole" or target not in writable:
                found.append(f"{role} may overwrite the secret {target}")
    return found


def deployment_violations(resources: dict) -> list[str]:
    """What makes a deploy stall or collide: services without a circuit breaker, endpoints that cannot be left
    out, a proxy that cannot reach its secret, a function that lacks what AWS's VPC-access policy grants."""
    found = []
    for name, service in of_type(resources, "AWS::ECS::Service").items():
        breaker = service.get("DeploymentConfiguration", {}).get("DeploymentCircuitBreaker", {})
        if breaker != {"Enable": True, "Rollback": True}:
            found.append(f"{name} has no deployment circuit breaker with rollback")
    for name in of_type(resources, "AWS::EC2::VPCEndpoint"):
        if resources[name].get("Condition") != "MakeVpcEndpoints":
            found.append(f"{name} cannot be left out of a VPC that already has one (CreateVpcEndpoints)")
    admitted = [rule.get("SourceSecurityGroupId") for rule in
                resources.get("EndpointSecurityGroup", {}).get("Properties", {}).get("SecurityGroupIngress", [])]
    if {"Ref": "ProxySecurityGroup"} not in admitted:
        found.append("the endpoints do not admit RDS Proxy, which reads the consumer's secret")
    anywhere = {action for action, targets in allowed_actions(resources, "ConsumerRole").items() if '"*"' in targets}
    if missing := ENI_ACTIONS - anywhere:
        found.append(f"the consumer lacks the VPC-access actions {sorted(missing)}")
    return found


QUEUE_PAIRS = {"TaskQueue": "TaskDeadLetterQueue", "HighPriorityQueue": "HighPriorityDeadLetterQueue"}


def queue_violations(resources: dict) -> list[str]:
    """Both task queues as the local queues are provisioned: same settings, each redriving to its own DLQ, the
    high-priority one named after the task queue as the processes derive its name."""
    queues = load_provision_script().QUEUES
    found = []
    for name, dead_letters in QUEUE_PAIRS.items():
        if name not in resources:
            found.append(f"no {name}")
            continue
        queue = resources[name]["Properties"]
        redrive = queue.get("RedrivePolicy", {})
        if redrive.get("deadLetterTargetArn") != {"Fn::GetAtt": [dead_letters, "Arn"]}:
            found.append(f"{name} does not redrive to {dead_letters}")
        if int(redrive.get("maxReceiveCount", 0)) < 5 or int(redrive["maxReceiveCount"]) != queues["max_receive_count"]:
            found.append(f"{name}'s maxReceiveCount is below 5 or differs from the local queues")
        if int(queue["VisibilityTimeout"]) != queues["visibility_timeout_seconds"]:
            found.append(f"{name}'s visibility timeout differs from the local queues")
        retention = resources[dead_letters]["Properties"]["MessageRetentionPeriod"]
        if int(retention) != queues["dead_letter_retention_seconds"]:
            found.append(f"{dead_letters}'s retention differs from the local queues")
    names = [json.dumps(resources[q]["Properties"].get("QueueName")) for q in QUEUE_PAIRS if q in resources]
    if len(names) == 2 and names[1] != names[0].replace("-tasks", "-tasks" + queues["high_priority_suffix"]):
        found.append("the high-priority queue is not named after the task queue")
    return found


def mapping_violations(resources: dict) -> list[str]:
    """One event source mapping per task queue, each as our own mapping would accept it."""
    mappings = of_type(resources, "AWS::Lambda::EventSourceMapping")
    by_queue = {json.dumps(m["EventSourceArn"]): m for m in mappings.values()}
    expected = {json.dumps({"Fn::GetAtt": [queue, "Arn"]}): queue for queue in QUEUE_PAIRS}
    if len(mappings) != 2 or set(by_queue) != set(expected):
        return [f"expected a mapping for each of {sorted(QUEUE_PAIRS)}, found {sorted(by_queue)}"]
    found = []
    for arn, mapping in by_queue.items():
        found += [f"{expected[arn]}'s {problem}" for problem in one_mapping_violations(resources, mapping)]
    return found


def one_mapping_violations(resources: dict, mapping: dict) -> list[str]:
    found = []
    if mapping.get("FunctionResponseTypes") != ["ReportBatchItemFailures"]:
        found.append("mapping lacks FunctionResponseTypes: [ReportBatchItemFailures]")
    for required in ("BatchSize", "MaximumBatchingWindowInSeconds"):
        if required not in mapping:
            found.append(f"mapping does not set {required}")
    if "MaximumConcurrency" not in mapping.get("ScalingConfig", {}):
        found.append("mapping does not set ScalingConfig.MaximumConcurrency")
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
        if container["Command"] not in (NATIVE_COMMANDS["api"], NATIVE_COMMANDS["relay"], migrate_command("python")):
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


# TLS 1.2 and 1.3 with forward-secret ciphers only (the ELB policies AWS recommends today).
MODERN_TLS_POLICIES = {"ELBSecurityPolicy-TLS13-1-2-2021-06", "ELBSecurityPolicy-TLS13-1-3-2021-06"}
# Each process's own login (its secret) and its task role; the master user's secret is the migration's alone.
PROCESS_SECRETS = {
    "ApiTaskDefinition": "ApiDatabaseSecret",
    "RelayTaskDefinition": "RelayDatabaseSecret",
    "ConsumerFunction": "ConsumerDatabaseSecret",
}
MASTER_SECRET = {"Fn::GetAtt": ["Database", "MasterUserSecret.SecretArn"]}
SQS_WRITES = {"sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:StartMessageMoveTask"}


def https_violations(resources: dict) -> list[str]:
    """The load balancer serves HTTPS with the given certificate and a modern policy; HTTP only redirects."""
    found = []
    listeners = of_type(resources, "AWS::ElasticLoadBalancingV2::Listener").values()
    https = [listener for listener in listeners if listener["Protocol"] == "HTTPS"]
    certificate = [{"CertificateArn": {"Ref": "CertificateArn"}}]
    if not https or any(listener.get("Certificates") != certificate for listener in https):
        found.append("no HTTPS listener with the CertificateArn parameter's certificate")
    policies = {listener.get("SslPolicy") for listener in https}
    found += [f"weak TLS policy {policy}" for policy in policies - MODERN_TLS_POLICIES]
    for listener in listeners:
        if listener["Protocol"] == "HTTP" and any(
            action["Type"] != "redirect" or action["RedirectConfig"]["Protocol"] != "HTTPS"
            for action in listener["DefaultActions"]
        ):
            found.append("a plain-HTTP listener does more than redirect to HTTPS: keys would cross in clear")
    return found


def environment(resources: dict, name: str) -> dict:
    """The environment variables of a task definition's container, or of the function."""
    properties = resources[name]["Properties"]
    if name == "ConsumerFunction":
        return properties["Environment"]["Variables"]
    (container,) = properties["ContainerDefinitions"]
    return {variable["Name"]: variable["Value"] for variable in container["Environment"]}


def login_violations(resources: dict) -> list[str]:
    """Each process logs in with its own secret; the master secret serves the migration only; the proxy takes
    the consumer's."""
    found = []
    for name, secret in PROCESS_SECRETS.items():
        if environment(resources, name).get("DATABASE_SECRET_ARN") != {"Ref": secret}:
            found.append(f"{name} does not log in with its own secret {secret}")
    if resources["DatabaseProxy"]["Properties"]["Auth"][0]["SecretArn"] != {"Ref": "ConsumerDatabaseSecret"}:
        found.append("the proxy does not take the consumer's secret")
    uses_master = {
        name
        for name, resource in resources.items()
        if json.dumps(MASTER_SECRET) in json.dumps(resource.get("Properties", {})) and name != "Database"
    }
    if uses_master - {"MigrateTaskDefinition", "MigrateTaskRole"}:
        found.append(f"the master user's secret is used beyond the migration: {sorted(uses_master)}")
    return found


def database_tls_violations(resources: dict) -> list[str]:
    """Every connection verifies the server, against the RDS authorities both images ship."""
    shipped = {
        value.split()[1] for path in ("api/Dockerfile", "lambda/Dockerfile") for instruction, value in dockerfile(path)
        if instruction == "COPY" and value.split()[0] == "deploy/rds-ca/bundle.pem"
    }  # fmt: skip
    if len(shipped) != 1:
        return [f"the images do not ship the RDS authorities at one path: {shipped}"]
    (path,) = shipped
    found = []
    for name in [*PROCESS_SECRETS, "MigrateTaskDefinition"]:
        url = json.dumps(environment(resources, name)["DATABASE_URL"])
        if "sslmode=verify-full" not in url or f"sslrootcert={path}" not in url:
            found.append(f"{name} does not verify the database server (sslmode=verify-full, sslrootcert={path})")
    return found


def allowed_actions(resources: dict, role: str) -> dict[str, set[str]]:
    """{action: resources (as JSON)} that a role allows."""
    allowed: dict[str, set[str]] = {}
    for policy in resources[role]["Properties"].get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for action in actions:
                allowed.setdefault(action, set()).update(json.dumps(t) for t in targets)
    return allowed


def process_role_violations(resources: dict) -> list[str]:
    """The API and the relay have task roles of their own: the API reads queue depths and sends nothing; only
    the relay may take messages off the dead-letter queue; nobody moves them in bulk."""
    api, relay = (resources[name]["Properties"]["TaskRoleArn"] for name in ("ApiTaskDefinition", "RelayTaskDefinition"))
    if api == relay:
        return ["the API and the relay share a task role"]
    api_role, relay_role = api["Fn::GetAtt"][0], relay["Fn::GetAtt"][0]
    found = [f"the API may {a}" for a in SQS_WRITES & set(allowed_actions(resources, api_role))]
    dead_letter_queue = json.dumps({"Fn::GetAtt": ["TaskDeadLetterQueue", "Arn"]})
    for role in of_type(resources, "AWS::IAM::Role"):
        allowed = allowed_actions(resources, role)
        if "sqs:StartMessageMoveTask" in allowed:
            found.append(f"{role} may move messages in bulk")
        if role != relay_role and dead_letter_queue in allowed.get("sqs:DeleteMessage", set()):
            found.append(f"{role} may delete dead letters")
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
        ("Resource: [!GetAtt TaskQueue.Arn, !GetAtt HighPriorityQueue.Arn]", 'Resource: "*"', "every resource"),
        ("RetentionInDays: !Ref LogRetentionInDays", "KmsKeyId: !Ref AWS::NoValue", "forever"),
        ("SslPolicy: ELBSecurityPolicy-TLS13-1-2-2021-06", "SslPolicy: ELBSecurityPolicy-2016-08", "weak TLS"),
        (
            "- Type: redirect\n          RedirectConfig: {Protocol: HTTPS, Port: \"443\", StatusCode: HTTP_301}",
            "- {Type: forward, TargetGroupArn: !Ref ApiTargetGroup}",
            "in clear",
        ),
        (
            "{Name: DATABASE_SECRET_ARN, Value: !Ref ApiDatabaseSecret}",
            "{Name: DATABASE_SECRET_ARN, Value: !GetAtt Database.MasterUserSecret.SecretArn}",
            "own secret",
        ),
        ("sslmode=verify-full", "sslmode=require", "verify the database server"),
        ("TaskRoleArn: !GetAtt RelayTaskRole.Arn", "TaskRoleArn: !GetAtt ApiTaskRole.Arn", "share a task role"),
        ("DeploymentCircuitBreaker: {Enable: true, Rollback: true}", "MinimumHealthyPercent: 100", "circuit breaker"),
        ("Condition: MakeVpcEndpoints\n    Properties:\n      VpcEndpointType", "Properties:\n      VpcEndpointType",
         "CreateVpcEndpoints"),
        ("- {IpProtocol: tcp, FromPort: 443, ToPort: 443, SourceSecurityGroupId: !Ref ProxySecurityGroup}", "",
         "RDS Proxy"),
        ("ec2:DescribeSubnets, ", "", "VPC-access"),
        ("Action: secretsmanager:PutSecretValue\n                Resource: !Ref FirstApiKeySecret",
         "Action: secretsmanager:PutSecretValue\n                Resource: !Ref ApiDatabaseSecret", "overwrite"),
        ("deadLetterTargetArn: !GetAtt HighPriorityDeadLetterQueue.Arn",
         "deadLetterTargetArn: !GetAtt TaskDeadLetterQueue.Arn", "HighPriorityQueue does not redrive"),
        ("Queue: !GetAtt HighPriorityQueue.Arn", "Queue: !GetAtt TaskQueue.Arn", "a mapping for each"),
        ('QueueName: !Sub "${AWS::StackName}-tasks-high"', 'QueueName: !Sub "${AWS::StackName}-urgent"',
         "named after the task queue"),
    ],
    ids=[
        "response-types-typo",
        "few-receives",
        "short-visibility",
        "concurrency-typo",
        "wildcard",
        "no-retention",
        "weak-tls",
        "http-forwards",
        "master-secret-for-the-api",
        "tls-unverified",
        "one-role-for-api-and-relay",
        "no-circuit-breaker",
        "endpoints-always-made",
        "proxy-cannot-reach-secrets",
        "no-describe-subnets",
        "migration-may-overwrite-a-login",
        "high-priority-dead-letters-mixed-in",
        "no-high-priority-mapping",
        "high-priority-queue-misnamed",
    ],
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
    assert """run_once '["python", "-m", "cli", "database", "roles"]'""" in guide
    assert f"--template-file {TEMPLATE.relative_to(ROOT)}" in guide


def test_the_guides_commands_are_bash_and_give_sam_what_it_needs_to_reach_aws():
    guide = (ROOT / "docs" / "deploy-aws.md").read_text()
    script = "\n".join(re.findall(r"```bash\n(.*?)```", guide, re.DOTALL))
    checked = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    commands = re.sub(r"\\\n", " ", script).splitlines()
    sam = [line for line in commands if re.search(r"\bsam (deploy|delete)\b", line)]
    assert len(sam) == 2 and all("--region" in line for line in sam), "botocore reads no AWS_REGION"
    assert "--image-repository" in sam[0], "sam deploy refuses an Image function without an image repository"
    assert "AWS_DEFAULT_REGION=" in script
    assert "create-service-linked-role --aws-service-name ecs.amazonaws.com" in script
    assert "containers[0].exitCode" in script, "a failed migration must stop the guide"
    one_offs = script[script.index("run_once '"):script.index("KEY=$(")]
    assert one_offs.count("' &&\n") == 3, "each one-off task runs only if the one before it exited 0"
    assert '"${KEY_SECRET:?' in script, "an empty secret ARN must stop step 4, not print the key to the logs"
    assert '"--to-secret", "\'"$KEY_SECRET"\'"' in script and "tf_" not in script, "the key is read from logs"
