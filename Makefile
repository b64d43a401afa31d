# The two set-up commands of README.md: `make demo` and `make test`.
# Both create (or refresh, when pyproject.toml changes) a virtual environment in .venv,
# install torch==2.13.0 first (the CPU build on these machines; an unpinned torch pulls CUDA),
# then the package with its train and dev extras.
VENV    ?= .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.edgekit-installed
PYTHON3 ?= python3

.PHONY: install demo test bench clean

$(STAMP): pyproject.toml setup.py
	$(PYTHON3) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[train,dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(VENV)/bin/edgekit demo --out results/demo

test: install
	$(PY) -m pytest -q tests

# Takes about an hour on 2 cores: the pandas baseline (~8 min) and UCI-HAR training (~26 min) dominate.
bench: install
	mkdir -p results/bench
	$(PY) -m pytest bench --benchmark-columns=min,median,max,rounds --benchmark-sort=name --benchmark-json=results/bench/benchmark.json
	$(PY) bench/simulator_report.py
	$(PY) bench/train_uci_har.py
	$(PY) bench/export_uci_har.py
	$(PY) bench/bridge_callgrind.py --out results/bench/bridge_callgrind.json
	$(VENV)/bin/edgekit bridge size --json > results/bench/bridge_size.json
	$(PY) bench/make_tables.py results/bench

clean:
	rm -rf $(VENV) results build dist *.egg-info
