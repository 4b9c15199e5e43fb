# GAN-on-MNIST course: `make lab` trains the full lab, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# nbgrader runs helper programs (alembic, jupyter) by name: find the venv's first.
export PATH := $(CURDIR)/$(BIN):$(PATH)
NOTEBOOK := source/gan_mnist/gan_mnist.ipynb

.PHONY: install lab test release record clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

# The whole lab, 50 epochs, with the instructor's solutions: writes results/epoch_5.png ...
# results/epoch_50.png, results/final_grid.png, results/loss_curve.png and the executed notebook.
lab: install
	GAN_PROFILE=full GAN_RESULTS_DIR=$(CURDIR)/results $(BIN)/jupyter nbconvert --to notebook --execute \
		--ExecutePreprocessor.timeout=-1 --output-dir results --output gan_mnist_executed.ipynb $(NOTEBOOK)

# Unit tests, nbval regression of the source notebook (short profile), release sync and real autograding.
test: install
	GAN_PROFILE=quick $(BIN)/python -m pytest -p no:cacheprovider \
		--nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
		tests $(NOTEBOOK)

# Regenerate the student version in release/ from source/ (commit both).
release: install
	$(BIN)/nbgrader generate_assignment gan_mnist --force

# Re-record the reference outputs that nbval compares, then regenerate release/.
record: install
	GAN_PROFILE=quick $(BIN)/python scripts/record_outputs.py $(NOTEBOOK)
	$(MAKE) release

clean:
	rm -rf results source/gan_mnist/results_quick gradebook.db
