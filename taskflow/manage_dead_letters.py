"""Look at every tenant's dead letters and dispatch their tasks again, for an operator.

python -m taskflow.manage_dead_letters list [--limit N]
python -m taskflow.manage_dead_letters redrive [--task TASK_ID ...]
python -m taskflow.manage_dead_letters discard LETTER_ID ...      (bodies naming no task stay until discarded)
"""

import argparse
import uuid

from taskflow.db.engine import make_engine, make_session_factory
from taskflow.db.login import process_login
from taskflow.services.dead_letters import (
    dead_letter_views,
    dead_letters_query,
    discard_dead_letters,
    redrive_dead_letters,
)
from taskflow.settings import get_settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m taskflow.manage_dead_letters", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("list", help="the newest dead letters of every tenant")
    show.add_argument("--limit", type=int, default=100)
    redrive = commands.add_parser("redrive", help="dispatch the dead-lettered tasks again and remove their letters")
    redrive.add_argument("--task", type=uuid.UUID, action="append", help="only this task's letters (repeatable)")
    discard = commands.add_parser("discard", help="delete letters by id (for bodies that name no task)")
    discard.add_argument("letter_id", type=int, nargs="+")
    args = parser.parse_args(argv)

    sessions = make_session_factory(make_engine(get_settings().database_url, pool_size=1, login=process_login()))
    with sessions() as session:
        if args.command == "list":
            for view in dead_letter_views(session.execute(dead_letters_query(None, args.limit))):
                poison = f"(not a task message) {view.body[:80]!r}"
                task = f"task {view.task_id} {view.status}" if view.task_id else poison
                print(
                    f"#{view.id}  {view.message_id}  {task}  delivered {view.receive_count}x  "
                    f"sent {view.sent_at:%Y-%m-%d %H:%M:%S}  first failure {view.first_failure_at or '-'}  "
                    f"last failure {view.last_failure_at or '-'}  {view.last_error or ''}"
                )
        elif args.command == "redrive":
            dispatched = redrive_dead_letters(session, None, set(args.task) if args.task else None)
            print(f"dispatched {len(dispatched)} tasks again")
        else:
            print(f"discarded {discard_dead_letters(session, args.letter_id)} letters")


if __name__ == "__main__":
    main()
