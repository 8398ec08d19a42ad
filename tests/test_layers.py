"""The project's layers, read from its source: no import circles, no imports of the project's own modules inside
functions (those are kept for optional heavy dependencies), no sys.path patching, and a library that never
reaches into bench/ or tests/."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ("omnivec_core", "omnivec_app")
SCRIPTS = ("bench", "tests")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(packages=LIBRARY) -> dict[str, Path]:
    return {module_name(p): p for package in packages for p in sorted((ROOT / package).rglob("*.py"))}


def imported(name: str, path: Path, node: ast.Import | ast.ImportFrom, known) -> list[str]:
    """The project modules an import statement runs: each target and the packages above it."""
    if isinstance(node, ast.Import):
        targets = [alias.name for alias in node.names]
    else:
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        package = package[:len(package) - node.level + 1] if node.level else []
        base = ".".join(package + ([node.module] if node.module else []))
        targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
    found = []
    for target in targets:
        parts = target.split(".")
        found += [".".join(parts[:k]) for k in range(1, len(parts) + 1) if ".".join(parts[:k]) in known]
    return [m for m in found if not name.startswith(m + ".") and m != name]  # a module's own packages are loaded


def import_graph(packages=LIBRARY) -> dict[str, set[str]]:
    known = modules(packages)
    return {name: {target for node in ast.walk(ast.parse(path.read_text()))
                   if isinstance(node, (ast.Import, ast.ImportFrom)) for target in imported(name, path, node, known)}
            for name, path in known.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each a set of modules importing round a loop."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while not group or group[-1] != v:
                group.append(stack.pop())
                on_stack.discard(group[-1])
            if len(group) > 1:
                found.append(sorted(group))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_the_walk_finds_a_circle_when_there_is_one():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles():
    found = circles(import_graph())
    assert not found, "modules importing round a loop:\n" + "\n".join(" -> ".join(group) for group in found)


def test_no_project_imports_inside_functions():
    known = modules()
    inside = []
    for name, path in known.items():
        for function in ast.walk(ast.parse(path.read_text())):
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                inside += [f"{path.relative_to(ROOT)}:{node.lineno}" for node in ast.walk(function)
                           if isinstance(node, (ast.Import, ast.ImportFrom)) and imported(name, path, node, known)]
    assert not inside, f"project modules imported inside functions: {inside}"


@pytest.mark.parametrize("folder", LIBRARY + SCRIPTS)
def test_nothing_patches_sys_path(folder):
    patched = [f"{p.relative_to(ROOT)}" for p in (ROOT / folder).rglob("*.py")
               if "sys.path" in p.read_text()
               and p.resolve() != Path(__file__).resolve()]
    assert not patched, f"files that patch sys.path: {patched}"


def test_the_library_never_imports_bench_or_tests():
    reaching = [f"{path.relative_to(ROOT)}:{node.lineno}" for path in modules().values()
                for node in ast.walk(ast.parse(path.read_text()))
                if isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").split(".")[0] in SCRIPTS
                or isinstance(node, ast.Import) and any(a.name.split(".")[0] in SCRIPTS for a in node.names)]
    assert not reaching, f"library imports from bench/ or tests/: {reaching}"


QUOTED_MODALITY = r"[\"'](image|video|audio|text|depth|points|imu)[\"']"
NAMING_PLACES = ("omnivec_core/modalities/", "omnivec_core/model/stems.py", "omnivec_core/data/readers/")


def lines_naming_a_modality() -> list[str]:
    """Lines of the library outside the registry, the stems and the readers that name a modality in quotes (a
    Plotly "text" key or a caption file's "video" column counts too: the count is an upper bound)."""
    pattern = re.compile(QUOTED_MODALITY)
    found = []
    for path in modules().values():
        where = path.relative_to(ROOT).as_posix()
        if not where.startswith(NAMING_PLACES):
            found += [f"{where}:{i}" for i, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]
    return found


def test_code_outside_the_registry_rarely_names_a_modality():
    found = lines_naming_a_modality()
    assert len(found) <= 25, f"{len(found)} lines name a modality in quotes; use the registry or its names: {found}"


@pytest.mark.parametrize("folder", LIBRARY + SCRIPTS)
def test_no_undefined_names(folder):
    """A name used but never imported or defined fails only when its line runs; pyflakes finds it from the source."""
    from pyflakes.api import checkPath
    from pyflakes.messages import UndefinedName
    from pyflakes.reporter import Reporter

    class Collect(Reporter):
        def __init__(self):
            self.found = []

        def flake(self, message):
            if isinstance(message, UndefinedName):
                self.found.append(f"{Path(message.filename).relative_to(ROOT)}:{message.lineno}: {message.message_args[0]}")

        def unexpectedError(self, filename, message):
            self.found.append(f"{filename}: {message}")

        def syntaxError(self, filename, message, lineno, offset, text):
            self.found.append(f"{filename}:{lineno}: {message}")

    reporter = Collect()
    for path in sorted((ROOT / folder).rglob("*.py")):
        checkPath(str(path), reporter)
    assert not reporter.found, "\n".join(reporter.found)
