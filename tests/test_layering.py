"""One-way dependencies between the wings, checked by walking every import (docs/architecture.md)."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN_IN_GOVERNANCE = ("aiohttp", "aiosqlite", "asyncio", "sqlite3", "socket", "federation", "storage")


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports (absolute names; relative ones resolved against its package)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found.extend((node.lineno, f"{module}.{alias.name}") for alias in node.names)
    return found


def violations(folder: Path, refuse) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in sorted(folder.rglob("*.py"))
        for line, module in imported_modules(path)
        if refuse(module)
    ]


def governance_refuses(module: str) -> bool:
    top = module.split(".")[0]
    if top in FORBIDDEN_IN_GOVERNANCE:
        return True
    # Inside fedassembly, only the governance package itself.
    return (
        top == "fedassembly" and module != "fedassembly" and not module.startswith("fedassembly.governance")
    )


def _top(module: str) -> str:
    return module.split(".")[0]


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


# Modules that build the node's machinery (open the database, migrate it, start workers, open
# outgoing HTTP): only the shell wires them in; everything else receives what they make.
WIRING = (
    "storage.migrate",
    "federation.delivery",
    "federation.send_process",
    "federation.posting",
    "federation.session",
    "federation.fetch.create_session",
    "fedassembly.main",
    "fedassembly.cli",
)
SHELL = ("fedassembly/main.py", "fedassembly/cli.py", "fedassembly/serve.py", "fedassembly/__main__.py")

# (folder, what it may never import, why)
LAYERS: list[tuple[str, Callable[[str], bool], str]] = [
    ("fedassembly/governance", governance_refuses, "governance is pure"),
    ("federation", lambda m: _top(m) in ("fedassembly", "storage"), "federation knows nothing of ours"),
    ("storage", lambda m: _top(m) in ("fedassembly", "federation"), "storage imports nothing of ours"),
    ("fedassembly/web", lambda m: _top(m) == "storage", "web calls app/, never storage"),
    ("fedassembly/app", lambda m: _within(m, "fedassembly.web"), "app never imports web"),
]


@pytest.mark.parametrize(("folder", "refuse", "why"), LAYERS, ids=[layer[0] for layer in LAYERS])
def test_layer_imports_only_what_it_may(folder: str, refuse: Callable[[str], bool], why: str) -> None:
    path = ROOT / folder
    assert list(path.rglob("*.py")), f"{folder} is missing"
    assert violations(path, refuse) == [], why


def test_only_the_shell_wires_storage_and_federation_in() -> None:
    wired = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for folder in ("fedassembly", "federation", "storage")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if str(path.relative_to(ROOT)) not in SHELL
        for line, module in imported_modules(path)
        if any(_within(module, wiring) for wiring in WIRING)
        # federation's own modules may build on each other (the send process on delivery).
        and not (folder == "federation" and _top(module) == "federation")
    ]
    assert wired == []


def test_the_checks_can_fail() -> None:
    """The walker sees plain, from- and relative imports, so a regression would be caught."""
    assert governance_refuses("aiohttp.web") and governance_refuses("fedassembly.storage")
    assert governance_refuses("federation.signatures") and governance_refuses("asyncio")
    assert not governance_refuses("fedassembly.governance.model") and not governance_refuses("fractions")
    sample = ROOT / "fedassembly" / "governance" / "model.py"
    modules = [m for _, m in imported_modules(sample)]
    assert "fedassembly.governance.model" not in modules and "fractions.Fraction" in modules
    web_refuses = dict((folder, refuse) for folder, refuse, _ in LAYERS)["fedassembly/web"]
    assert web_refuses("storage.members") and not web_refuses("fedassembly.app.records")
