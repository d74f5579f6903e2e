"""tests/security/README.md stays true: every test it names exists, every numbered test is listed
under its number, and every number has one line."""

from __future__ import annotations

import ast
import re
from pathlib import Path

HERE = Path(__file__).parent
README = (HERE / "README.md").read_text(encoding="utf-8")
LINES = dict(re.findall(r"^\| (\d+) \| (.+) \|$", README, re.M))


def defined_tests() -> dict[str, set[str]]:
    """Test names by file: ``test_x.py`` here, ``integration/test_x.py`` elsewhere under tests/."""
    found: dict[str, set[str]] = {}
    for path in HERE.parent.glob("*/test_*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
        found[str(path.relative_to(HERE if path.parent == HERE else HERE.parent))] = names
    return found


def test_every_named_test_exists() -> None:
    tests = defined_tests()
    for line in LINES.values():
        for file, name in re.findall(r"`(?:tests/)?([\w/]+\.py)::(\w+)`", line):
            assert name in tests.get(file, set()), f"{file}::{name}"


def test_every_numbered_test_is_listed_under_its_number() -> None:
    for file, names in defined_tests().items():
        for name in names:
            number = re.match(r"test_case_(\d+)_", name)
            if number and "/" not in file:
                assert f"`{file}::{name}`" in LINES[str(int(number[1]))], name


def test_the_numbers_run_as_the_reference_numbers_them() -> None:
    # The reference leaves out 18, 33, 34, 37, 44, 53 and 62.
    expected = [n for n in range(1, 69) if n not in (18, 33, 34, 37, 44, 53, 62)]
    assert [int(n) for n in LINES] == expected
