"""docs/deploy-aws.md, run as written against a fake AWS account: moto in server mode (tests/deploy/moto_server.py),
the pinned SAM CLI, and the AWS CLI v2. Steps 1 to 4, then the teardown, in one bash session each; any command that
fails, fails the test. Step 5 (HTTPS to the deployed API) is not run: no container runs in moto.

What moto does not model is listed below, so the gap stays visible. Skipped where the AWS CLI v2 is missing
(apt-get install awscli), unless REQUIRE_AWS_CLI is set, as CI sets it."""

import json
import os
import re
import subprocess
from pathlib import Path

import boto3
import httpx
import pytest

from devstack import ROOT
from tests.ports import free_port
from tests.waiting import wait_until

GUIDE = (ROOT / "docs" / "deploy-aws.md").read_text()
STEPS, TEARDOWN = re.findall(r"```bash\n(.*?)```", GUIDE, re.S)
STEPS_1_TO_4, STEP_5 = STEPS.split("\n# 5. ")
STANDINS = Path(__file__).parent / "bin"
DEPLOY_PYTHON = ROOT / ".venv-deploy" / "bin" / "python"
READ = ("VPC", "SUBNETS", "CERTIFICATE", "CLUSTER", "TASKDEF", "SG", "API", "KEY_SECRET", "KEY")

# The stack's resources moto 5.2.5's CloudFormation skips with a warning; the guide's commands that touch them run,
# and what they return is moto's, not AWS's. Beyond these: moto runs no container (every ECS task "exits" 0 without
# running its command, so step 4's migration, roles and key are not made) and invokes no function from the event
# source mapping; it keeps no final snapshot for DeletionPolicy: Snapshot; and the images are not pushed for real
# (the docker stand-in in bin/ puts a manifest into moto's ECR: Debian 12 has no docker buildx).
NOT_MODELLED = {
    "AlarmEmailSubscription": "AWS::SNS::Subscription",
    "DeadLetterAlarm": "AWS::CloudWatch::Alarm",
    "HighPriorityDeadLetterAlarm": "AWS::CloudWatch::Alarm",
    "OldestMessageAlarm": "AWS::CloudWatch::Alarm",
}


def aws_cli_v2() -> str | None:
    """The first AWS CLI v2 on PATH (a virtualenv's may be v1, which the guide does not assume)."""
    for folder in os.environ["PATH"].split(os.pathsep):
        candidate = Path(folder) / "aws"
        if candidate.is_file():
            version = subprocess.run([candidate, "--version"], capture_output=True, text=True).stdout
            if version.startswith("aws-cli/2"):
                return str(candidate)
    return None


AWS_CLI = aws_cli_v2()
if not AWS_CLI and not os.environ.get("REQUIRE_AWS_CLI"):
    pytest.skip("no AWS CLI v2: apt-get install awscli (CI sets REQUIRE_AWS_CLI)", allow_module_level=True)


@pytest.fixture
def fake_account(private_dir):
    """moto on a free loopback port, and the environment of a user whose shell points at it."""
    assert AWS_CLI, "REQUIRE_AWS_CLI is set, and no AWS CLI v2 is on PATH"
    port = free_port()
    log = private_dir / "moto.log"
    server = subprocess.Popen([DEPLOY_PYTHON, Path(__file__).parent / "moto_server.py", str(port)], cwd=ROOT,
                              stdout=log.open("w"), stderr=subprocess.STDOUT)  # fmt: skip
    endpoint = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DATABASE_", "SAM_"))}
    env |= {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "HOME": str(private_dir), "PATH": f"{STANDINS}:{env['PATH']}", "SAM_CLI_TELEMETRY": "0",
            "DOCKER_STANDIN_STATE": str(private_dir / "docker.json"), "AWS_CLI_V2": AWS_CLI}  # fmt: skip
    try:
        wait_until(lambda: server.poll() is None and "moto is up" in log.read_text(), 60, "moto answering")
        yield env, endpoint, private_dir
    finally:
        server.terminate()
        server.wait(10)


def aws(endpoint: str, service: str):
    return boto3.client(service, endpoint_url=endpoint, region_name="eu-west-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing")  # fmt: skip


def prepare_account(env: dict, endpoint: str, home: Path) -> None:
    """What the guide assumes the account has: an issued certificate for the API's domain (imported here, as a
    user with a certificate from elsewhere would), and ECS tasks that stop once started."""
    key, cert = home / "key.pem", home / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=api.example.com"], check=True, capture_output=True)  # fmt: skip
    aws(endpoint, "acm").import_certificate(Certificate=cert.read_bytes(), PrivateKey=key.read_bytes())
    # moto's tasks would otherwise stay RUNNING for four describes each; AWS's one-off tasks stop when done.
    transition = {"model_name": "ecs::task", "transition": {"progression": "immediate"}}
    httpx.post(f"{endpoint}/moto-api/state-manager/set-transition", json=transition).raise_for_status()


def run_bash(script: str, env: dict, timeout: int, succeeds: bool = True) -> subprocess.CompletedProcess:
    """The script in one bash session that stops at the first failing command, as the test's user."""
    ran = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=timeout)  # fmt: skip
    assert (ran.returncode == 0) == succeeds, f"{ran.stdout[-4000:]}\n{ran.stderr[-4000:]}"
    return ran


def stack_resources(endpoint: str) -> dict[str, str]:
    described = aws(endpoint, "cloudformation").describe_stack_resources(StackName="taskflow")["StackResources"]
    # moto lists a resource it skipped without its logical id or type
    return {r["LogicalResourceId"]: r["ResourceType"] for r in described if "LogicalResourceId" in r}


