# GAN-on-MNIST course: `make lab` trains the full lab, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# nbgrader runs helper programs (alembic, jupyter) by name: find the venv's first.
export PATH := $(CURDIR)/$(BIN):$(PATH)
NOTEBOOK := source/gan_mnist/gan_mnist.ipynb

.PHONY: install sandbox ui-deps lab test ui-test autograde demo bench bench-quality bench-autograde classifier release record clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

# The sandbox that autograde runs students' code in: bubblewrap, the gan-sandbox user and kernelspec (as root).
sandbox: install
	bash sandbox/install.sh

# Headless Chromium for the browser tests: Debian's package (Playwright's own download needs the
# internet); installed as root when missing.
ui-deps: install
	test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

# The whole lab, 50 epochs, with the instructor's solutions: writes results/epoch_5.png ...
# results/epoch_50.png, results/final_grid.png, results/loss_curve.png and the executed notebook.
lab: install
	GAN_PROFILE=full GAN_RESULTS_DIR=$(CURDIR)/results $(BIN)/jupyter nbconvert --to notebook --execute \
		--ExecutePreprocessor.timeout=-1 --output-dir results --output gan_mnist_executed.ipynb $(NOTEBOOK)

# Unit tests, nbval regression of the source notebook (short profile), release sync, real autograding,
# and the browser tests of JupyterLab and formgrader.
test: install sandbox ui-deps
	GAN_PROFILE=quick $(BIN)/python -m pytest -p no:cacheprovider $(PYTEST_ARGS) \
		--nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
		tests $(NOTEBOOK)

# Only the browser tests (screenshots of every step in ui-artifacts/).
ui-test: install sandbox ui-deps
	$(BIN)/python -m pytest -p no:cacheprovider tests/test_ui_student.py tests/test_ui_instructor.py tests/test_ui_sanitize.py

# Autograde every submission in submitted/ (sandboxed), one student at a time, with a summary.
autograde: install sandbox
	$(BIN)/python scripts/autograde_all.py gan_mnist

# The demo class (nbgrader's example-course style): two demo students' submissions, autograded,
# their feedback and grades.csv, all committed.
demo: release sandbox
	$(BIN)/python -m grading.demo
	rm -rf autograded/demo_* feedback/demo_*
	$(BIN)/python scripts/autograde_all.py gan_mnist --force
	$(BIN)/nbgrader generate_feedback gan_mnist --force
	$(BIN)/nbgrader export

# Training speed, the plain way against the lab's way, side by side (medians; last line JSON), the
# real-data quality floor and the recorded 50-epoch quality runs.
bench: install
	$(BIN)/python benchmarks/train_speed.py

# The 50-epoch quality runs (plain, lab, lab in fp32; seeds 0 and 1) that `make bench` reports;
# rewrites benchmarks/quality_runs.json and helpers/reference_quality.json (about 45 minutes).
bench-quality: install
	$(BIN)/python benchmarks/quality_runs.py

# Retrain the MNIST classifier behind helpers.quality (writes helpers/weights/mnist_cnn.pt and mnist_test_stats.pt).
classifier: install
	$(BIN)/python scripts/train_classifier.py

# Seconds per submission graded by `make autograde`'s command, with the checks of grading/verdicts.py and with
# nbgrader's own steps, side by side.
bench-autograde: install sandbox
	$(BIN)/python benchmarks/autograde_batch.py

# Regenerate the student version in release/ from source/ (commit both).
release: install
	$(BIN)/nbgrader generate_assignment gan_mnist --force

# Re-record the reference outputs that nbval compares, then regenerate release/ and the demo class.
record: install
	GAN_PROFILE=quick $(BIN)/python scripts/record_outputs.py $(NOTEBOOK)
	$(MAKE) demo

clean:
	rm -rf results source/gan_mnist/results_quick gradebook.db
