"""Debugging scenarios: a realistic fault, what the candidate is told, and a hidden check that says when it is
fixed. `python -m scenarios --help` lists the commands; the make targets call them."""

import os
import sys
import time
from pathlib import Path

import click
import httpx

from devstack import DATA_DIR
from scenarios.catalog import LEVELS, ROOT, all_scenarios, scenario
from scenarios.checking import run_check
from scenarios.planting import plant, take_out
from scenarios.provoking import Stack, SymptomNotSeen, provoke
from scenarios.workspace import prepare_workspace


def named(_context, _parameter, name: str):
    try:
        return scenario(name)
    except KeyError as missing:
        raise click.BadParameter(missing.args[0]) from None


NAME = click.argument("name", callback=named)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def scenarios() -> None:
    """Debugging scenarios for interviews (`interview`, then `check --dir`) and for self-study (`setup`)."""


@scenarios.command("list")
def list_scenarios() -> None:
    """Every scenario: level, minutes and title."""
    for level in LEVELS:
        for found in (s for s in all_scenarios() if s.level == level):
            click.echo(f"  {found.level:<7} {found.minutes:>3} min  {found.name:<30} {found.title}")


@scenarios.command()
@NAME
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def interview(name, directory: Path) -> None:
    """Write the candidate's workspace for NAME into DIRECTORY: a fresh repository with the fault in it."""
    try:
        prepare_workspace(name, directory)
    except (FileExistsError, RuntimeError) as refused:
        raise click.ClickException(str(refused)) from None
    click.echo(f"workspace for {name.name} ({name.level}, {name.minutes} min) in {directory}")
    click.echo("hand the candidate that folder; its BRIEFING.md is what they are told. When they are done:")
    click.echo(f"  make scenario-check NAME={name.name} DIR={directory}")


@scenarios.command()
@NAME
@click.option("--dir", "directory", type=click.Path(exists=True, file_okay=False, path_type=Path), default=ROOT,
              help="the candidate's workspace (default: this checkout, for self-study)")  # fmt: skip
def check(name, directory: Path) -> None:
    """Run NAME's hidden check and the tests that guard against its fault, on the code in DIR."""
    solved = run_check(name, directory).returncode == 0
    click.echo(f"\nscenario {name.name}: {'SOLVED' if solved else 'NOT SOLVED YET'}")
    sys.exit(0 if solved else 1)


@scenarios.command("provoke")
@NAME
@click.option("--dir", "directory", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="the workspace whose `make dev` is running (default: this checkout's)")  # fmt: skip
def provoke_symptom(name, directory: Path | None) -> None:
    """Drive the running stack (make dev, with NAME's fault in its code) until NAME's symptom shows."""
    data = DATA_DIR if directory is None or "TASKFLOW_DATA_DIR" in os.environ else directory / ".data"
    started = time.monotonic()
    try:
        moved = provoke(name, Stack.of(data))
    except (FileNotFoundError, SymptomNotSeen) as missing:
        raise click.ClickException(str(missing)) from None
    except httpx.HTTPError as unreachable:
        raise click.ClickException(f"the stack does not answer ({unreachable}): is `make dev` running?") from None
    click.echo(f"{name.name}: the symptom shows after {time.monotonic() - started:.0f} s: {moved}")
    click.echo("see it on the dashboard and in /metrics (make dev's banner lists their addresses)")


@scenarios.command()
@NAME
def setup(name) -> None:
    """Self-study: plant NAME's fault in this working tree (`git diff` shows the answer)."""
    try:
        plant(name)
    except RuntimeError as refused:
        raise click.ClickException(str(refused)) from None
    click.echo(f"scenario {name.name} is set up. Read scenarios/{name.name}/briefing.md; `make scenario-check")
    click.echo(f"NAME={name.name}` tells you when it is solved, and `make scenario-reset` puts the tree back.")


@scenarios.command()
def reset() -> None:
    """Self-study: take the planted fault out of this working tree (edits to the files it touched go too)."""
    try:
        planted = take_out()
    except RuntimeError as refused:
        raise click.ClickException(str(refused)) from None
    click.echo("no scenario is set up" if planted is None else f"{planted} taken out: the tree is back to the fix")


if __name__ == "__main__":
    scenarios(prog_name="python -m scenarios")
