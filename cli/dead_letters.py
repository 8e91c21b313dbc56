"""taskflow dead-letters: every tenant's dead letters, redriven or discarded by an operator."""

import uuid

import click

from cli.session import operator_session
from taskflow.services.dead_letters import DeadLetterView, discard_dead_letters, list_dead_letters, redrive_dead_letters


@click.group("dead-letters")
def dead_letters() -> None:
    """Look at every tenant's dead letters and dispatch their tasks again."""


@dead_letters.command("list")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000))
def list_letters(limit: int) -> None:
    """The newest dead letters of every tenant, bodies that name no task included."""
    with operator_session() as session:
        for view in list_dead_letters(session, tenant_id=None, limit=limit).letters:
            click.echo(_line(view))


def _line(view: DeadLetterView) -> str:
    task = f"task {view.task_id} {view.status}" if view.task_id else f"(not a task message) {view.body[:80]!r}"
    return (
        f"#{view.id}  {view.message_id}  {task}  delivered {view.receive_count}x  "
        f"sent {view.sent_at:%Y-%m-%d %H:%M:%S}  first failure {view.first_failure_at or '-'}  "
        f"last failure {view.last_failure_at or '-'}  {view.last_error or ''}"
    )


@dead_letters.command()
@click.option("--task", "task_ids", type=click.UUID, multiple=True, help="only this task's letters (repeatable)")
def redrive(task_ids: tuple[uuid.UUID, ...]) -> None:
    """Dispatch the dead-lettered tasks again (attempts start over) and remove their letters."""
    with operator_session() as session:
        dispatched = redrive_dead_letters(session, None, set(task_ids) if task_ids else None)
    click.echo(f"dispatched {len(dispatched)} tasks again")


@dead_letters.command()
@click.argument("letter_ids", type=int, nargs=-1, required=True)
def discard(letter_ids: tuple[int, ...]) -> None:
    """Delete letters by id (#N in the list): the way out for bodies that name no task."""
    with operator_session() as session:
        click.echo(f"discarded {discard_dead_letters(session, list(letter_ids))} letters")
