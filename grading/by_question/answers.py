"""The answers to one question as the grading page shows them: read from each student's autograded notebook,
rendered to the sanitised HTML formgrader shows, grouped, and put in each grader's own order.

- The answer is the cell whose nbgrader ``grade_id`` is the question's; a cell left as the release's stub
  (nbgrader's ``text_stub``, as the course configures it) or empty, or deleted, is unanswered. The cells from
  the nearest locked markdown cell above the answer (nbgrader's question) to the answer are the question: their
  markdown (with the mark scheme) is shown once, from the source notebook; their code cells' outputs (for
  Task 4, the student's epoch 10/20/30 images and figures) are shown with each answer, from the student's notebook.
- Rendering: the exporter formgrader renders with (its ``markdown2html`` and the course's ``clean_html``,
  grading/sanitize.py); outputs go through the same ``clean_html``.
- Groups: answers equal once normalised (case, spacing, markdown emphasis; an embedded image by its digest)
  first, then near-duplicates, whose RapidFuzz ``token_sort_ratio`` over their first ``COMPARED`` characters
  is at least ``SIMILAR``, joined by single linkage (nbgrader already installs RapidFuzz). An answer about the
  student's own outputs (Task 4) is graded alone: only the unanswered ones are grouped.
- Order: a grader's own stable pseudo-random order (a hash of the grader and the answer), the same on every visit,
  different for each grader, so that neither the submission order nor surnames set it.
"""
import base64
import hashlib
import html
import json
import re
from pathlib import Path

from rapidfuzz import fuzz, process

from ..sanitize import clean_html

STUB = "YOUR ANSWER HERE"
SIMILAR = 90
UNANSWERED = "unanswered"
MARK_SCHEME = re.compile(r"#+\s*BEGIN MARK SCHEME(.*?)#+\s*END MARK SCHEME", re.S)
PREVIEW = 240  # characters of an answer's text in the lists


def joined(value):
    """A notebook's multi-line string (a list of lines, or one string) as one string."""
    return "".join(value) if isinstance(value, list) else value


def text_of(cell):
    return joined(cell.get("source", ""))


def is_question(cell):
    """A locked markdown cell: nbgrader's read-only question text."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "markdown" and meta.get("locked") and not meta.get("grade")


def span(cells, name):
    """(the question's cells before the answer, the answer cell or None) in a notebook's cells: from the
    nearest locked markdown cell above the answer (nbgrader's question) to the answer."""
    for index, cell in enumerate(cells):
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == name:
            start = index
            while start > 0 and not is_question(cells[start]):
                start -= 1
            return (cells[start:index] if is_question(cells[start]) else []), cell
    return [], None


def read_cells(path):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError):
        return []


DATA_URI = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=\s]+")
COMPARED = 2000  # characters of two answers that the near-duplicate search compares


def normalised(text):
    """The answer as the groups compare it: lower case, single spaces, no markdown emphasis, each embedded image
    as a digest of itself."""
    text = DATA_URI.sub(lambda m: "image:" + hashlib.sha256(m.group().encode()).hexdigest()[:16], text)
    return re.sub(r"\s+", " ", re.sub(r"[*_`#>]", "", text.lower())).strip()


NO_ANSWER = {"", normalised(STUB)}


def unanswered(text):
    return normalised(text) in NO_ANSWER


def preview(text):
    flat = re.sub(r"\s+", " ", text).strip()
    return flat if len(flat) <= PREVIEW else flat[:PREVIEW - 1] + "…"


def groups(keys, apart=(), by_text=True):
    """{answer id: group} for {answer id: its ``normalised`` text}: duplicates, then near-duplicates; an answer in
    ``apart`` (taken out of its group by a grader) alone, the unanswered ones together. Without ``by_text`` (an
    answer about the student's own outputs, as Task 4's: the same words may describe other images) only the
    unanswered ones are grouped."""
    by_key = {}
    found = {}
    for answer_id, key in keys.items():
        if answer_id in apart or (not by_text and key not in NO_ANSWER):
            found[answer_id] = f"own-{answer_id}"
        elif key in NO_ANSWER:
            found[answer_id] = UNANSWERED
        else:
            by_key.setdefault(key, []).append(answer_id)
    keys = sorted(by_key)
    parent = list(range(len(keys)))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    if len(keys) > 1:
        compared = [key[:COMPARED] for key in keys]
        scores = process.cdist(compared, compared, scorer=fuzz.token_sort_ratio, score_cutoff=SIMILAR, workers=1)
        for i, j in zip(*scores.nonzero()):
            if i < j:
                parent[root(j)] = root(i)
    for i, key in enumerate(keys):
        group = "g" + hashlib.sha256(keys[root(i)].encode()).hexdigest()[:12]
        for answer_id in by_key[key]:
            found[answer_id] = group
    return found


