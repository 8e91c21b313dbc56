"""The dashboard, driven as a person uses it, in headless Chromium (Debian's package; nothing is downloaded):
create a task from the form and watch it succeed without reloading, follow it along the path, read the history
after a reload, find it by search and open its page (on a phone too), cancel one, see a dead-lettered task and
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
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs"

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


def test_a_task_from_the_form_is_followed_along_the_path_found_by_search_and_its_page_opened(page, stack, browser):
    page.select_option("#task-type", "word_stats")
    page.fill('#fields [name="text"]', "Followed along the path.")
    page.click("#create button")
    page.wait_for_selector('#pipeline[data-trail$="done"]', timeout=20_000)
    trail = page.locator("#pipeline").get_attribute("data-trail").split()
    order = ["outbox", "sqs", "lambda", "done"]
    assert trail[0] == "outbox" and trail == sorted(trail, key=order.index), trail  # seen in the path's order
    assert page.locator('.stages li[data-here]').get_attribute("data-stage") == "done"
    task_id = page.locator("#tasks tbody tr").first.get_attribute("data-task")
    # The stages' times of the last minute, read again every few seconds: this task has been through each.
    page.wait_for_selector('[data-time="claimed_to_finished"][data-tasks="1"]', timeout=20_000)
    for stage in ("committed_to_published", "published_to_received", "received_to_claimed"):
        assert page.locator(f'[data-time="{stage}"]').get_attribute("data-tasks") == "1"
    invocations = page.locator("#consumers tbody tr td:nth-child(2)").all_inner_texts()  # the environments
    assert invocations and sum(map(int, invocations)) >= 1

    def history_after_a_reload() -> tuple[str, str]:
        page.reload()  # the history is the database's, not the page's: it survives a reload
        page.wait_for_selector("#history[data-points]")
        return page.locator("#history-created").inner_text(), page.locator("#history-succeeded").inner_text()

    # Read at most 10 s old (shared by the tenant's open pages): reloaded until it holds the task's success.
    wait_until(lambda: history_after_a_reload() == ("1", "1"), 30, "the history showing the task")
    assert page.locator("#latency-now").inner_text().endswith(" ms")
    save_screenshot(page, stack, "dashboard-pipeline.png")

    page.select_option("#search select[name=status]", "succeeded")
    page.fill("#search [name=type]", "word_stats")
    page.click("#search button[type=submit]")
    page.wait_for_selector("#tasks-title:text('status=succeeded')")
    assert page.locator("#tasks tbody tr").evaluate_all("rows => rows.map(r => r.dataset.task)") == [task_id]
    page.select_option("#search select[name=status]", "failed")
    page.click("#search button[type=submit]")
    page.wait_for_selector("#tasks-title:text('status=failed')")
    assert page.locator("#tasks tbody tr").count() == 0

    page.fill("#search [name=id]", task_id)
    page.keyboard.press("Enter")  # the form is keyboard-usable: Enter submits it
    page.wait_for_selector(f'#timeline-task:text("{task_id}")')
    assert '"words": 4' in page.locator('#task-detail dd[data-field="result"]').inner_text()
    assert page.locator('#events li[data-status="succeeded"] code').count() == 1  # with its correlation id
    assert page.evaluate("location.hash") == f"#task={task_id}"
    save_screenshot(page, stack, "dashboard-task.png")

    phone = browser.new_page(viewport={"width": 390, "height": 844})  # the task's link, opened on a phone
    phone.goto(f"{stack.base_url}/#task={task_id}")
    phone.fill("#key", stack.headers["X-API-Key"])
    phone.click("#login button")
    phone.wait_for_selector(f'#timeline-task:text("{task_id}")')
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "no sideways scrolling"
    save_screenshot(phone, stack, "dashboard-phone.png")
    phone.close()


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
    row(page, stuck).click()  # its page shows the dead letter and offers the redrive
    page.wait_for_selector("#task-dead-letter:not([hidden])")
    assert "SQS gave up after" in page.locator("#dead-letter-text").inner_text()
    assert page.locator("#task-actions").get_by_role("button").all_inner_texts() == ["redrive"]
    row(page, stuck).get_by_role("button", name="redrive").click()
    wait_for_status(page, stuck, "queued")
    stack.group.start("esm", service_commands(0)["esm"], stack.env)
    wait_for_status(page, stuck, "succeeded")

    row(page, stuck).click()
    page.wait_for_selector('#events li[data-status="succeeded"]')
    statuses = page.locator("#events li").evaluate_all("items => items.map(i => i.dataset.status)")
    assert statuses == ["pending", "queued", "failed", "queued", "running", "succeeded"]
    save_screenshot(page, stack, "dashboard.png")


def save_screenshot(page, stack, name: str) -> None:
    """The README's pictures: SAVE_DASHBOARD_SCREENSHOT=1 make test-e2e writes them to docs/."""
    folder = SCREENSHOTS if os.environ.get("SAVE_DASHBOARD_SCREENSHOT") else stack.log_path.parent
    page.screenshot(path=str(folder / name), full_page=True)


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
