# make run / make test do all set-up from a fresh clone: a .venv, the pinned requirements, then the command.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed

.PHONY: run test train-tiny bench clean-venv

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

run: $(STAMP)
	$(PY) launch.py

test: $(STAMP)
	$(PY) -m pytest

train-tiny: $(STAMP)
	$(PY) -m omnivec_core.train --preset tiny --out runs/tiny

bench: $(STAMP)
	$(PY) bench/omnishapes_speed.py

clean-venv:
	rm -rf $(VENV)
