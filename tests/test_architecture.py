"""The package's shape (docs/ARCHITECTURE.md): no import cycle, modes side by side, the library owns no mode."""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "pianojax"


def module_name(path: pathlib.Path) -> str:
  parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
  return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
  """module -> the pianojax modules it imports (anywhere in the file, lazy imports included)."""
  modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
  graph = {}
  for name, path in modules.items():
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
      if isinstance(node, ast.Import):
        found |= {a.name for a in node.names}
      elif isinstance(node, ast.ImportFrom) and node.module:
        found |= {f"{node.module}.{a.name}" for a in node.names} | {node.module}
    graph[name] = {m for m in found if m in modules and m != name}
  return graph


def test_no_import_cycle():
  graph = imports()
  done, stack = set(), []

  def visit(module):
    if module in stack:
      cycle = [*stack[stack.index(module) :], module]
      pytest.fail("import cycle: " + " -> ".join(cycle))
    if module in done:
      return
    stack.append(module)
    for dep in graph[module]:
      if dep != "pianojax" and not module.startswith(dep + "."):  # a package's __init__ is not a cycle
        visit(dep)
    stack.pop()
    done.add(module)

  for module in graph:
    visit(module)


def test_modes_import_no_other_mode_and_the_library_imports_no_mode():
  from pianojax.modes import MODES

  graph = imports()
  modes = {f"pianojax.modes.{m}" for m in MODES}
  assert modes <= set(graph), modes - set(graph)
  for module, deps in graph.items():
    if module in ("pianojax.cli", "pianojax.modes"):
      continue
    wrong = deps & modes
    assert not wrong, f"{module} imports {sorted(wrong)}"
