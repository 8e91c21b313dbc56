"""Look at the dead-letter queue and move its messages back, for an operator (every tenant).

python -m taskflow.manage_dead_letters list [--limit N]
python -m taskflow.manage_dead_letters redrive [--task TASK_ID ...]
"""

import argparse
import uuid

from taskflow.db.engine import make_engine, make_session_factory
from taskflow.dead_letter_queue import DeadLetterQueue
from taskflow.services.dead_letters import describe_dead_letters, requeue_for_redrive
from taskflow.settings import get_settings
from taskflow.sqs import make_sqs_client, queue_url


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m taskflow.manage_dead_letters", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("list", help="peek at the dead letters without consuming them")
    show.add_argument("--limit", type=int, default=100)
    redrive = commands.add_parser("redrive", help="queue the tasks again and move their messages back")
    redrive.add_argument("--task", type=uuid.UUID, action="append", help="only this task's message (repeatable)")
    args = parser.parse_args(argv)

    settings = get_settings()
    client = make_sqs_client(settings)
    queue = DeadLetterQueue(
        client, queue_url(client, f"{settings.queue_name}-dlq"), queue_url(client, settings.queue_name)
    )
    sessions = make_session_factory(make_engine(settings.database_url, pool_size=1))
    with sessions() as session:
        if args.command == "list":
            for view in describe_dead_letters(session, queue.peek(args.limit), tenant_id=None):
                print(
                    f"{view.message_id}  task {view.task_id or '(not a task message)'}  {view.status or '-'}  "
                    f"received {view.receive_count}x  first failure {view.first_failure_at}  "
                    f"last failure {view.last_failure_at}  {view.last_error or ''}"
                )
            return
        letters = queue.peek(100_000)
        named = {
            letter.task_id for letter in letters if letter.task_id and (not args.task or letter.task_id in args.task)
        }
        movable = requeue_for_redrive(session, named, tenant_id=None)
        if args.task:
            moved = queue.move_back(lambda letter: letter.task_id in movable)
            print(f"moved {len(moved)} messages back; their failed tasks are queued again")
        else:
            # Every message moves, poison ones too: SQS's own redrive, where the endpoint has it.
            print(f"{queue.move_all_back()}; {len(movable)} tasks are queued again")


if __name__ == "__main__":
    main()
