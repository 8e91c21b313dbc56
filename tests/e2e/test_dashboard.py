"""The dashboard, driven as a person uses it, in headless Chromium (Debian's package; nothing is downloaded):
create a task from the form and watch it succeed without reloading, cancel one, see a dead-lettered task and
redrive it, open a task's timeline. Skipped where /usr/bin/chromium is missing, unless REQUIRE_BROWSER is set."""

import os
import shutil
from pathlib import Path

import boto3
import httpx
import pytest

from devstack.processes import service_commands
from tests.conftest import REGION
from tests.e2e.conftest import running_stack
from tests.waiting import wait_until
from tests.webhook_receiver import webhook_receiver

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                  "--disable-background-networking", "--disable-component-update"]  # fmt: skip
# The sweep every second; callbacks to a receiver on loopback, as make dev permits.
STACK_SETTINGS = {"RECOVERY_INTERVAL_SECONDS": "1", "WEBHOOKS_ALLOW_HTTP_LOOPBACK": "true"}
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "dashboard.png"

if not Path(CHROMIUM).exists() and not os.environ.get("REQUIRE_BROWSER"):
    pytest.skip("no Chromium: apt-get install chromium (CI sets REQUIRE_BROWSER)", allow_module_level=True)


@pytest.fixture
def stack(postgres_server_url, sqs_endpoint, tmp_path):
    with running_stack(postgres_server_url, sqs_endpoint, tmp_path / "stack.log", env=STACK_SETTINGS) as running:
        yield running


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def watched(browser, stack):
    """A page that records what the Content-Security-Policy refused and every request to another origin; the
    test fails if anything was refused or went elsewhere."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    refused, elsewhere = [], []
    page.on("console", lambda message: "Content Security Policy" in message.text and refused.append(message.text))
    page.on("request", lambda request: request.url.startswith(stack.base_url) or elsewhere.append(request.url))
    yield page
    assert refused == [], "the page broke its own Content-Security-Policy"
    assert elsewhere == [], "the page loaded something from another origin"


@pytest.fixture
def page(watched, stack):
    """The dashboard, signed in with the stack's key."""
    watched.goto(stack.base_url)
    watched.fill("#key", stack.headers["X-API-Key"])
    watched.click("#login button")
    watched.wait_for_selector("#app:not([hidden])")
    watched.evaluate("window.loadedOnce = true")  # gone if the page reloads
    return watched


def row(page, task_id: str):
    return page.locator(f'tr[data-task="{task_id}"]')


def wait_for_status(page, task_id: str, status: str) -> None:
    page.wait_for_selector(f'tr[data-task="{task_id}"][data-status="{status}"]', timeout=20_000)


def create_by_api(stack, text: str) -> str:
    response = httpx.post(f"{stack.base_url}/tasks", json={"type": "word_stats", "payload": {"text": text}},
                          headers=stack.headers)  # fmt: skip
    return response.json()["id"]


def move_to_dead_letter_queue(stack, task_id: str) -> None:
    """What five failed deliveries do: the task's message leaves the queue for the dead-letter queue."""
    sqs = boto3.client("sqs", endpoint_url=stack.env["AWS_ENDPOINT_URL"], region_name=REGION)
    for _ in range(20):
        for message in sqs.receive_message(QueueUrl=stack.queue_url, MaxNumberOfMessages=10).get("Messages", []):
            if task_id in message["Body"]:
                sqs.send_message(QueueUrl=f"{stack.queue_url}-dlq", MessageBody=message["Body"])
                sqs.delete_message(QueueUrl=stack.queue_url, ReceiptHandle=message["ReceiptHandle"])
                return
    raise AssertionError(f"the message of {task_id} never arrived")


def test_create_from_the_form_and_watch_it_succeed_without_reloading(page, stack):
    page.select_option("#task-type", "word_stats")
    page.fill('#fields [name="text"]', "Typed into the dashboard's form.")
    page.click("#create button")
    page.wait_for_selector("#tasks tbody tr")
    task_id = page.locator("#tasks tbody tr").first.get_attribute("data-task")
    wait_for_status(page, task_id, "succeeded")
    result = httpx.get(f"{stack.base_url}/tasks/{task_id}", headers=stack.headers).json()["result"]
    assert result["words"] == 5
    assert page.evaluate("window.loadedOnce") is True, "the page reloaded"
    assert page.locator('.counter[data-status="succeeded"] b').inner_text() == "1"


