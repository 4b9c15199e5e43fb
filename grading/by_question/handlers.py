"""The grading page's HTTP handlers, inside the Jupyter server that runs formgrader (nbgrader's formgrader
handlers give them the course, the gradebook, the exporter and the login: whoever may use formgrader may
use this page, and no one else; on the hub, the staff group).

``/grade-by-question/`` is the page (static/); its JSON API, under ``/grade-by-question/api/``, names a
question by the query arguments ``assignment``, ``notebook`` and ``cell``.
"""
import json
from functools import lru_cache
from pathlib import Path

from nbgrader.api import Assignment, GradeCell, Notebook
from nbgrader.server_extensions.formgrader.base import BaseApiHandler, check_notebook_dir, check_xsrf
from tornado import web

from .answers import Answers, groups, order_key, seed_items
from .rubric import Conflict, Rubric

STATIC = Path(__file__).parent / "static"
PREFIX = "/grade-by-question"
# Student content is sanitised before it is shown; the page also allows no inline script or handler.
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


@lru_cache(maxsize=16)
def grouped(keys, apart, by_text):
    """``answers.groups`` for ((answer id, normalised text), ...): computed again only when an answer or the
    answers taken out of their groups changed."""
    return groups(dict(keys), apart, by_text)


class Handler(BaseApiHandler):
    @property
    def content_security_policy(self):
        return CSP

    async def prepare(self):
        await super().prepare()
        self.gradebook.db.rollback()  # this request reads what other processes committed meanwhile

    @property
    def rubric(self):
        """The rubric tables, through formgrader's own gradebook session."""
        rubric = self.settings.get("gan_rubric")
        if rubric is None or rubric.gb is not self.gradebook:
            rubric = self.settings["gan_rubric"] = Rubric(self.gradebook)
        return rubric

    @property
    def grader(self):
        """The grader's name: the hub's user name; on a server without login, Jupyter's name for this browser."""
        user = self.current_user
        name, username = getattr(user, "name", None), getattr(user, "username", None) or str(user)
        return username if not name or name == username else f"{name} ({username[:6]})"

    def answers(self, assignment, notebook, cell):
        cache = self.settings.setdefault("gan_answers", {})
        key = (str(self.coursedir.root), assignment, notebook, cell)
        if key not in cache:
            cache[key] = Answers(self.coursedir.root, assignment, notebook, cell)
        return cache[key]

    def question(self):
        """The question the request names (its rubric row, made with the mark scheme's items the first time it is
        asked for) and its answers."""
        names = [self.get_argument(name) for name in ("assignment", "notebook", "cell")]
        answers = self.answers(*names)
        cell = self.rubric.db.query(GradeCell).join(Notebook, GradeCell.notebook_id == Notebook.id).join(
            Assignment, Notebook.assignment_id == Assignment.id).filter(
            Assignment.name == names[0], Notebook.name == names[1], GradeCell.name == names[2]).one_or_none()
        if cell is None:
            raise web.HTTPError(404, "no such graded cell in the gradebook")

        def seed():  # the mark scheme's items, read only for a question new to the rubric
            return seed_items(answers.question_markdown(), cell.max_score)

        return self.rubric.question(*names, seed=seed), answers

    def body(self):
        data = self.get_json_body()
        if not isinstance(data, dict):
            raise web.HTTPError(400, "a JSON object is expected")
        return data

    def state(self, question, answers):
        """Everything the page needs about the question's answers: text previews, groups, grading states."""
        found = self.rubric.answers(question)
        summaries = {gid: answers.summary(student) for gid, student, _ in found}
        states = self.rubric.states(question)
        apart = frozenset(gid for gid, state in states.items() if state["ungrouped"])
        group_of = grouped(tuple(sorted((gid, key) for gid, (_, key) in summaries.items())), apart,
                           not answers.about_own_outputs())
        rows = [{"id": gid, "student": student, "group": group_of[gid], "preview": summaries[gid][0],
                 "order": order_key(self.grader, gid), "state": states.get(gid), "score": score}
                for gid, student, score in found]
        rows.sort(key=lambda row: row["order"])
        return {"items": [{"id": i.id, "text": i.text, "points": i.points} for i in self.rubric.items(question)],
                "points": self.rubric.max_points(question), "answers": rows, "grader": self.grader}

    def send(self, data, status=200):
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data))


class PageHandler(Handler):
    @web.authenticated
    @check_xsrf
    def get(self):
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish((STATIC / "index.html").read_text(encoding="utf-8"))


