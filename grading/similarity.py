"""The class seen side by side: solutions that read alike and result images that are the same.

``class_report(root, assignment)`` (run by grading/batch.py after each batch) compares every
submission in ``submitted/`` with every other and with the instructor's solution:

- code: the student's answer cells, normalised (parsed and written back by Python's ``ast``: no
  comments, no layout), compared token by token (difflib); pairs at or above ``threshold`` are listed.
  A lab with a prescribed recipe makes honest solutions alike: this is a list for a person to read;
- images: ``results/*.png`` identical pixel for pixel between two students (each run has its own seed,
  see helpers.profile, so identical images mean a copy).
It returns the rows of ``integrity_report.csv``: kind, students, similarity, detail.
"""
import ast
import difflib
import itertools
from pathlib import Path

import nbformat
from IPython.core.inputtransformer2 import TransformerManager

from .recheck import pixel_hashes

INSTRUCTOR = "(instructor's solution)"


def normalised(code):
    try:
        return ast.unparse(ast.parse(TransformerManager().transform_cell(code)))
    except (SyntaxError, ValueError):
        return code


def solution_tokens(notebook, stubs):
    """The normalised code of a notebook's answer cells (``stubs``: {grade_id: the release's stub}, the last
    copy of each, as autograde takes it), as tokens; unanswered (stub) cells left out."""
    try:
        nb = nbformat.read(str(notebook), as_version=4)
    except Exception:
        return []
    answers = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source.strip() for c in nb.cells if c.cell_type == "code"}
    return " ".join(normalised(answers[gid]) for gid, stub in stubs.items()
                    if answers.get(gid) and answers[gid] != stub).split()


def class_report(root, assignment, threshold=0.95):
    root = Path(root)
    release = nbformat.read(str(root / "release" / assignment / f"{assignment}.ipynb"), as_version=4)
    stubs = {c.metadata.nbgrader.grade_id: c.source.strip() for c in release.cells
             if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")}
    notebook = f"{assignment}.ipynb"
    folders = {p.parent.name: p for p in sorted((root / "submitted").glob(f"*/{assignment}")) if p.is_dir() and not p.is_symlink()}
    tokens = {student: solution_tokens(folder / notebook, stubs) for student, folder in folders.items()}
    tokens[INSTRUCTOR] = solution_tokens(root / "source" / assignment / notebook, dict.fromkeys(stubs, None))
    rows = []
    for (a, ta), (b, tb) in itertools.combinations([(s, t) for s, t in tokens.items() if t], 2):
        matcher = difflib.SequenceMatcher(None, ta, tb, autojunk=False)
        if matcher.real_quick_ratio() >= threshold and matcher.quick_ratio() >= threshold and matcher.ratio() >= threshold:
            rows.append({"kind": "similar code", "students": f"{a} {b}", "similarity": round(matcher.ratio(), 3),
                         "detail": "solution cells (comments and layout aside)"})
    owners = {}
    for student, folder in folders.items():
        for digest, name in pixel_hashes(folder / "results").items():
            owners.setdefault(digest, []).append((student, name))
    for found in owners.values():
        students = sorted({student for student, _ in found})
        if len(students) > 1:
            rows.append({"kind": "identical images", "students": " ".join(students), "similarity": 1.0,
                         "detail": ", ".join(f"{s}/results/{n}" for s, n in found)})
    return rows
