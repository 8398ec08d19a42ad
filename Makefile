# make run / make test do all set-up from a fresh clone: a .venv, the pinned requirements, the project itself
# installed editable (its packages and console scripts: omnivec-app, omnivec-train, omnivec-eval, omnivec-lab,
# omnivec-world), then the command.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed

.PHONY: run test test-fast test-model test-app test-browser debs train-tiny bench clean-venv

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

run: $(STAMP)
	$(PY) launch.py

# Test tiers: each test carries one marker (pytest.ini; tests/conftest.py gives it by file). `make test`
# runs them all (what CI runs); PYTEST_ARGS passes more, e.g. make test-fast PYTEST_ARGS="-x -k imu".
test: $(STAMP) debs
	$(PY) -m pytest $(PYTEST_ARGS)

# unit tests: readers, OmniShapes, IMU, app components (about half a minute on 2 cores)
test-fast: $(STAMP) debs
	$(PY) -m pytest -m fast $(PYTEST_ARGS)

# builds and trains models: model, training, config, bundled checkpoint (the long tier)
test-model: $(STAMP) debs
	$(PY) -m pytest -m model $(PYTEST_ARGS)

# every api_name end to end through gradio_client
test-app: $(STAMP)
	$(PY) -m pytest -m app $(PYTEST_ARGS)

# headless Chromium opens every tab (SCREENSHOT_DIR=DIR keeps a screenshot of each)
test-browser: $(STAMP) debs
	$(PY) -m pytest -m browser $(PYTEST_ARGS)

# the Debian programs the tests need, installed once if one is missing (needs root): headless Chromium for
# the browser test; ffmpeg and espeak-ng draw the clips and spoken sounds of the folder-dataset tests; ImageMagick
# and sox draw pictures and tones of the foreign-media benchmark
DEBS := chromium chromium-driver ffmpeg espeak-ng imagemagick sox
debs:
	@(for tool in chromium chromedriver ffmpeg espeak-ng identify sox; do command -v $$tool >/dev/null || exit 1; done) || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBS) >/dev/null)

train-tiny: $(STAMP)
	$(PY) -m omnivec_core.train --preset tiny --out runs/tiny

bench: $(STAMP)
	$(PY) -m bench.omnishapes_speed

clean-venv:
	rm -rf $(VENV)
