"""Hidden check: a tenant sees every one of its dead letters, however many newer letters other tenants (or bodies
naming no task) have; page by page with no gap and no repeat; never anyone else's. The operator's command still
lists every letter."""

import socket
import uuid
from dataclasses import dataclass

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import ApiSettings
from cli.main import taskflow
from taskflow.clock import utc_now
from taskflow.db.models import Task
from taskflow.domain.messages import TaskMessage
from taskflow.services.api_keys import create_api_key
from taskflow.services.dead_letters import ReceivedLetter, record_dead_letters

QUIET_LETTERS = 3  # a tenant whose few tasks were dead-lettered a while ago
NOISY_LETTERS = 60  # then another tenant's incident
POISON_LETTERS = 1200  # and a flood of bodies that name no task (operators only)


def unreachable_endpoint() -> str:
    """Reading dead letters needs no SQS: a port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


@dataclass
class Tenant:
    id: uuid.UUID
    key: str
    task_ids: list[str]  # of its dead-lettered tasks, oldest letter first


def new_tenant(sessions, name: str) -> Tenant:
    with sessions() as session:
        api_key, key = create_api_key(session=session, tenant_name=f"{name}-{uuid.uuid4().hex[:8]}", key_name="check")
        return Tenant(api_key.tenant_id, key, [])


def dead_letter(sessions, tenant: Tenant | None, count: int) -> None:
    """`count` letters, each for a new queued task of `tenant` (a body naming no task for None), recorded as the
    relay's sweep records them."""
    now = utc_now()
    letters = []
    with sessions() as session:
        for _ in range(count):
            if tenant is None:
                body = f"not a task message {uuid.uuid4()}"
            else:
                task = Task(
                    id=uuid.uuid4(), tenant_id=tenant.id, type="word_stats", payload={"text": "x"}, status="queued",
                    attempts=1, version=1, dispatched_version=1, correlation_id="dead-letters-check", created_at=now,
                    updated_at=now,
                )  # fmt: skip
                session.add(task)
                tenant.task_ids.append(str(task.id))
                body = TaskMessage(task_id=task.id, version=1, correlation_id="dead-letters-check").to_body()
            letters.append(ReceivedLetter(f"check-{uuid.uuid4()}", body, 5, now))
        session.commit()
    for start in range(0, count, 100):  # as the sweep does: at most 100 a batch
        with sessions() as session:
            record_dead_letters(session, letters[start : start + 100])


@pytest.fixture(scope="module")
def tenants(sessions):
    quiet, noisy = new_tenant(sessions, "quiet"), new_tenant(sessions, "noisy")
    dead_letter(sessions, quiet, QUIET_LETTERS)
    for _ in range(NOISY_LETTERS // 10):  # the incident and the flood, interleaved, all newer than quiet's
        dead_letter(sessions, noisy, 10)
        dead_letter(sessions, None, POISON_LETTERS // (NOISY_LETTERS // 10))
    return quiet, noisy


@pytest.fixture(scope="module")
def api(database_url):
    settings = ApiSettings(database_url=database_url, aws_endpoint_url=unreachable_endpoint(), queue_name="tasks")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def every_page(api, tenant: Tenant, limit: int) -> list[list[str]]:
    """The tenant's dead letters as GET /dead-letters gives them, page after page (task ids)."""
    pages, before = [], None
    while len(pages) <= 2_000:
        params = {"limit": limit, **({"before": before} if before is not None else {})}
        response = api.get("/dead-letters", params=params, headers={"X-API-Key": tenant.key})
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= limit, f"asked for {limit}, got {len(page['items'])}"
        ids = [letter["id"] for letter in page["items"]]
        assert ids == sorted(ids, reverse=True), "not newest first"
        pages.append([letter["task_id"] for letter in page["items"]])
        if page["next_before"] is None:
            return pages
        assert page["items"], "an empty page that says there is another"
        before = page["next_before"]
    raise AssertionError("the pages never end")


@pytest.mark.parametrize("limit", [100, 2, 1])
def test_a_tenant_sees_all_its_dead_letters_under_newer_letters_of_others(api, tenants, limit):
    quiet, _ = tenants
    pages = every_page(api, quiet, limit)
    listed = [task_id for page in pages for task_id in page]
    assert listed == quiet.task_ids[::-1], (
        f"limit={limit}: the tenant has {QUIET_LETTERS} dead letters and was shown {len(listed)}: {pages[:3]}"
    )
    assert all(len(page) == limit for page in pages[:-1]), f"limit={limit}: short pages before the last: {pages}"


def test_a_busy_tenant_pages_through_its_own_letters_only(api, tenants):
    quiet, noisy = tenants
    pages = every_page(api, noisy, 7)
    listed = [task_id for page in pages for task_id in page]
    assert listed == noisy.task_ids[::-1], "a gap, a repeat, or letters out of order across pages"
    assert not set(listed) & set(quiet.task_ids)


def test_the_operator_command_still_lists_every_letter(database_url, tenants):
    quiet, noisy = tenants
    result = CliRunner().invoke(
        taskflow, ["dead-letters", "list", "--limit", "10000"], env={"DATABASE_URL": database_url}
    )
    assert result.exit_code == 0, result.output
    listed = result.output.splitlines()
    for task_id in quiet.task_ids + noisy.task_ids:
        assert any(task_id in line for line in listed), f"the operator does not see task {task_id}'s letter"
    assert sum("(not a task message)" in line for line in listed) >= POISON_LETTERS
