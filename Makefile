# make run / make test do all set-up from a fresh clone: a .venv, the pinned requirements, then the command.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed

.PHONY: run test browser train-tiny bench clean-venv

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

run: $(STAMP)
	$(PY) launch.py

test: $(STAMP) browser
	$(PY) -m pytest

# the browser test drives Debian's headless Chromium; install it once if it is missing (needs root)
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null)

train-tiny: $(STAMP)
	$(PY) -m omnivec_core.train --preset tiny --out runs/tiny

bench: $(STAMP)
	$(PY) bench/omnishapes_speed.py

clean-venv:
	rm -rf $(VENV)
