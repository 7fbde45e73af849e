# advgeom: two commands do everything on a fresh machine.
#   make book   install, execute every notebook (default parameters) into book/, build _build/html
#   make test   install, run the test suite (pytest-xdist workers, one per free core and at least two)
#   make check-book  the real book at the tiny presets, from an empty cache, opened offline in Chromium (CI)
#   make sync   pair each notebooks/NN_name.py with notebooks/NN_name.ipynb for JupyterLab (jupytext.toml)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.advgeom-installed
TORCH  := torch==2.9.1 torchvision==0.24.1 torchaudio==2.9.1

.PHONY: book test check-book setup system assets lint sync bench clean

book: setup assets
	$(BIN)/advgeom book

test: setup assets
	$(BIN)/python -m pytest -n auto

check-book: setup assets
	$(BIN)/python benchmarks/real_book.py

setup: system $(STAMP)

system:
	@bash .ci/install-system.sh

$(STAMP): pyproject.toml Makefile
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -e '.[book,test,scale]'
	$(BIN)/python -m pip install -q --no-deps torchattacks==3.5.1
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $@

assets: $(STAMP)
	$(BIN)/advgeom assets

lint: setup
	$(BIN)/ruff check advgeom tests notebooks benchmarks
	$(BIN)/ruff format --check notebooks tests/fixtures

sync: $(STAMP)
	$(BIN)/advgeom sync

bench: setup
	$(BIN)/python benchmarks/capacity.py
	$(BIN)/python benchmarks/eot.py

clean:
	rm -rf _build book/*.ipynb
