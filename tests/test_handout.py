"""The students' hand-out (`make handout`): unzipped in an empty folder, installed as its README's Linux commands
say, the lab runs; its requirements resolve from wheels on every system the README names; nothing of the
instructor's is inside."""
import hashlib
import importlib.metadata
import json
import os
import re
import subprocess
import sys
import time
import tomllib
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from uv import find_uv_bin

from browser import free_port
from conftest import ASSIGNMENT, REPO
from grading.demo import filled
from grading.handout import GRADED_PYTHON, pins

pytestmark = pytest.mark.slow

REGION = re.compile(r"#+\s*(BEGIN|END) (SOLUTION|HIDDEN TESTS|MARK SCHEME)")
INSTRUCTOR_FOLDERS = ["source", "grading", "demo", "benchmarks", "tools", "tests"]
SHORTEST_SECRET = 12  # characters: shorter region lines ("return x") are not the solution's
IMPORT = re.compile(r"(from \S+ )?import ")  # nor are the imports it shares with every module
PYTHONS = ["3.10", "3.11", "3.12", "3.13", "3.14", "3.15"]
# uv's target for each system the README supports: README's name for it in its download table, and the environment
# that completes it (uv's macOS target defaults to 13.0, for which torch has no wheels; the README asks for 14+)
PLATFORMS = {"x86_64-manylinux_2_28": ("Linux x86_64", {}),
             "aarch64-manylinux_2_28": ("Linux aarch64", {}),
             "x86_64-pc-windows-msvc": ("Windows x64", {}),
             "aarch64-apple-darwin": ("macOS on Apple Silicon", {"MACOSX_DEPLOYMENT_TARGET": "14.0"})}
GRADED_CELL = (GRADED_PYTHON, "x86_64-manylinux_2_28")  # the Python and platform that autograde and the hub run
SIZE_TOLERANCE = 0.25  # README's "about N GB" against the wheels' sum: releases of unpinned dependencies move it


@pytest.fixture(scope="module")
def handout(tmp_path_factory):
    """The zip, built by `make handout`'s command."""
    output = tmp_path_factory.mktemp("dist") / f"{ASSIGNMENT}-student.zip"
    subprocess.run([sys.executable, "-m", "grading.handout", "--output", str(output)], cwd=REPO, check=True)
    return output


def members(zip_path):
    """{name: bytes} of the zip's files, and of the files of every wheel inside it (``wheel!name``)."""
    found = {}
    with zipfile.ZipFile(zip_path) as zf:
        for name in zf.namelist():
            found[name] = zf.read(name)
            if name.endswith(".whl"):
                with zipfile.ZipFile(zf.open(name)) as wheel:
                    found.update({f"{name}!{inner}": wheel.read(inner) for inner in wheel.namelist()})
    return found


def readable_text(name, data):
    """The text a reader sees in a member: a notebook's cell sources and outputs, any other text file as is."""
    if name.endswith(".ipynb"):
        nb = nbformat.reads(data.decode(), as_version=4)
        return "\n".join([c.source for c in nb.cells] + [json.dumps(o) for c in nb.cells for o in c.get("outputs", [])])
    try:
        return data.decode()
    except UnicodeDecodeError:
        return ""  # archives, weights


def secret_lines(source_nb, release_nb):
    """The lines of the source notebook's solution, hidden-test and mark-scheme regions that the release lacks."""
    released = "\n".join(c.source for c in release_nb.cells)
    lines = set()
    for cell in source_nb.cells:
        inside = False
        for line in cell.source.splitlines():
            text = line.strip()
            if REGION.match(text):
                inside = REGION.match(text).group(1) == "BEGIN"
            elif inside and len(text) >= SHORTEST_SECRET and not IMPORT.match(text) and text not in released:
                lines.add(text)
    return lines


def instructor_files():
    """{sha256: path} of every tracked file in the instructor's folders."""
    tracked = subprocess.run(["git", "ls-files", *INSTRUCTOR_FOLDERS], cwd=REPO, capture_output=True, text=True,
                             check=True).stdout.split()
    return {hashlib.sha256((REPO / path).read_bytes()).hexdigest(): path for path in tracked if (REPO / path).is_file()}


