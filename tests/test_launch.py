"""The launcher's background warm-up: a low-priority process compiles UMAP's kernels only on a machine whose
numba has not cached them on disk yet (afterwards it would only burn a core beside the first queries)."""
from __future__ import annotations

from types import SimpleNamespace

from omnivec_app import launch


def package(root, name, cached: bool):
    (root / name / "__pycache__").mkdir(parents=True)
    (root / name / "__init__.py").write_text("")
    if cached:
        (root / name / "__pycache__" / "kernels.layout-12.py311.nbi").write_bytes(b"index")
    return SimpleNamespace(origin=str(root / name / "__init__.py"))


def test_kernels_count_as_cached_only_when_every_package_has_numba_index_files(tmp_path, monkeypatch):
    specs = {"warm": package(tmp_path, "warm", True), "cold": package(tmp_path, "cold", False), "absent": None}
    monkeypatch.setattr(launch.importlib.util, "find_spec", specs.get)
    assert launch.kernels_cached(("warm",))
    assert not launch.kernels_cached(("warm", "cold"))
    assert not launch.kernels_cached(("warm", "absent"))


def test_the_umap_warm_up_process_starts_only_while_the_kernels_are_uncached(monkeypatch):
    started = []
    monkeypatch.setattr(launch.subprocess, "Popen", lambda command, **kwargs: started.append(command))
    no_model = SimpleNamespace(model=None, folder=None)
    for cached in (True, False):
        monkeypatch.setattr(launch, "kernels_cached", lambda cached=cached: cached)
        launch.warm_up(no_model)
    assert len(started) == 1 and "'umap'" in started[0][-1]
