"""The layout a newcomer learns from the README: no import cycles, the layer contracts, the layout table."""
from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import import_graph  # noqa: E402  (tools/ is not a package)


def test_no_import_cycles() -> None:
    assert import_graph.cycles(import_graph.edges()) == []


def test_layer_contracts() -> None:
    assert import_graph.breaches() == []


def test_the_contract_check_catches_a_breach(tmp_path, monkeypatch) -> None:
    """The checker itself works: a cycle and an etl -> jobs import planted in a copy are found."""
    for package in import_graph.PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "etl" / "a.py").write_text("from . import b\nimport django\n")
    (tmp_path / "etl" / "b.py").write_text("def f():\n    from .a import x\n")
    (tmp_path / "etl" / "c.py").write_text("from jobs.models import Run\n")
    monkeypatch.setattr(import_graph, "ROOT", tmp_path)
    assert import_graph.cycles(import_graph.edges()) == [["etl.a", "etl.b"]]
    found = import_graph.breaches()
    assert any("etl.c imports jobs" in b for b in found) and any("etl.a imports django" in b for b in found)


def test_function_local_imports_say_why() -> None:
    """Imports sit at the top of a module unless a comment on the line says why."""
    unexplained = []
    for module, path in import_graph.modules().items():
        lines = path.read_text().splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Import | ast.ImportFrom) and "#" not in lines[inner.lineno - 1]:
                        unexplained.append(f"{module}:{inner.lineno}")
    assert unexplained == []


def _layout_rows() -> dict[str, str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^\| `([^`]+)` \| (.+) \|$", section, re.M))


def test_readme_layout_names_every_package_and_module() -> None:
    rows = _layout_rows()
    for path in rows:
        assert (ROOT / path).exists(), f"README's layout lists {path}, which does not exist"
    for package, init in import_graph.modules().items():
        if init.name != "__init__.py" or package == "jobs.management.commands":
            continue
        folder = package.replace(".", "/") + "/"
        assert folder in rows, f"README's layout table has no row for {folder}"
        for module in sorted(init.parent.glob("*.py")):
            if module.name != "__init__.py":
                assert f"`{module.stem}`" in rows[folder], f"README's row for {folder} does not name {module.stem}"
    commands = ROOT / "jobs" / "management" / "commands"
    for command in sorted(commands.glob("*.py")):
        if command.name != "__init__.py":
            assert f"`{command.stem}`" in rows["jobs/management/"], f"README does not name the command {command.stem}"
    for folder in ("tools", "bench"):
        for script in sorted((ROOT / folder).glob("*.py")):
            assert f"`{script.stem}`" in rows[f"{folder}/"], f"README's row for {folder}/ does not name {script.stem}"