def translated_resources() -> dict[str, str]:
    template = subprocess.run([DEPLOY_PYTHON, ROOT / "tests/static/translate_sam.py"], check=True, text=True,
                              stdin=(ROOT / "deploy/template.yaml").open(), capture_output=True,
                              env=os.environ | {"AWS_DEFAULT_REGION": "eu-west-1"}).stdout  # fmt: skip
    return {name: r["Type"] for name, r in json.loads(template)["Resources"].items()}


def test_the_guide_deploys_and_tears_down_as_written(fake_account):
    env, endpoint, home = fake_account
    assert "curl" in STEP_5 and "curl" not in STEPS_1_TO_4, "only step 5 needs the running API"
    prepare_account(env, endpoint, home)

    read = "\n".join(f'echo "{name}=${name}"' for name in READ)
    steps = run_bash(f"{STEPS_1_TO_4}\n{read}\ndeclare -px > {home}/exported.sh", env, timeout=600)
    values = dict(line.split("=", 1) for line in steps.stdout.splitlines() if line.split("=")[0] in READ)
    assert all(values[name] for name in READ), values
    assert values["API"] == "https://api.example.com" and values["KEY_SECRET"].startswith("arn:aws:secretsmanager:")
    assert len(values["SUBNETS"].split(",")) == 2, "two subnets, as the idle cost assumes"

    cloudformation = aws(endpoint, "cloudformation").describe_stacks(StackName="taskflow")["Stacks"][0]
    assert cloudformation["StackStatus"] == "CREATE_COMPLETE"
    expected = translated_resources()
    created = stack_resources(endpoint)
    missing = {name: kind for name, kind in expected.items() if name not in created}
    assert missing == NOT_MODELLED, "moto models more, or less, than NOT_MODELLED says: update the list"
    assert_consumer_wired(endpoint, tag=values_of(home)["TAG"])
    assert one_off_commands(endpoint, values["CLUSTER"]) == [
        ["python", "-m", "alembic", "upgrade", "head"], ["python", "-m", "cli", "database", "roles"],
        ["python", "-m", "cli", "keys", "create", "acme", "--to-secret", values["KEY_SECRET"]]]  # fmt: skip

    run_bash(f"source {home}/exported.sh\n{TEARDOWN}", env, timeout=300)
    stacks = aws(endpoint, "cloudformation").list_stacks()["StackSummaries"]
    assert {s["StackStatus"] for s in stacks if s["StackName"] == "taskflow"} == {"DELETE_COMPLETE"}
    assert aws(endpoint, "ecr").describe_repositories()["repositories"] == []
    assert aws(endpoint, "lambda").list_functions()["Functions"] == []
    assert aws(endpoint, "sqs").list_queues().get("QueueUrls", []) == []
    assert aws(endpoint, "secretsmanager").list_secrets()["SecretList"] == [], "no secret outlives the stack"


def test_without_a_certificate_the_guide_stops_before_creating_anything(fake_account):
    env, endpoint, home = fake_account
    ran = run_bash(STEPS_1_TO_4, env, timeout=120, succeeds=False)
    assert "no issued ACM certificate for api.example.com in eu-west-1" in ran.stderr
    assert aws(endpoint, "ecr").describe_repositories()["repositories"] == []


def test_a_consumer_image_never_pushed_fails_the_deploy_as_on_aws(fake_account):
    env, endpoint, home = fake_account
    prepare_account(env, endpoint, home)
    push = "docker push $REGISTRY/taskflow-consumer:$TAG\n"
    assert push in STEPS_1_TO_4
    ran = run_bash(STEPS_1_TO_4.replace(push, ""), env, timeout=300, succeeds=False)
    assert "taskflow-consumer" in ran.stderr and "does not exist. Provide a valid source image." in ran.stderr
    assert "point api.example.com at" not in ran.stdout, "the session stopped at sam deploy"


def values_of(home: Path) -> dict[str, str]:
    """The variables step 1 to 4 exported, read back from the session's `declare -px`."""
    found = re.findall(r'^declare -x (\w+)="(.*)"$', (home / "exported.sh").read_text(), re.M)
    return dict(found)


def assert_consumer_wired(endpoint: str, tag: str) -> None:
    """The consumer runs the pushed image, from the task queue, with the settings the guide describes."""
    lambda_ = aws(endpoint, "lambda")
    (function,) = lambda_.list_functions()["Functions"]
    code = lambda_.get_function(FunctionName=function["FunctionName"])["Code"]
    assert function["PackageType"] == "Image" and code["ImageUri"].endswith(f"/taskflow-consumer:{tag}")
    mappings = lambda_.list_event_source_mappings(FunctionName=function["FunctionName"])["EventSourceMappings"]
    by_queue = {mapping["EventSourceArn"].rsplit(":", 1)[1]: mapping for mapping in mappings}
    assert set(by_queue) == {"taskflow-tasks", "taskflow-tasks-high"}, "a mapping per queue"
    for mapping in mappings:
        assert mapping["BatchSize"] == 10 and mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    images = aws(endpoint, "ecr").describe_images(repositoryName="taskflow-app")["imageDetails"]
    assert [image["imageTags"] for image in images] == [[tag]]


def one_off_commands(endpoint: str, cluster: str) -> list[list[str]]:
    """The commands of step 4's one-off tasks, in the order they were started."""
    ecs = aws(endpoint, "ecs")
    tasks = ecs.describe_tasks(cluster=cluster, tasks=ecs.list_tasks(cluster=cluster)["taskArns"])["tasks"]
    return [t["overrides"]["containerOverrides"][0]["command"] for t in tasks if t.get("overrides")]
