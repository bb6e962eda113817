"""The folders are the architecture: no module imports a layer above its own, and only the app imports Streamlit.

Read with `ast`, so every import counts, including the ones inside functions (lazy imports).
"""

from __future__ import annotations

import ast
from pathlib import Path

from aiart.config import PROJECT_ROOT

# Lowest first; a module may import its own layer and the ones below (ARCHITECTURE.md draws the same).
LAYERS = [
    {"config", "metrics"},
    {"cam"},
    {"data", "model"},
    {"explain", "breakdown", "figure", "__init__"},
    {"training", "trust", "evaluate", "browse", "classroom"},
    {"app", "bench", "cli", "__main__"},
]
RANK = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}
STREAMLIT_OK = ("aiart/app/", "aiart/bench/sessions.py", "pages/", "streamlit_app.py")  # sessions drives the app


def package_files() -> list[Path]:
    return sorted((PROJECT_ROOT / "aiart").rglob("*.py"))


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts)


def imports(path: Path) -> set[str]:
    """Every module `path` imports, as dotted names; `from a.b import c` counts a.b.c when c is a module."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                is_module = (PROJECT_ROOT / sub.replace(".", "/")).with_suffix(".py").exists()
                found.add(sub if is_module or (PROJECT_ROOT / sub.replace(".", "/")).is_dir() else node.module)
    return found


def layer(module: str) -> str:
    """'aiart.model.storage' -> 'model'; 'aiart' (the package itself) -> '__init__'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_package_module_has_a_layer():
    assert {layer(module_name(p).removesuffix(".__init__")) for p in package_files()} <= set(RANK)


def test_no_module_imports_a_layer_above_its_own():
    problems = []
    for path in package_files():
        me = module_name(path).removesuffix(".__init__")
        for other in imports(path):
            if other.split(".")[0] == "aiart" and RANK[layer(other)] > RANK[layer(me)]:
                problems.append(f"{me} imports {other}")
    assert not problems, problems


def test_package_imports_have_no_cycles():
    graph = {}
    for path in package_files():
        graph[module_name(path).removesuffix(".__init__")] = {m for m in imports(path) if m.startswith("aiart.")}
    done: set[str] = set()

    def visit(node: str, stack: list[str]) -> None:
        assert node not in stack, " -> ".join([*stack[stack.index(node) :], node])
        if node in done:
            return
        for nxt in graph.get(node, ()):
            visit(nxt, [*stack, node])
        done.add(node)

    for node in graph:
        visit(node, [])


def test_only_the_app_imports_streamlit():
    code = [*package_files(), *PROJECT_ROOT.glob("pages/*.py"), PROJECT_ROOT / "streamlit_app.py"]
    users = {p.relative_to(PROJECT_ROOT).as_posix() for p in code if any(m.startswith("streamlit") for m in imports(p))}
    assert users and all(u.startswith(STREAMLIT_OK) for u in users), sorted(users)


def test_app_page_packages_stand_on_the_shared_app_modules_only():
    """`aiart/app/classroom/` and `aiart/app/train/` are separate pages' glue: neither imports the other, and
    the shared modules under them (`ui`, `keep`, `honesty`, ...) import neither."""
    pages = {"classroom", "train"}
    problems = []
    for path in sorted((PROJECT_ROOT / "aiart" / "app").rglob("*.py")):
        me = module_name(path).removesuffix(".__init__").split(".")
        mine = me[2] if len(me) > 3 or (len(me) == 3 and me[2] in pages) else None
        for other in imports(path):
            parts = other.split(".")
            theirs = parts[2] if parts[:2] == ["aiart", "app"] and len(parts) > 2 and parts[2] in pages else None
            if theirs and theirs != mine:
                problems.append(f"{'.'.join(me)} imports {other}")
    assert not problems, problems
