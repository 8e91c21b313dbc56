"""docker-compose.yml runs what the native tests run, starts in order of health, and speaks our settings' names."""

import json
import re
from urllib.parse import urlparse

from devstack.processes import SERVICE_ROLES, migrate_command
from tests.static.conftest import NATIVE_COMMANDS, ROOT, SETTING_NAMES, instructions

# Variables that are not ours: AWS's own (read by boto3 and the Lambda emulator) and the images' own.
FOREIGN_VARIABLES = {
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_LAMBDA_FUNCTION_TIMEOUT",
    "AWS_LAMBDA_FUNCTION_NAME",
}
IMAGE_VARIABLES = {
    "postgres": {"POSTGRES_PASSWORD", "POSTGRES_DB"},
    "localstack": {"SERVICES", "SQS_ENDPOINT_STRATEGY"},
}


def test_each_service_runs_a_command_the_native_tests_run(compose):
    services = compose["services"]
    assert services["migrate"]["command"] == migrate_command("python")
    assert services["api"]["command"] == NATIVE_COMMANDS["api"]
    assert services["relay"]["command"] == NATIVE_COMMANDS["relay"]
    assert services["event-source-mapping"]["command"] == NATIVE_COMMANDS["esm"]
    for name in ("lambda", "lambda-2"):  # the image's own CMD, which tests/e2e/test_lambda_over_http.py runs
        assert services[name]["build"]["dockerfile"] == "lambda/Dockerfile" and "command" not in services[name]


def test_start_up_is_ordered_by_health_not_by_sleeps(compose):
    services = compose["services"]
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            assert condition["condition"] in {"service_healthy", "service_completed_successfully", "service_started"}
            if condition["condition"] == "service_healthy":
                assert "test" in services[dependency]["healthcheck"], f"{name} waits on {dependency}'s health"
        assert "sleep" not in json.dumps(service.get("command", "")), name
    assert services["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["event-source-mapping"]["depends_on"]["localstack"]["condition"] == "service_healthy"


def test_every_variable_is_a_setting_of_ours_by_the_same_name(compose):
    for name, service in compose["services"].items():
        unknown = (
            set(service.get("environment", {})) - SETTING_NAMES - FOREIGN_VARIABLES - IMAGE_VARIABLES.get(name, set())
        )
        assert not unknown, f"{name} sets variables no setting reads: {unknown}"


def test_the_event_source_mapping_has_a_lambda_container_per_concurrent_invocation(compose):
    services = compose["services"]
    environment = services["event-source-mapping"]["environment"]
    urls = json.loads(environment["ESM_FUNCTION_URLS"])
    normal = int(environment["ESM_MAXIMUM_CONCURRENCY"])
    high = int(environment["ESM_HIGH_PRIORITY_MAXIMUM_CONCURRENCY"])
    assert len(set(urls)) == len(urls) >= normal + high and normal >= 2 and high >= 2
    for url in urls:
        parsed = urlparse(url)
        assert parsed.port == 8080 and services[parsed.hostname]["build"]["dockerfile"] == "lambda/Dockerfile"


def test_localstack_is_the_release_the_tests_run_and_runs_our_provisioning_hook(compose):
    localstack = compose["services"]["localstack"]
    tag = upstream(localstack["image"]).removeprefix("localstack/localstack:")
    pinned = re.search(r"localstack-core\[[^]]*\]==([\d.]+)", (ROOT / "localstack" / "requirements.txt").read_text())
    assert tag == pinned.group(1)
    assert tuple(map(int, tag.split("."))) <= (4, 14, 0), "later releases need an auth token"
    assert "./localstack/init:/etc/localstack/init:ro" in localstack["volumes"]
    assert localstack["environment"]["SERVICES"] == "sqs"


def upstream(image: str) -> str:
    """The image a machine that can pull runs: the default of `${NAME_IMAGE:-default}`."""
    variable = re.fullmatch(r"\$\{[A-Z]+_IMAGE:-([^}]+)\}", image)
    assert variable, f"{image} is not a variable with upstream's image as its default"
    return variable.group(1)


def test_base_images_are_variables_defaulting_to_upstreams_and_the_dockerfiles_agree(compose):
    services = compose["services"]
    assert upstream(services["postgres"]["image"]).startswith("postgres:17")
    assert upstream(services["localstack"]["image"]).startswith("localstack/localstack:")
    for service, dockerfile_path in (("api", "api/Dockerfile"), ("lambda", "lambda/Dockerfile")):
        (argument, image), = services[service]["build"]["args"].items()
        assert f"{argument}={upstream(image)}" in instructions(dockerfile_path, "ARG")
        assert {f"${{{argument}}}"} == {line.split()[0] for line in instructions(dockerfile_path, "FROM")}


def test_every_published_port_is_on_the_hosts_loopback_only(compose):
    published = [(name, port) for name, service in compose["services"].items() for port in service.get("ports", [])]
    assert published, "compose publishes the API at least"
    assert [(name, port) for name, port in published if not str(port).startswith("127.0.0.1:")] == []


def test_each_process_acts_as_its_own_database_role_as_on_the_dev_stack(compose):
    services = compose["services"]
    roles = {name: services[name]["environment"].get("DATABASE_ROLE") for name in ("api", "relay", "lambda")}
    assert roles == {"api": SERVICE_ROLES["api"], "relay": SERVICE_ROLES["relay"], "lambda": SERVICE_ROLES["esm"]}
    assert "DATABASE_ROLE" not in services["migrate"]["environment"], "the migration owns the tables"