def test_cancel_then_a_dead_lettered_task_redriven_and_its_timeline(page, stack):
    stack.group.stop("esm")  # nothing consumes: tasks wait in the queue
    waiting = create_by_api(stack, "to be cancelled")
    wait_for_status(page, waiting, "queued")
    row(page, waiting).get_by_role("button", name="cancel").click()
    wait_for_status(page, waiting, "cancelled")

    stuck = create_by_api(stack, "dead-lettered, then redriven")
    wait_for_status(page, stuck, "queued")
    move_to_dead_letter_queue(stack, stuck)
    wait_for_status(page, stuck, "failed")  # the relay's sweep, seen live
    row(page, stuck).get_by_role("button", name="redrive").click()
    wait_for_status(page, stuck, "queued")
    stack.group.start("esm", service_commands(0)["esm"], stack.env)
    wait_for_status(page, stuck, "succeeded")

    row(page, stuck).click()
    page.wait_for_selector('#events li[data-status="succeeded"]')
    statuses = page.locator("#events li").evaluate_all("items => items.map(i => i.dataset.status)")
    assert statuses == ["pending", "queued", "failed", "queued", "running", "succeeded"]
    # The README's picture: SAVE_DASHBOARD_SCREENSHOT=1 make test-e2e writes docs/dashboard.png.
    shot = SCREENSHOT if os.environ.get("SAVE_DASHBOARD_SCREENSHOT") else stack.log_path.parent / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)


def test_a_task_waiting_for_another_is_seen_released_and_its_timeline_links_to_it(page, stack):
    body = {"type": "report", "payload": {"title": "first", "seconds": 2}}
    first = httpx.post(f"{stack.base_url}/tasks", json=body, headers=stack.headers).json()["id"]
    body = {"type": "word_stats", "payload": {"text": "after the report"}, "after": [first]}
    then = httpx.post(f"{stack.base_url}/tasks", json=body, headers=stack.headers).json()["id"]
    wait_for_status(page, then, "waiting")
    row(page, then).click()
    page.wait_for_selector(f'#after-tasks [data-after="{first}"]')
    wait_for_status(page, then, "succeeded")
    row(page, then).click()
    page.wait_for_selector('#events li[data-status="succeeded"]')
    statuses = page.locator("#events li").evaluate_all("items => items.map(i => i.dataset.status)")
    # Released, it is queued when the relay marks it after sending, unless the consumer claimed it first.
    assert statuses in (["waiting", "pending", "queued", "running", "succeeded"],
                        ["waiting", "pending", "running", "succeeded"])  # fmt: skip
    page.click(f'#after-tasks [data-after="{first}"]')
    page.wait_for_selector(f'#timeline-task:text("{first}")')
    assert page.locator("#timeline-after").is_hidden(), "the first task runs after nothing"


def test_schedules_pause_from_the_page_and_a_tasks_webhooks_show_on_its_timeline(page, stack):
    api = httpx.Client(base_url=stack.base_url, headers=stack.headers)
    body = {"type": "word_stats", "payload": {"text": "hourly"}, "interval_seconds": 3600}
    schedule = api.post("/schedules", json=body).json()["id"]
    page.wait_for_selector(f'tr[data-schedule="{schedule}"][data-paused="false"]', timeout=20_000)
    page.locator(f'tr[data-schedule="{schedule}"]').get_by_role("button", name="pause").click()
    page.wait_for_selector(f'tr[data-schedule="{schedule}"][data-paused="true"]')
    assert api.get(f"/schedules/{schedule}").json()["paused"] is True

    api.put("/webhooks", json={"allowed_hosts": ["127.0.0.1"]})
    with webhook_receiver(200) as receiver:
        body = {"type": "word_stats", "payload": {"text": "call back"}, "callback_url": receiver.url}
        task = api.post("/tasks", json=body).json()["id"]
        delivered = lambda: [d["status"] for d in api.get(f"/tasks/{task}/webhooks").json()] == ["delivered"]  # noqa: E731
        wait_until(delivered, 30, "the webhook delivered")
    wait_for_status(page, task, "succeeded")
    row(page, task).click()
    page.wait_for_selector('#webhooks li[data-webhook="delivered"]')
    assert receiver.received[0].headers["webhook-id"] in page.locator("#webhooks").inner_text()


def test_the_api_docs_render_from_this_origin_under_the_policy(watched, stack):
    response = watched.goto(f"{stack.base_url}/docs")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    watched.wait_for_selector("#operations-tasks-createTask")  # Swagger UI read /openapi.json and drew it
