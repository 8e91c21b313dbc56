"""`make task-type NAME=...`: a new task type module and its test, from the templates beside this file.

python -m devstack.new_task_type NAME     (NAME in snake_case, e.g. resize_image)
"""

import keyword
import re
import sys
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent / "templates"
SNAKE_CASE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")


def check_name(name: str, root: Path) -> None:
    """Exit with a clear message unless `name` can be a new task type in `root`."""
    if not SNAKE_CASE.fullmatch(name) or keyword.iskeyword(name):
        sys.exit(f"task-type: {name!r} is not a snake_case Python name (try e.g. resize_image)")
    if (root / "taskflow" / "task_types" / f"{name}.py").exists():
        sys.exit(f"task-type: taskflow/task_types/{name}.py already exists")


def scaffold(name: str, root: Path) -> list[Path]:
    """Write the type's module and its unit test under `root`; return their paths."""
    check_name(name, root)
    values = {"name": name, "model": "".join(part.title() for part in name.split("_")) + "Payload"}
    written = []
    for template, target in (
        ("task_type.py.tmpl", root / "taskflow" / "task_types" / f"{name}.py"),
        ("test_task_type.py.tmpl", root / "tests" / "unit" / f"test_task_type_{name}.py"),
    ):
        target.write_text((TEMPLATES / template).read_text().format(**values))
        written.append(target)
    return written


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: make task-type NAME=snake_case_name")
    root = Path.cwd()
    for path in scaffold(sys.argv[1], root):
        print(f"created {path.relative_to(root)}")
    print("next: fill in the payload model and the function, run `make test-unit`; docs/add-a-task-type.md")


if __name__ == "__main__":
    main()