def order_key(grader, answer_id):
    return hashlib.sha256(f"{grader}\0{answer_id}".encode()).hexdigest()


def seed_items(question_markdown, points):
    """The first rubric of a question, from its mark scheme: a bullet that starts with its points ("* 1.5 points:
    ...") is an item of those points; else each numbered point is an item, sharing the question's points; a
    scheme with neither gives one item, "Full marks"."""
    scheme = MARK_SCHEME.search(question_markdown)
    scheme = scheme.group(1) if scheme else ""
    weighted = re.findall(r"^[*-]\s+(\d+(?:\.\d+)?)\s+points?:\s*(.+)$", scheme, re.M)
    if weighted:
        return [(shortened(text), float(value)) for value, text in weighted]
    numbered = re.findall(r"^(\d+)\.\s+(.+)$", scheme, re.M)
    if not numbered:
        return [("Full marks", float(points))]
    share = round(float(points) / len(numbered), 2)
    return [(f"Q{n}: {shortened(text)}", share) for n, text in numbered]


def shortened(text, limit=70):
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


def markdown_html(exporter, cell):
    """A markdown cell as formgrader shows it: its exporter's markdown2html, then the course's clean_html."""
    return clean_html(exporter.markdown2html({"cell": cell}, text_of(cell)))


def output_html(output):
    """One code cell output, sanitised: images, HTML and markdown through clean_html, text escaped."""
    kind = output.get("output_type")
    if kind == "stream":
        return f"<pre>{html.escape(joined(output.get('text', '')))}</pre>"
    if kind == "error":
        return f"<pre>{html.escape(str(output.get('ename')))}: {html.escape(str(output.get('evalue')))}</pre>"
    data = output.get("data", {})
    for mime in ("image/png", "image/jpeg"):
        if mime in data:
            payload = re.sub(r"\s+", "", joined(data[mime]))
            try:
                base64.b64decode(payload, validate=True)
            except ValueError:
                return ""
            return clean_html(f'<img src="data:{mime};base64,{payload}" alt="output">')
    if "text/html" in data:
        return clean_html(joined(data["text/html"]))
    if "text/plain" in data:
        return f"<pre>{html.escape(joined(data['text/plain']))}</pre>"
    return ""


class Answers:
    """The answers to the question ``cell`` of ``notebook`` in ``assignment``, in the course at ``root``."""

    def __init__(self, root, assignment, notebook, cell):
        self.root, self.assignment, self.notebook, self.cell = Path(root), assignment, notebook, cell
        self._summaries = {}  # {student: (the notebook's mtime, the answer's preview, its normalised text)}
        self._question = (None, [])  # (the source notebook's mtime, the question's cells in it)

    def path(self, student):
        return self.root / "autograded" / student / self.assignment / f"{self.notebook}.ipynb"

    def question_cells(self):
        """The question's cells in the source notebook, read again only when the notebook changed (every save
        asks whether the question is about the student's own outputs)."""
        path = self.root / "source" / self.assignment / f"{self.notebook}.ipynb"
        try:
            mtime = path.stat().st_mtime_ns
        except OSError:
            return []
        if self._question[0] != mtime:
            self._question = (mtime, span(read_cells(path), self.cell)[0])
        return self._question[1]

    def question_markdown(self):
        """The question's markdown source (its mark scheme included), from the source notebook."""
        return "\n\n".join(text_of(c) for c in self.question_cells() if c.get("cell_type") == "markdown")

    def about_own_outputs(self):
        """Whether the question shows code outputs with each answer (Task 4: the student's own images)."""
        return any(c.get("cell_type") == "code" for c in self.question_cells())

    def question_html(self, exporter):
        return "".join(markdown_html(exporter, c) for c in self.question_cells() if c.get("cell_type") == "markdown")

    def summary(self, student):
        """(the ``preview`` of the student's answer, its ``normalised`` text), read again only when the autograded
        notebook changed; ("", "") when the notebook or the cell is missing."""
        path = self.path(student)
        try:
            mtime = path.stat().st_mtime_ns
        except OSError:
            return "", ""
        if self._summaries.get(student, (None,))[0] != mtime:
            _, answer = span(read_cells(path), self.cell)
            text = text_of(answer) if answer else ""
            self._summaries[student] = (mtime, preview(DATA_URI.sub("(image)", text)), normalised(text))
        return self._summaries[student][1:]

    def shown(self, exporter, student):
        """{"html": the answer, "context": the outputs of the question's code cells} for one student."""
        before, answer = span(read_cells(self.path(student)), self.cell)
        if answer is None or unanswered(text_of(answer)):
            body = '<p class="unanswered">(unanswered)</p>'
        else:
            body = markdown_html(exporter, answer)
        context = "".join(output_html(o) for c in before if c.get("cell_type") == "code" for o in c.get("outputs", []))
        return {"html": body, "context": context}
