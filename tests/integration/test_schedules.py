"""Recurring schedules against a real PostgreSQL: the API keeps them per tenant, and firing them makes one task
per occurrence, also when several relays fire at once."""

import threading
import uuid
from datetime import timedelta

from sqlalchemy import func, select, update

from taskflow.db.models import OutboxMessage, Schedule, Task
from taskflow.services.schedules import fire_due_schedules

EVERY_SECOND = {"type": "word_stats", "payload": {"text": "tick"}, "interval_seconds": 1}


def problem_type(response) -> str:
    assert response.headers["content-type"] == "application/problem+json", response.text
    return response.json()["type"].rsplit(":", 1)[-1]


def test_a_schedule_is_created_read_changed_paused_resumed_and_deleted(client):
    created = client.post("/schedules", json={**EVERY_SECOND, "interval_seconds": 60, "labels": ["digest"]})
    assert created.status_code == 201, created.text
    schedule = created.json()
    url = created.headers["location"]
    assert (schedule["type"], schedule["paused"]) == ("word_stats", False)
    assert schedule["payload"] == {"text": "tick", "top": 5}, "validated by the task type, defaults filled in"
    assert client.get(url).json() == schedule
    assert schedule["id"] in [s["id"] for s in client.get("/schedules").json()]
    stale = client.patch(url, json={"cron": "0 7 * * *", "timezone": "Europe/Paris"}, headers={"If-Match": '"9"'})
    assert (stale.status_code, problem_type(stale)) == (412, "precondition-failed")
    daily = client.patch(url, json={"cron": "0 7 * * *", "timezone": "Europe/Paris"}, headers={"If-Match": '"1"'})
    assert (daily.json()["cron"], daily.json()["interval_seconds"], daily.json()["version"]) == ("0 7 * * *", None, 2)
    assert daily.json()["next_run_at"].endswith(("T06:00:00Z", "T05:00:00Z")), "07:00 in Paris, summer or winter"
    assert client.post(f"{url}/pause").json()["paused"] is True
    assert client.post(f"{url}/resume").json()["paused"] is False
    assert client.delete(url).status_code == 204
    assert problem_type(client.get(url)) == "schedule-not-found"


def test_another_tenants_schedule_is_not_found(client, app_for_other_tenant):
    url = client.post("/schedules", json=EVERY_SECOND).headers["location"]
    for response in (app_for_other_tenant.get(url), app_for_other_tenant.post(f"{url}/pause"),
                     app_for_other_tenant.delete(url)):  # fmt: skip
        assert (response.status_code, problem_type(response)) == (404, "schedule-not-found")
    assert url.rsplit("/", 1)[1] not in [s["id"] for s in app_for_other_tenant.get("/schedules").json()]
    client.delete(url)