def test_handout_holds_nothing_of_the_instructors(handout, source_nb, release_nb):
    """No line of a solution, hidden test or rubric, and no file of source/, grading/, demo/, benchmarks/, tools/, tests/."""
    found = members(handout)
    secrets = secret_lines(source_nb, release_nb)
    assert len(secrets) > 100, "the scan found too few solution lines to mean anything"
    leaks = {(name, line) for name, data in found.items() for line in secrets if line in readable_text(name, data)}
    assert not leaks, f"solution or hidden-test lines in the hand-out: {sorted(leaks)[:5]}"
    theirs = instructor_files()
    copied = {name: theirs[digest] for name, data in found.items()
              if (digest := hashlib.sha256(data).hexdigest()) in theirs}
    assert not copied, f"instructor files in the hand-out: {copied}"
    top = {name.split("/")[1] for name in found if "!" not in name}
    assert top == {f"{ASSIGNMENT}.ipynb", "README.md", "requirements.txt", "nbgrader_config.py", "wheels", "data"}, top
    requirements = found[f"{ASSIGNMENT}/requirements.txt"].decode()
    for tool in ("pytest", "nbval", "playwright", "nh3", "-e "):
        assert tool not in requirements, f"{tool} in the students' requirements"
    assert not any(name.split("!")[1].startswith("grading/") for name in found if "!" in name), "grading/ in the wheel"


def resolve(lab, python, platform, cache):
    """uv's resolution of the hand-out's requirements.txt from wheels alone for one Python and platform, as a
    student's pip would install it there: (pylock.toml's packages, None), or (None, uv's error)."""
    out = lab.parent / "locks" / f"{python}-{platform}"
    out.mkdir(parents=True)
    # --python: this interpreter runs uv's resolver for every target (else uv looks for, and downloads, a Python of
    # each version)
    proc = subprocess.run([find_uv_bin(), "pip", "compile", "requirements.txt", "--quiet", "--python", sys.executable,
                           "--python-version", python, "--python-platform", platform, "--only-binary", ":all:",
                           "--format", "pylock.toml", "-o", str(out / "pylock.toml")],
                          cwd=lab, env={**os.environ, "UV_CACHE_DIR": str(cache), **PLATFORMS[platform][1]},
                          capture_output=True, text=True, timeout=600)
    if proc.returncode:
        return None, proc.stderr.strip()
    return tomllib.loads((out / "pylock.toml").read_text())["packages"], None


def download_mb(packages):
    """What a resolution downloads, at most: pylock.toml lists every wheel of a package that fits the platform (a
    universal one beside a native one, several macOS versions) and the installer takes one, so its largest counts.
    The course's wheel comes with the hand-out."""
    return sum(max(wheel["size"] for wheel in p["wheels"]) for p in packages if "archive" not in p) / 1e6


def test_handout_resolves_on_every_supported_system(handout, tmp_path):
    """requirements.txt resolves from wheels on Python 3.10-3.15 x README's four platforms, the graded versions on
    3.11, README's download sizes as measured."""
    with zipfile.ZipFile(handout) as zf:
        zf.extractall(tmp_path)
    lab = tmp_path / ASSIGNMENT
    cells = [(python, platform) for platform in PLATFORMS for python in PYTHONS]
    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:  # uv waits on PyPI, not on the CPUs
        results = dict(zip(cells, pool.map(lambda cell: resolve(lab, *cell, tmp_path / "uv-cache"), cells)))
    print(f"\n{len(cells)} resolutions: {time.monotonic() - started:.0f} s")
    resolved = {cell: packages for cell, (packages, _) in results.items() if packages}
    print(f"{'python':<7} {'platform':<23} {'torch':<8} {'packages':>8} {'download MB':>12}")
    for (python, platform), packages in resolved.items():
        torch = next(p["version"] for p in packages if p["name"] == "torch")
        print(f"{python:<7} {platform:<23} {torch:<8} {len(packages):>8} {download_mb(packages):>12,.0f}")
    failed = {cell: error for cell, (_, error) in results.items() if error}
    assert not failed, "\n\n".join(f"Python {python} on {platform}:\n{error}"
                                     for (python, platform), error in failed.items())

    graded = {p["name"]: p["version"] for p in resolved[GRADED_CELL]}
    course = {name: importlib.metadata.version(name) for name in pins(GRADED_PYTHON)}  # this grading environment's
    differ = {name: (graded.get(name), version) for name, version in course.items() if graded.get(name) != version}
    assert not differ, f"Python {GRADED_PYTHON} on Linux x86_64 installs other versions than the course grades with " \
                       f"(resolved, graded): {differ}"

    readme = (lab / "README.md").read_text()
    for platform, (name, _) in PLATFORMS.items():
        claim = re.search(rf"^\| {re.escape(name)} \| about ([\d.]+) GB \|", readme, re.M)
        assert claim, f"README has no download size for {name} (a row '| {name} | about N GB |')"
        measured = [download_mb(resolved[python, platform]) / 1e3 for python in PYTHONS]
        assert all(abs(gb - float(claim[1])) <= SIZE_TOLERANCE * float(claim[1]) for gb in measured), \
            f"README says about {claim[1]} GB for {name}; Python {PYTHONS[0]}-{PYTHONS[-1]} download " \
            f"{min(measured):.2f}-{max(measured):.2f} GB"


