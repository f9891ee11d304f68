"""The package's import architecture: the layers in pyproject.toml, and no reaching into private
modules of another top-level package."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
PACKAGE = SRC / "clawgate"


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_module(name: str) -> bool:
    path = SRC.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _is_private(name: str) -> bool:
    return any(
        part.startswith("_") and not (part.startswith("__") and part.endswith("__"))
        for part in name.split(".")
    )


def _owner(name: str) -> str:
    """The top-level package (or module) of clawgate that ``name`` lies in."""
    return ".".join(name.split(".")[:2])


def _imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) for every clawgate module ``path`` imports, relative imports resolved."""
    importer = _module_name(path)
    package = importer if path.name == "__init__.py" else importer.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            yield node.lineno, module
            for alias in node.names:
                # `from clawgate.auth import _httpx_auth` imports a module too.
                if _is_module(f"{module}.{alias.name}"):
                    yield node.lineno, f"{module}.{alias.name}"


def private_import_violations() -> list[str]:
    violations = []
    for path in sorted(PACKAGE.rglob("*.py")):
        importer = _module_name(path)
        for line, imported in _imported_modules(path):
            if imported != "clawgate" and not imported.startswith("clawgate."):
                continue
            if _is_private(imported) and _owner(imported) != _owner(importer):
                violations.append(f"{path.relative_to(ROOT)}:{line}: {importer} imports {imported}")
    return violations


def test_no_module_imports_a_private_module_of_another_package() -> None:
    violations = private_import_violations()
    for violation in violations:
        print(violation)
    assert not violations, "private modules imported across packages:\n" + "\n".join(violations)


def test_the_import_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    assert lint_imports.is_file(), f"{lint_imports} is missing: install requirements.lock"
    result = subprocess.run(
        [str(lint_imports), "--no-logo", "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        print(result.stdout)
        print(result.stderr)
    assert result.returncode == 0, result.stdout + result.stderr
