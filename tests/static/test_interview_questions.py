"""INTERVIEW_QUESTIONS.md stays true to the code: every question names a file and symbols that exist."""

import re

from tests.static.conftest import ROOT

TEXT = (ROOT / "INTERVIEW_QUESTIONS.md").read_text()
QUESTIONS = re.findall(r"^### \d+\. ([^\n]+) \((junior|mid|senior)\)\n(.*?)(?=^### |^## )", TEXT, re.S | re.M)
TOPICS = [
    "dual-write", "outbox", "at least once", "idempoten", "visibility timeout", "partial batch", "dead-letter",
    "redrive", "optimistic concurrency", "ETag", "keyset", "offset", "RDS Proxy", "stop scaling",
]  # fmt: skip


def test_there_are_at_least_thirty_questions_each_complete():
    assert len(QUESTIONS) >= 30
    for title, _, body in QUESTIONS:
        for part in ("**Where:**", "**Strong answer:**", "**Follow-up:**", "**Red flags:**"):
            assert part in body, f"{title!r} lacks {part}"


PATH_LIKE = re.compile(r"[\w.-]+(?:/[\w.-]+)+|[\w.-]+\.(?:py|md|yml|yaml|toml|ini|txt|json|sh|mk)")


def test_every_question_points_at_a_file_and_symbols_that_exist():
    for title, _, body in QUESTIONS:
        where = re.search(r"\*\*Where:\*\* (.*?)(?=\n- \*\*|\Z)", body, re.S).group(1)
        named = 0
        # "`file` → `symbol`, `symbol`, `file`; ...": a file's symbols follow it, up to the next file or semicolon.
        for part in where.split(";"):
            path = None
            for token in re.findall(r"`([^`]+)`", part):
                if PATH_LIKE.fullmatch(token):
                    path, named = ROOT / token, named + 1
                    assert path.exists(), f"{title!r}: {token} does not exist"
                elif path is not None:
                    assert token.split(".")[-1] in path.read_text(), f"{title!r}: {token} is not in {path}"
        assert named, f"{title!r}: names no file"


def test_the_required_topics_are_covered():
    missing = [topic for topic in TOPICS if topic.lower() not in TEXT.lower()]
    assert not missing


def test_questions_span_every_level():
    assert {level for _, level, _ in QUESTIONS} == {"junior", "mid", "senior"}


def test_each_plan_adds_up_and_names_the_scenario_times():
    table = [
        row
        for row in TEXT[TEXT.index("| | 45 minutes") : TEXT.index("**total**")].splitlines()[2:]
        if row.count("|") == 5
    ]
    minutes = [[int(m[-1]) if (m := re.findall(r"\d+", cell)) else 0 for cell in row.split("|")[2:5]] for row in table]
    assert [sum(column) for column in zip(*minutes, strict=True)] == [45, 60, 90]
    plan = dict(re.findall(r"(junior|mid|senior) scenario \((\d+)\)", TEXT))
    from scenarios.catalog import all_scenarios

    assert {s.name: s.minutes for s in all_scenarios()} == {s.name: int(plan[s.level]) for s in all_scenarios()}
