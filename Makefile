# GAN-on-MNIST course: `make lab` trains the full lab, `make test` runs every test (`make check`: the fast tier).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# nbgrader runs helper programs (alembic, jupyter) by name: find the venv's first.
export PATH := $(CURDIR)/$(BIN):$(PATH)
ASSIGNMENT ?= gan_mnist
COURSE ?= .
NOTEBOOK := source/$(ASSIGNMENT)/$(ASSIGNMENT).ipynb
PYTEST_OPTIONS := -p no:cacheprovider --nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg
PYTEST := GAN_PROFILE=quick $(BIN)/python -m pytest $(PYTEST_OPTIONS)

.PHONY: install sandbox ui-deps lab check test ui-test release autograde regrade feedback demo record \
	bench bench-quality bench-autograde classifier clean handout lms-collect lms-export hub hub-stop hub-autograde hub-test bench-hub \
	postgres postgres-stop gradebook-to-postgres class-report bench-class bench-busy bench-grading

# The instructor's and CI's environment (requirements-dev.txt: the student's requirements.txt and the tools), with
# the grade-by-question page (grading/by_question/) enabled beside formgrader in its Jupyter servers.
install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	install -D -m 644 grading/by_question/jupyter_server_config.json $(VENV)/etc/jupyter/jupyter_server_config.d/grading.by_question.json
	touch $@

# The sandbox that autograde runs students' code in: bubblewrap, the gan-sandbox user and kernelspec (as root).
sandbox: install
	bash sandbox/install.sh

# Headless Chromium for the browser tests: Debian's package (Playwright's own download needs the
# internet); installed as root when missing.
ui-deps: install
	test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

# The whole lab, 50 epochs, with the instructor's solutions, epoch by epoch in the terminal: writes
# results/epoch_5.png ... results/epoch_50.png, results/final_grid.png, results/loss_curve.png and the executed notebook.
lab: install
	GAN_PROFILE=full GAN_RESULTS_DIR=$(CURDIR)/results $(BIN)/python tools/run_lab.py $(NOTEBOOK) \
		--output-dir results --output $(ASSIGNMENT)_executed.ipynb

# The fast tier (about 2 minutes): unit tests, nbval regression of every assignment's source notebook (short
# profile), release sync.
check: install
	$(PYTEST) -m "not slow and not browser" tests $(wildcard source/*/*.ipynb)

# Every test: the fast tier, real sandboxed autograding of one shared graded class, the seed sweep, the
# instructor's path on a fresh copy of the repository, the hand-out, and the browser tests of JupyterLab and
# formgrader; as three pytest runs side by side (tools/run_tests.py: the sandboxed tests, the hub's and the rest).
test: install sandbox ui-deps
	$(BIN)/python tools/run_tests.py $(PYTEST_OPTIONS) $(PYTEST_ARGS)

# Only the browser tests (screenshots of every step in ui-artifacts/).
ui-test: install sandbox ui-deps
	$(PYTEST) -m browser tests

# Regenerate the student version in release/ from source/ (commit both) and enter it in the class's gradebook.
# Every target of the class's work takes ASSIGNMENT=<name> (any assignment under COURSE/source/, its notebook <name>.ipynb;
# default gan_mnist) and COURSE=<course root> (default: this folder).
release: install
	cd $(COURSE) && nbgrader generate_assignment $(ASSIGNMENT) --force

# The students' hand-out, COURSE/dist/<assignment>-student.zip: the assignment's release folder, the course's package
# as a wheel, MNIST, a README with what a computer needs and the commands that install and open it on Windows, macOS
# and Linux (grading/handout.py says what is inside).
handout: install
	$(BIN)/python -m grading.handout $(ASSIGNMENT) --root $(COURSE)

# An LMS's submissions (Canvas or Moodle "download all submissions" zip in downloaded/<assignment>/archive/) into
# submitted/<LMS id>/<assignment>/; a student's folder already there stops it (nbgrader's --force would replace it).
lms-collect: install
	cd $(COURSE) && nbgrader zip_collect $(ASSIGNMENT)

# grades-lms.csv for an LMS gradebook's import: each part's score, the late penalty and the total per student.
lms-export: install
	cd $(COURSE) && nbgrader export --exporter=grading.lms.LmsExport --to=grades-lms.csv

# The course's JupyterHub on 127.0.0.1:8000 (as root): accounts instructor, ta, student1..N, the nbgrader exchange,
# formgrader as the course's service (hub/hub.sh, hub/jupyterhub_config.py). `make hub-stop` removes all of it.
STUDENTS ?= 3
hub: handout
	ASSIGNMENT=$(ASSIGNMENT) bash hub/hub.sh start $(STUDENTS)

hub-stop:
	bash hub/hub.sh stop

# Autograde what formgrader collected on the hub, in the sandbox (as root), with the report of `make autograde`.
hub-autograde: install sandbox
	ASSIGNMENT=$(ASSIGNMENT) bash hub/hub.sh autograde

# The semester loop through the hub in Chromium (tests/test_hub.py; screenshots in ui-artifacts/hub-*/): starts the
# hub on free ports, releases, fetches, submits, collects, autogrades, then stops it (keeping its installed environment).
hub-test: install sandbox ui-deps
	$(PYTEST) -m hub tests/test_hub.py

# N students' servers on the hub each run the short training run (Validate) at once, against one alone: the median
# and worst time, the hub's and the servers' peak memory (benchmarks/hub_load.py; last line JSON; as root).
bench-hub: install
	$(BIN)/python benchmarks/hub_load.py --students $(if $(filter command line environment,$(origin STUDENTS)),$(STUDENTS),10)