def linux_commands(readme):
    """The lines of the first ```bash block in README's Linux section: what a student types on Linux."""
    section = re.search(r"^##+ Linux\n(.*?)(?=^##+ |\Z)", readme, re.M | re.S)
    assert section, "README has no Linux section (a heading 'Linux')"
    block = re.search(r"^```bash\n(.*?)\n```", section[1], re.M | re.S)
    assert block, "README's Linux section has no ```bash block"
    return block[1].splitlines()


def test_handout_installs_and_runs_alone(handout, tmp_path, source_nb):
    """README's Linux commands, line by line in an empty folder: the install, JupyterLab with nbgrader, the solved
    notebook runs."""
    with zipfile.ZipFile(handout) as zf:
        zf.extractall(tmp_path)
    lab = tmp_path / ASSIGNMENT
    *install, start = linux_commands((lab / "README.md").read_text())
    assert start.startswith(".venv/bin/jupyter lab "), f"README's Linux commands do not end by opening the lab: {start}"
    repo_free = [p for p in os.environ["PATH"].split(os.pathsep) if not p.startswith(str(REPO))]
    env = {key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV", "PYTHONPATH", "CI")}
    # README's commands as they are; pip leaves compiling the venv's 10,000 modules to Python, which compiles those
    # the lab imports when it first imports them (the same installed files, less of the test's time)
    env.update(PATH=os.pathsep.join(repo_free), PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_COMPILE="1")

    started = time.monotonic()
    for command in install:
        subprocess.run(["bash", "-c", command], cwd=lab, env=env, check=True, timeout=900)
    print(f"install: {time.monotonic() - started:.0f} s")
    where = subprocess.run([str(lab / ".venv" / "bin" / "python"), "-c", "import helpers; print(helpers.__file__)"], cwd=tmp_path,
                           env=env, capture_output=True, text=True, check=True).stdout
    assert str(lab / ".venv") in where and "site-packages" in where, f"helpers not installed in the venv: {where}"

    port, token = free_port(), "handout-test"
    as_root = " --allow-root" if os.geteuid() == 0 else ""  # the tests run as root, students do not
    server = subprocess.Popen(["bash", "-c", f"{start} --no-browser --ip=127.0.0.1 --port={port} "
                               f"--IdentityProvider.token={token}{as_root}"], cwd=lab, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        page, deadline = None, time.monotonic() + 300  # its first start compiles what it imports (PIP_NO_COMPILE)
        while page is None and server.poll() is None and time.monotonic() < deadline:
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token={token}", timeout=5).read().decode()
            except OSError:
                time.sleep(0.5)
        assert page and "@jupyter/nbgrader" in page, "JupyterLab did not start with nbgrader's extensions"
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)

    release = nbformat.read(lab / f"{ASSIGNMENT}.ipynb", as_version=4)
    nbformat.write(filled(release, source_nb), lab / "solved.ipynb")
    started = time.monotonic()
    subprocess.run([".venv/bin/jupyter", "nbconvert", "--to", "notebook", "--execute", "--allow-errors",
                    "--ExecutePreprocessor.timeout=300", "--ExecutePreprocessor.iopub_timeout=60", "solved.ipynb"],
                   cwd=lab, check=True, timeout=900,
                   env={**env, "GAN_PROFILE": "quick"}, capture_output=True)
    print(f"short run of the solved notebook: {time.monotonic() - started:.0f} s")
    ran = nbformat.read(lab / "solved.nbconvert.ipynb", as_version=4)
    failed = [c.metadata.get("nbgrader", {}).get("grade_id") or c.source[:60] for c in ran.cells
              if any(o.output_type == "error" for o in c.get("outputs", []))]
    assert failed == ["test_results_submitted"], f"cells that failed: {failed}"  # the reminder: no full run here
    assert (lab / "results_quick" / "final_grid.png").is_file()
    assert (lab / "data" / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file(), "MNIST not read from the hand-out"
