import os

import pytest
import torch

torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS") or min(2, os.cpu_count() or 1)))  # CI: both cores

# Test tiers (markers registered in pytest.ini). Every test gets exactly one: the marker it carries
# itself, or else the one of its file below; files not listed are unit tests ("fast").
TIERS = ("fast", "model", "app", "browser")
TIER_OF_FILE = {
    "test_model.py": "model", "test_training.py": "model", "test_config.py": "model", "test_bundled.py": "model",
    "test_folder_training.py": "model", "test_lab.py": "model", "test_restart.py": "model",
    "test_app.py": "app",
    "test_browser.py": "browser",
}


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config, items):
    for item in items:
        own = [name for name in TIERS if item.get_closest_marker(name)]
        assert len(own) <= 1, f"{item.nodeid} carries more than one tier marker: {own}"
        if not own:
            item.add_marker(TIER_OF_FILE.get(item.path.name, "fast"))


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
