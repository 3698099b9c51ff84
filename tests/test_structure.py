"""The house rules of ``girl_lib`` (docs/architecture.md), checked on the source: no import cycle between
modules, no function over 8 parameters, and no module over ~500 lines without its docstring saying why."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "girl_lib"
MAX_PARAMS = 8
MAX_LINES = 500
WHY = "One file on purpose"


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _module_level_imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The girl_lib modules ``name`` imports when it is loaded (function-local imports are left out: they
    run later and are how an optional dependency stays optional)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            candidates = [f"{target}.{a.name}" for a in node.names] + [target]
        elif isinstance(node, ast.Import):
            candidates = [a.name for a in node.names]
        else:
            continue
        found |= {c for c in candidates if c in known and c != name}
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_cycle_finder_finds_a_cycle_and_accepts_a_tree():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycle_between_girl_lib_modules():
    modules = _modules()
    known = set(modules)
    graph = {}
    for name, path in modules.items():
        deps = _module_level_imports(name, path, known)
        # a package's __init__ re-exports its submodules: importing a submodule loads its package first,
        # so only edges leaving the package count for the package itself
        graph[name] = {d for d in deps if not (path.name == "__init__.py" and d.startswith(name + "."))}
    assert "girl_lib.report" in graph["girl_lib.ppo.stage"] and "girl_lib.sampling" in graph["girl_lib.generate"]
    assert _cycle(graph) is None, f"import cycle: {' -> '.join(_cycle(graph))}"


def _functions(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_function_takes_more_than_eight_parameters(path):
    too_many = []
    for fn in _functions(ast.parse(path.read_text())):
        a = fn.args
        names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs if x.arg not in ("self", "cls")]
        count = len(names) + (a.vararg is not None) + (a.kwarg is not None)
        if count > MAX_PARAMS:
            too_many.append(f"{fn.name} ({count})")
    assert not too_many, f"{path.name}: group related parameters into a small frozen dataclass: {too_many}"


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_long_module_says_why_it_is_one_file(path):
    text = path.read_text()
    if len(text.splitlines()) > MAX_LINES:
        doc = ast.get_docstring(ast.parse(text)) or ""
        assert WHY in doc, (f"{path.relative_to(PACKAGE)} has {len(text.splitlines())} lines: split it along its "
                            f"seams, or say in its docstring why it is one file ('{WHY} ...')")
