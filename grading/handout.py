"""The students' hand-out: one zip with an assignment's release folder, the course's package as a wheel, MNIST and
a README.

Usage (from the repository): .venv/bin/python -m grading.handout [ASSIGNMENT] [--root COURSE] [--output ZIP]
(`make handout ASSIGNMENT=<name> COURSE=<course root>`; default gan_mnist, this folder, COURSE/dist/<name>-student.zip)

The zip holds one folder, ``<assignment>/``:

- ``<assignment>.ipynb`` and every other file of ``COURSE/release/<assignment>/`` (no solutions, no hidden tests,
  no rubrics: ``nbgrader generate_assignment``);
- ``wheels/gan_mnist_helpers-<version>-py3-none-any.whl``: ``helpers/`` only, with its classifier weights and
  reference figures as package data, built here (a normal install, not the repository's editable one);
- ``requirements.txt``: the course's ``requirements.txt`` (what a student needs) with the wheel instead of
  the editable install;
- ``data/MNIST/raw/``: the four MNIST archives and their checksums (``helpers.mnist_root`` finds ``data/``
  next to the notebook);
- ``README.md``: ``handout/README.md`` with the assignment's title and notebook and the versions ``requirements.txt``
  pins filled in: what a student's computer needs and the commands that install and open it on each system;
- ``nbgrader_config.py``: Validate's settings (nbgrader reads it from the folder JupyterLab starts in).

The wheel, requirements, data and Validate's settings are the course's, the same for every assignment. Nothing
else of the repository goes in: ``tests/test_handout.py`` checks that no line of the source notebook's solution,
hidden-test and mark-scheme regions and no file of the instructor's folders is inside.
"""
import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

import nbformat
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parent.parent
DATA_FILES = ["MD5SUMS.txt", "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
              "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
# Validate runs the notebook's short profile: its training cell takes about 10 s on an idle core, tens of seconds on
# a slow laptop or a busy hub, where nbgrader's default of 30 s a cell would fail a correct solution
STUDENT_CONFIG = ("c = get_config()  # noqa: F821\nc.Execute.timeout = 300  # seconds a cell may take in Validate\n"
                  "c.Execute.iopub_timeout = 60  # seconds for a cell's last outputs after it ends (a busy laptop)\n")
GRADED_PYTHON = "3.11"  # the Python the course grades with (Debian's: make install's venv, the hub)
EDITABLE_INSTALL = "-e ."  # the repository's requirements.txt installs helpers/ (and grading/) from the clone
STUDENT_PACKAGE = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "gan-mnist-helpers"
version = "{version}"
description = "The GAN-on-MNIST lab's runtime package (what the notebook imports as helpers)"
requires-python = ">=3.10"

[tool.setuptools]
packages = ["helpers", "helpers.weights"]

[tool.setuptools.package-data]
helpers = ["*.json"]
"helpers.weights" = ["*.pt"]
"""


def course_version() -> str:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


def build_wheel(into: Path) -> Path:
    """Build the wheel of ``helpers/`` alone (pip and setuptools of this environment, no download)."""
    with tempfile.TemporaryDirectory() as staging:
        staging = Path(staging)
        (staging / "pyproject.toml").write_text(STUDENT_PACKAGE.format(version=course_version()))
        shutil.copytree(REPO / "helpers", staging / "helpers", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                        "--wheel-dir", str(into), str(staging)], check=True)
    (wheel,) = into.glob("gan_mnist_helpers-*.whl")
    return wheel


def student_requirements(wheel_name: str) -> str:
    """The course's requirements.txt with the wheel in place of the editable install (and its comment)."""
    lines = (REPO / "requirements.txt").read_text().splitlines()
    if EDITABLE_INSTALL not in lines:
        raise SystemExit(f"requirements.txt has no '{EDITABLE_INSTALL}' line to replace by the wheel")
    at = lines.index(EDITABLE_INSTALL)
    return "\n".join(["# What the lab needs: see README.md", *lines[1:at - 1],
                      "# The lab's package (what the notebook imports as helpers).", f"wheels/{wheel_name}"]) + "\n"


def pins(python: str) -> dict[str, str]:
    """{name: version} of the ``==`` pins in the course's requirements.txt that this Python version installs."""
    environment = {"python_version": python, "python_full_version": f"{python}.0"}
    found = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        if line and not line.startswith(("#", "-")):
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate(environment):
                (pin,) = requirement.specifier
                found[requirement.name] = pin.version
    return found


def readme(notebook: Path) -> str:
    """handout/README.md for this assignment: its title (the notebook's first heading), its notebook's name and the
    versions that requirements.txt pins for the Python the course grades with (``graded``) and for Python 3.15."""
    headings = (re.match(r"#\s+(.+)", cell.source) for cell in nbformat.read(notebook, as_version=4).cells
                if cell.cell_type == "markdown")
    title = next((h.group(1).strip() for h in headings if h), notebook.stem)
    return (REPO / "handout" / "README.md").read_text().format(
        title=title, notebook=notebook.name, graded=pins(GRADED_PYTHON), py315=pins("3.15"))


def build(assignment: str, root: Path, output: Path) -> Path:
    release = root / "release" / assignment
    notebook = release / f"{assignment}.ipynb"
    if not notebook.is_file():
        raise SystemExit(f"{notebook} not found: `make release ASSIGNMENT={assignment}` generates it from source/")
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")  # an interrupted build leaves no half zip behind
    with tempfile.TemporaryDirectory() as wheels:
        wheel = build_wheel(Path(wheels))
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zf:
            top = Path(assignment)
            for path in sorted(p for p in release.rglob("*") if p.is_file()):
                zf.write(path, top / path.relative_to(release))
            zf.writestr(str(top / "README.md"), readme(notebook))
            zf.writestr(str(top / "requirements.txt"), student_requirements(wheel.name))
            zf.writestr(str(top / "nbgrader_config.py"), STUDENT_CONFIG)
            zf.write(wheel, top / "wheels" / wheel.name)
            for name in DATA_FILES:
                zf.write(REPO / "data" / "MNIST" / "raw" / name, top / "data" / "MNIST" / "raw" / name)
    partial.replace(output)
    return output


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignment", nargs="?", default="gan_mnist")
    parser.add_argument("--root", type=Path, default=Path("."), help="the course root (default: here)")
    parser.add_argument("--output", type=Path, help="the zip (default: ROOT/dist/ASSIGNMENT-student.zip)")
    args = parser.parse_args(argv)
    output = build(args.assignment, args.root, args.output or args.root / "dist" / f"{args.assignment}-student.zip")
    with zipfile.ZipFile(output) as zf:
        size = sum(info.compress_size for info in zf.infolist())
        print(f"wrote {output} ({len(zf.infolist())} files, {size / 1e6:.1f} MB): give it to your students")


if __name__ == "__main__":
    main()