class QuestionsHandler(Handler):
    @web.authenticated
    @check_xsrf
    @check_notebook_dir
    def get(self):
        """The manually graded written answers (markdown grade cells) of every assignment, with progress."""
        rubric = self.rubric
        cells = (rubric.db.query(GradeCell, Notebook.name, Assignment.name)
                 .join(Notebook, GradeCell.notebook_id == Notebook.id)
                 .join(Assignment, Notebook.assignment_id == Assignment.id).filter(GradeCell.cell_type == "markdown")
                 .order_by(Assignment.name, Notebook.name, GradeCell.name).all())
        found = []
        for cell, notebook, assignment in cells:
            grades = rubric.grades_of(assignment, notebook, cell.name)
            found.append({"assignment": assignment, "notebook": notebook, "cell": cell.name, "points": cell.max_score,
                          "answers": len(grades), "graded": sum(g.manual_score is not None for g in grades)})
        self.send(found)


class QuestionHandler(Handler):
    @web.authenticated
    @check_xsrf
    @check_notebook_dir
    def get(self):
        question, answers = self.question()
        self.send({**self.state(question, answers), "question_html": answers.question_html(self.exporter)})


class AnswerHandler(Handler):
    @web.authenticated
    @check_xsrf
    @check_notebook_dir
    def get(self):
        question, answers = self.question()
        students = {gid: student for gid, student, _ in self.rubric.answers(question)}
        grade_id = self.get_argument("id")
        if grade_id not in students:
            raise web.HTTPError(404, "no such answer to this question")
        self.send(answers.shown(self.exporter, students[grade_id]))


class GradeHandler(Handler):
    @web.authenticated
    @check_xsrf
    @check_notebook_dir
    def post(self):
        """Give answers (one, or a group's) the items, adjustment and comment; 409 when graded meanwhile."""
        question, answers = self.question()
        data = self.body()
        try:
            self.rubric.grade(question, list(data.get("answers", [])), [int(i) for i in data.get("items", [])],
                              float(data.get("adjustment") or 0), str(data.get("comment") or ""), self.grader,
                              seen={str(k): int(v) for k, v in (data.get("seen") or {}).items()})
        except Conflict as conflict:
            return self.send({**self.state(question, answers), "conflicts": sorted(conflict.answers)}, 409)
        except (ValueError, TypeError) as err:
            raise web.HTTPError(400, str(err))
        self.send(self.state(question, answers))


class ItemHandler(Handler):
    @web.authenticated
    @check_xsrf
    @check_notebook_dir
    def post(self):
        """Add or change a rubric item ({"id": null or an item's, "text", "points"}), or delete one
        ({"id", "delete": true})."""
        question, answers = self.question()
        data = self.body()
        try:
            if data.get("delete"):
                self.rubric.delete_item(question, int(data["id"]))
            else:
                item_id = None if data.get("id") is None else int(data["id"])
                self.rubric.save_item(question, item_id, str(data.get("text", "")), float(data.get("points")))
        except (KeyError, ValueError, TypeError) as err:
            raise web.HTTPError(400, str(err))
        self.send(self.state(question, answers))


class UngroupHandler(Handler):
    @web.authenticated
    @check_xsrf
    @check_notebook_dir
    def post(self):
        question, answers = self.question()
        grade_id = str(self.body().get("id"))
        if grade_id not in {gid for gid, _, _ in self.rubric.answers(question)}:
            raise web.HTTPError(404, "no such answer to this question")
        self.rubric.ungroup(question, grade_id)
        self.send(self.state(question, answers))


class StaticHandler(web.StaticFileHandler):
    def set_extra_headers(self, path):
        self.set_header("Content-Security-Policy", CSP)


def handlers():
    return [(rf"{PREFIX}", web.RedirectHandler, {"url": f"{PREFIX.lstrip('/')}/"}),
            (rf"{PREFIX}/", PageHandler),
            (rf"{PREFIX}/api/questions", QuestionsHandler),
            (rf"{PREFIX}/api/question", QuestionHandler),
            (rf"{PREFIX}/api/answer", AnswerHandler),
            (rf"{PREFIX}/api/grade", GradeHandler),
            (rf"{PREFIX}/api/item", ItemHandler),
            (rf"{PREFIX}/api/ungroup", UngroupHandler),
            (rf"{PREFIX}/static/(.*)", StaticHandler, {"path": str(STATIC)})]