def test_bad_schedules_are_refused_with_a_problem(client):
    for body in (
        {"type": "word_stats", "payload": {"text": "x"}},  # neither cron nor interval
        {**EVERY_SECOND, "cron": "* * * * *"},  # both
        {**EVERY_SECOND, "interval_seconds": 0},
        {"type": "word_stats", "payload": {"text": "x"}, "cron": "61 * * * *"},
        {"type": "word_stats", "payload": {"text": "x"}, "cron": "* * * * *", "timezone": "Mars/Olympus"},
        {**EVERY_SECOND, "type": "no_such_type"},
        {**EVERY_SECOND, "payload": {"words": 3}},
        {**EVERY_SECOND, "missed": "sometimes"},
    ):
        response = client.post("/schedules", json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"


def make_due(sessions, schedule_id: str, ago: timedelta | None = None, at=None):
    """Move the schedule's next occurrence `ago` into the past (or to `at`), as after an outage; return it."""
    with sessions() as session:
        due = session.scalar(update(Schedule).where(Schedule.id == uuid.UUID(schedule_id)).values(
            next_run_at=at if at is not None else func.now() - ago).returning(Schedule.next_run_at))  # fmt: skip
        session.commit()
        return due


def occurrences(sessions, schedule_id: str) -> list:
    with sessions() as session:
        mine = select(Task.occurrence_at).where(Task.schedule_id == uuid.UUID(schedule_id))
        return list(session.scalars(mine.order_by(Task.occurrence_at)))


def test_each_due_occurrence_becomes_one_task_with_its_message(client, sessions):
    schedule = client.post("/schedules", json=EVERY_SECOND).json()
    due = make_due(sessions, schedule["id"], timedelta(seconds=3.5))
    with sessions() as session:
        fired = fire_due_schedules(session=session)
    made = occurrences(sessions, schedule["id"])
    assert fired.created >= 4 and len(made) == fired.created
    assert all(b - a == timedelta(seconds=1) for a, b in zip(made, made[1:], strict=False)), made
    with sessions() as session:
        task = session.scalars(select(Task).where(Task.schedule_id == uuid.UUID(schedule["id"]))).first()
        assert (task.status, task.type, task.payload["text"]) == ("pending", "word_stats", "tick")
        assert session.scalar(select(func.count()).where(OutboxMessage.task_id == task.id)) == 1
    make_due(sessions, schedule["id"], at=due)  # a relay that read the schedule before the firing moved it on
    with sessions() as session:
        again = fire_due_schedules(session=session)
    now_made = occurrences(sessions, schedule["id"])
    assert now_made[: len(made)] == made and len(now_made) == len(set(now_made)), "no occurrence got a second task"
    assert again.created == len(now_made) - len(made) <= 1, "only an occurrence that fell due since is new"
    client.delete(f"/schedules/{schedule['id']}")


def test_occurrences_missed_during_an_outage_are_skipped_or_run_once(client, sessions):
    skip = client.post("/schedules", json={**EVERY_SECOND, "interval_seconds": 60}).json()
    once = client.post("/schedules", json={**EVERY_SECOND, "interval_seconds": 60, "missed": "run_once"}).json()
    for schedule in (skip, once):
        make_due(sessions, schedule["id"], timedelta(hours=3))  # three hours of one a minute, nothing running
    with sessions() as session:
        fire_due_schedules(session=session)
    skipped, ran_once = occurrences(sessions, skip["id"]), occurrences(sessions, once["id"])
    assert len(skipped) <= 1 and len(ran_once) == len(skipped) + 1, (skipped, ran_once)
    for schedule in (skip, once):
        client.delete(f"/schedules/{schedule['id']}")


def test_three_relays_firing_at_once_make_one_task_per_occurrence(client, sessions):
    schedule = client.post("/schedules", json=EVERY_SECOND).json()
    make_due(sessions, schedule["id"], timedelta(seconds=30))
    barrier, errors = threading.Barrier(3), []

    def relay() -> None:
        barrier.wait()
        try:
            for _ in range(5):
                with sessions() as session:
                    fire_due_schedules(session=session)
        except Exception as error:  # a thread's exception would not fail the test by itself
            errors.append(error)

    threads = [threading.Thread(target=relay) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    made = occurrences(sessions, schedule["id"])
    assert len(made) == len(set(made)) >= 30
    assert all(b - a == timedelta(seconds=1) for a, b in zip(made, made[1:], strict=False)), "none skipped"
    client.delete(f"/schedules/{schedule['id']}")


def test_a_schedule_that_no_longer_validates_is_paused_and_the_others_still_fire(client, sessions):
    broken = client.post("/schedules", json=EVERY_SECOND).json()
    healthy = client.post("/schedules", json=EVERY_SECOND).json()
    with sessions() as session:  # its task type was removed since, say, by a careless deploy
        session.execute(update(Schedule).where(Schedule.id == uuid.UUID(broken["id"])).values(task_type="gone"))
        session.commit()
    for schedule in (broken, healthy):
        make_due(sessions, schedule["id"], timedelta(seconds=2))
    with sessions() as session:
        fire_due_schedules(session=session)  # does not raise: the relay would die on every restart
    assert client.get(f"/schedules/{broken['id']}").json()["paused"] is True
    assert occurrences(sessions, broken["id"]) == [] and len(occurrences(sessions, healthy["id"])) >= 2
    for schedule in (broken, healthy):
        client.delete(f"/schedules/{schedule['id']}")


def test_a_tenant_has_at_most_so_many_schedules(app_for_other_tenant, monkeypatch):
    monkeypatch.setattr("taskflow.services.schedules.MAX_SCHEDULES_PER_TENANT", 2)
    for _ in range(2):
        assert app_for_other_tenant.post("/schedules", json=EVERY_SECOND).status_code == 201
    refused = app_for_other_tenant.post("/schedules", json=EVERY_SECOND)
    assert (refused.status_code, problem_type(refused)) == (409, "too-many-schedules")
    for schedule in app_for_other_tenant.get("/schedules").json():
        app_for_other_tenant.delete(f"/schedules/{schedule['id']}")
