"""One-way dependencies (STYLE principles 1 and 6), checked by walking every import."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN_IN_GOVERNANCE = ("aiohttp", "aiosqlite", "asyncio", "sqlite3", "socket", "federation", "storage")


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports (absolute names; relative ones resolved against its package)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = []
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


def test_governance_imports_nothing_with_io_and_no_other_layer() -> None:
    folder = ROOT / "fedassembly" / "governance"
    assert list(folder.glob("*.py")), "the governance package is missing"
    assert violations(folder, governance_refuses) == []


def test_federation_does_not_import_fedassembly() -> None:
    folder = ROOT / "federation"
    assert violations(folder, lambda module: module.split(".")[0] == "fedassembly") == []


def test_the_checks_can_fail() -> None:
    """The walker sees plain, from- and relative imports, so a regression would be caught."""
    assert governance_refuses("aiohttp.web") and governance_refuses("fedassembly.storage")
    assert governance_refuses("federation.signatures") and governance_refuses("asyncio")
    assert not governance_refuses("fedassembly.governance.model") and not governance_refuses("fractions")
    sample = ROOT / "fedassembly" / "governance" / "model.py"
    modules = [m for _, m in imported_modules(sample)]
    assert "fedassembly.governance.model" not in modules and "fractions.Fraction" in modules
