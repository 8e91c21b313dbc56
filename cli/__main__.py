"""python -m cli: the `taskflow` command, where its console script is not installed (the images)."""

from cli.main import taskflow

taskflow(prog_name="taskflow")
