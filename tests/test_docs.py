"""README.md and docs/ name only what exists: every make target, every relative link, every source file."""
import re

import pytest

from conftest import REPO

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
# a code span that names a file or folder of the repository's own code, docs or tests
SOURCE_PATH = re.compile(r"`((?:grading|helpers|hub|tests|tools|benchmarks|sandbox|postgres|docs|\.ci)/[\w./-]*)")


def make_targets():
    return set(re.findall(r"^([a-z][a-z-]*):", (REPO / "Makefile").read_text(), re.M))


def named_targets(text):
    """`make <target>` in code spans, and command lines in code blocks that start with make."""
    spans = re.findall(r"`make ([a-z][a-z-]*)", text)
    blocks = re.findall(r"^make ([a-z][a-z-]*)", "\n".join(re.findall(r"```.*?\n(.*?)```", text, re.S)), re.M)
    return set(spans) | set(blocks)


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: path.name)
def test_every_make_target_the_docs_name_exists(doc):
    missing = named_targets(doc.read_text()) - make_targets()
    assert not missing, f"{doc.name} names make targets the Makefile does not have: {sorted(missing)}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: path.name)
def test_every_link_and_source_file_the_docs_name_exists(doc):
    text = doc.read_text()
    links = [target for target in re.findall(r"\]\(([^)#\s]+)", text) if not re.match(r"[a-z]+:", target)]
    missing = [link for link in links if not (doc.parent / link).exists()]
    missing += [path for path in SOURCE_PATH.findall(text) if not (REPO / path.split("::")[0].rstrip("./")).exists()]
    assert not missing, f"{doc.name} names what is not in the repository: {missing}"


def test_the_readme_is_a_front_door():
    lines = len((REPO / "README.md").read_text().splitlines())
    assert lines <= 200, f"README.md has {lines} lines: keep it a front door, move the details to docs/"
