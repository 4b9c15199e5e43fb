"""`make test`: the whole suite as three pytest runs side by side.

Usage: .venv/bin/python tools/run_tests.py [pytest options...]   (run by `make test` with the Makefile's
PYTEST_OPTIONS and PYTEST_ARGS)

- ``sandboxed``: the tests that grade in the sandbox (the graded class, the instructor's path), one after
  the other;
- ``hub``: the semester loop through the course's JupyterHub (`make hub-test`; it says why it skipped when
  the machine does not allow it: not root, no free ports), then the class at scale (PostgreSQL, a batch on two
  Dask workers), the wrong-submission catalogue and the seed sweep;
- ``rest``: everything else (unit tests, nbval of every assignment's source notebook, the hand-out, the browser
  tests of JupyterLab).

The test that needs the sandbox to itself (no sandbox process may exist) and the other runs' gradings in the
sandbox keep apart through ``conftest.sandbox_lock``. Each run has its own
temporary folder and every kernel one PyTorch thread, so that the runs do not spin against each other on 2
cores. Each run's output (with its 12 slowest steps) goes to test-logs/<run>.log and is printed when that run
ends; the exit status is the first failure's. (pytest-xdist's ``--dist loadgroup`` would do this, but with pytest 9 it does not keep a group
on one worker.)
"""
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SANDBOXED = ["tests/test_autograde.py", "tests/test_hostile_submissions.py", "tests/test_lms.py",
             "tests/test_deadlines.py", "tests/test_ui_instructor.py", "tests/test_ui_sanitize.py",
             "tests/test_instructor_path.py"]
# the hub loop first, then the class at scale (PostgreSQL, two Dask workers), the catalogue and the seed sweep
HUB = ["tests/test_hub.py", "tests/test_class_scale.py", "tests/test_wrong_submissions.py", "tests/test_seed_sweep.py"]
PYTEST = [sys.executable, "-m", "pytest"]
SOURCE_NOTEBOOKS = sorted(str(path.relative_to(REPO)) for path in REPO.glob("source/*/*.ipynb"))  # nbval, each lab


def main(options):
    # the graded class and the sweeps run 2 kernels at a time each (3 alone): three runs of 3 would be 7 or more
    # busy processes on 2 cores, and sandbox kernels would spend their notebook's time limit importing PyTorch
    env = {**os.environ, "GAN_PROFILE": "quick", "OMP_NUM_THREADS": "1", "GAN_TEST_LANES": "2"}
    logs = REPO / "test-logs"
    logs.mkdir(exist_ok=True)
    runs = {"sandboxed": SANDBOXED,
            "rest": ["tests", *SOURCE_NOTEBOOKS, *(f"--ignore={path}" for path in SANDBOXED + HUB)],
            "hub": ["-rs", *HUB]}
    started, procs = time.monotonic(), {}
    for name, selection in runs.items():
        log = open(logs / f"{name}.log", "w")
        procs[name] = (subprocess.Popen([*PYTEST, f"--basetemp=/tmp/gan-tests-{name}", "--durations=12", *options, *selection], cwd=REPO,
                                        env=env, stdout=log, stderr=subprocess.STDOUT), log)
        print(f"started the {name} tests (log: test-logs/{name}.log)", flush=True)
    status = 0
    for name, (proc, log) in procs.items():
        code = proc.wait()
        log.close()
        print(f"\n===== {name} tests: exit {code}, {time.monotonic() - started:.0f} s after the start =====")
        print((logs / f"{name}.log").read_text(), flush=True)
        status = status or code
    print(f"all tests: {'passed' if status == 0 else 'FAILED'} in {time.monotonic() - started:.0f} s")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