# Autograde the submissions in COURSE/submitted/ not graded yet (sandboxed), one task per student on a Dask cluster,
# with a report: WORKERS processes here (default: one per core on PostgreSQL, one on sqlite), or the cluster at
# $DASK_SCHEDULER. The gradebook is $GRADEBOOK_URL's, else the course's gradebook.db (grading/batch.py).
GRADE := $(BIN)/python -m grading.batch $(ASSIGNMENT) --root $(COURSE) $(if $(WORKERS),--workers $(WORKERS))
autograde: install sandbox
	$(GRADE)

# Autograde every submission again: first a timestamped copy and export of the gradebook (gradebook-backups/);
# manual scores and comments stay.
regrade: install sandbox
	$(GRADE) --regrade

# Each graded student's feedback, COURSE/feedback/<student>/<assignment>/ (HTML without hidden tests or rubrics);
# withheld, student by student, while written answers or flagged tests are not graded by hand (RELEASE_UNGRADED=1:
# release anyway, those cells at 0).
feedback: install
	cd $(COURSE) && nbgrader generate_feedback $(ASSIGNMENT) $(if $(filter 1 yes true,$(RELEASE_UNGRADED)),--RequireManualGrades.release_ungraded=True)

# The course's PostgreSQL server (Debian's, as root when missing): its cluster in .state/postgres/, a unix socket
# only, the database `gradebook`; prints the GRADEBOOK_URL to use (postgres/postgres.sh). postgres-stop keeps the data.
postgres: install
	bash postgres/postgres.sh start

postgres-stop:
	bash postgres/postgres.sh stop

# Every row of COURSE's gradebook.db (students, submissions, scores, comments) into the empty $GRADEBOOK_URL.
gradebook-to-postgres: install
	$(BIN)/python -m grading.gradebook copy --root $(COURSE)

# The class at a glance from the gradebook: COURSE/class-report/index.html and its PNGs (grading/analytics.py).
class-report: install
	$(BIN)/python -m grading.analytics $(ASSIGNMENT) --root $(COURSE)

# The demo class, in its own course root demo/ (nbgrader's example-course style): two demo students' submissions,
# autograded, their written answers graded as a TA would, their feedback and grades.csv, all committed. Touches nothing
# outside demo/. It is the GAN lab's (grading/demo.py fills in its solutions, its full run's results/ and the written
# answers' grades), whatever ASSIGNMENT says.
DEMO_ASSIGNMENT := gan_mnist
define build_demo
	rm -rf demo/autograded demo/feedback demo/release demo/gradebook.db
	cd demo && nbgrader generate_assignment $(DEMO_ASSIGNMENT)
	$(BIN)/python -m grading.demo
	$(BIN)/python -m grading.batch $(DEMO_ASSIGNMENT) --root demo
	$(BIN)/python -m grading.demo grade
	cd demo && nbgrader generate_feedback $(DEMO_ASSIGNMENT) && nbgrader export
endef

demo: sandbox
	$(build_demo)

# After editing the source notebook: re-record the outputs nbval compares, regenerate release/ (the class's
# gradebook is left alone: `make release` enters a changed assignment there) and, for the GAN lab, the demo class.
record: sandbox
	GAN_PROFILE=quick $(BIN)/python -m grading.record $(NOTEBOOK)
	$(BIN)/nbgrader generate_assignment $(ASSIGNMENT) --force --no-db
	$(if $(filter $(DEMO_ASSIGNMENT),$(ASSIGNMENT)),$(build_demo))

# Training speed, the plain way against the lab's way, side by side (medians; last line JSON), the
# real-data quality floor and the recorded 50-epoch quality runs.
bench: install
	$(BIN)/python benchmarks/train_speed.py

# The 50-epoch quality runs (plain, lab, lab in fp32; seeds 0 and 1) that `make bench` reports;
# rewrites benchmarks/quality_runs.json and helpers/reference_quality.json (about 45 minutes).
bench-quality: install
	$(BIN)/python benchmarks/quality_runs.py

# Seconds per submission graded by `make autograde`'s command, with the checks of grading/verdicts.py and with
# nbgrader's own steps, side by side.
bench-autograde: install sandbox
	$(BIN)/python benchmarks/autograde_batch.py

# One submission's autograde alone and beside a second course's grading, alternating (benchmarks/busy_machine.py).
bench-busy: install sandbox
	$(BIN)/python benchmarks/busy_machine.py

# Grading at class scale: a synthetic class of STUDENTS (default 200) graded on PostgreSQL with 1 worker and with 2,
# side by side (seconds per submission, speedup, memory per worker; last line JSON; benchmarks/class_scale.py).
bench-class: install sandbox
	$(BIN)/python benchmarks/class_scale.py --students $(if $(filter command line environment,$(origin STUDENTS)),$(STUDENTS),200)

# A class's written answers graded question by question: STUDENTS (default 300) synthetic answers to Task 1 graded by
# keyboard in Chromium (keys per answer, Enter to the next answer, re-scoring after an item's points change; last
# line JSON; benchmarks/grading_page.py).
bench-grading: install ui-deps
	$(BIN)/python benchmarks/grading_page.py --students $(if $(filter command line environment,$(origin STUDENTS)),$(STUDENTS),300)

# Retrain the MNIST classifier behind helpers.quality (writes helpers/weights/mnist_cnn.pt and mnist_test_stats.pt).
classifier: install
	$(BIN)/python tools/train_classifier.py

# Training outputs only: the real class's folders and gradebook are never deleted by a make target.
clean:
	rm -rf results source/*/results_quick release/*/results_quick demo/release
