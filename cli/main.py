"""taskflow: the operator's command. Each group of subcommands lives in a module of its own."""

import click

from cli.database import database
from cli.dead_letters import dead_letters
from cli.keys import keys


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def taskflow() -> None:
    """Operate a taskflow deployment: API keys, dead letters, database roles (DATABASE_URL and the other
    settings come from the environment or .env)."""


taskflow.add_command(keys)
taskflow.add_command(dead_letters)
taskflow.add_command(database)
