"""Rubric items, the items each answer was given and who gave them: tables beside nbgrader's in the course's
gradebook (the same sqlite file or PostgreSQL database), so formgrader, ``nbgrader export``, the LMS export and
the feedback see every score through nbgrader's own columns.

An answer is one student's answer to one manually graded cell: nbgrader's ``Grade`` row, whose id it shares.
Its score is the sum of its items' points plus the grader's adjustment, within [0, the cell's points]; every
change writes that score to ``Grade.manual_score`` and the items given (then the grader's comment) to
``Comment.manual_comment``, in the same transaction as the rubric's own rows. Each transaction that changes a
question first bumps the question's ``version`` row: on PostgreSQL that locks the row, on sqlite it takes the
database's write lock, so two graders (or a grader and an instructor re-weighting an item) never interleave,
and a score never disagrees with its items.
"""
from contextlib import contextmanager
from datetime import datetime, timezone

from nbgrader.api import (Assignment, BaseCell, Comment, Grade, GradeCell, Notebook, SubmittedAssignment,
                          SubmittedNotebook)
from sqlalchemy import (Boolean, Column, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint, func,
                        update)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class Question(Base):
    """A manually graded cell of an assignment's notebook; ``version`` counts the changes to its grading."""
    __tablename__ = "rubric_question"
    id = Column(Integer, primary_key=True)
    assignment = Column(String(128), nullable=False)
    notebook = Column(String(128), nullable=False)
    cell = Column(String(128), nullable=False)
    version = Column(Integer, nullable=False, default=0)
    __table_args__ = (UniqueConstraint("assignment", "notebook", "cell"),)


class Item(Base):
    """One line of a question's rubric: its text and points (negative for a deduction)."""
    __tablename__ = "rubric_item"
    id = Column(Integer, primary_key=True)
    question_id = Column(Integer, ForeignKey("rubric_question.id", ondelete="CASCADE"), nullable=False)
    position = Column(Integer, nullable=False)
    text = Column(Text, nullable=False)
    points = Column(Float, nullable=False)


class Answer(Base):
    """The rubric's record of one answer (nbgrader's Grade id): adjustment, comment, who graded it and when."""
    __tablename__ = "rubric_answer"
    grade_id = Column(String(32), primary_key=True)
    question_id = Column(Integer, ForeignKey("rubric_question.id", ondelete="CASCADE"), nullable=False)
    adjustment = Column(Float, nullable=False, default=0.0)
    comment = Column(Text, nullable=False, default="")
    grader = Column(String(256))
    graded_at = Column(DateTime)
    version = Column(Integer, nullable=False, default=0)
    ungrouped = Column(Boolean, nullable=False, default=False)  # a grader took it out of its answer group


class Mark(Base):
    """An item given to an answer."""
    __tablename__ = "rubric_mark"
    grade_id = Column(String(32), ForeignKey("rubric_answer.grade_id", ondelete="CASCADE"), primary_key=True)
    item_id = Column(Integer, ForeignKey("rubric_item.id", ondelete="CASCADE"), primary_key=True)


class Conflict(Exception):
    """Another grader graded the answer since this grader's page read it; ``answers`` are the current states."""

    def __init__(self, answers):
        super().__init__("graded meanwhile by another grader")
        self.answers = answers


def score(points, adjustment, max_score):
    return min(max(sum(points) + adjustment, 0.0), max_score)


def signed(points):
    return f"{points:+g}"


def comment_text(items, adjustment, comment):
    """What nbgrader's comment holds: the items given, the adjustment, then the grader's own words."""
    lines = [f"- {item.text} ({signed(item.points)})" for item in items]
    if adjustment:
        lines.append(f"- Adjustment ({signed(adjustment)})")
    text = "Rubric:\n" + "\n".join(lines) if lines else ""
    return "\n\n".join(part for part in (text, comment.strip()) if part)


def write_scores(db, question, items, max_points, grade_ids):
    """nbgrader's score and comment for each answer of ``grade_ids``, from its items ({id: Item}) as they are in
    this transaction."""
    if not grade_ids:
        return
    db.flush()
    given = {}
    for mark in db.query(Mark).filter(Mark.grade_id.in_(grade_ids)):
        given.setdefault(mark.grade_id, []).append(items[mark.item_id])
    grades = {g.id: g for g in db.query(Grade).filter(Grade.id.in_(grade_ids))}
    comments = {c.notebook_id: c for c in db.query(Comment).join(BaseCell, Comment.cell_id == BaseCell.id)
                .filter(BaseCell.name == question.cell,
                        Comment.notebook_id.in_([g.notebook_id for g in grades.values()]))}
    for answer in db.query(Answer).filter(Answer.grade_id.in_(grade_ids)):
        grade = grades[answer.grade_id]
        chosen = sorted(given.get(answer.grade_id, []), key=lambda item: (item.position, item.id))
        grade.manual_score = score([item.points for item in chosen], answer.adjustment, max_points)
        grade.needs_manual_grade = False  # as formgrader does when a grader saves a score
        if grade.notebook_id in comments:
            comments[grade.notebook_id].manual_comment = comment_text(chosen, answer.adjustment, answer.comment)


class Rubric:
    """The rubric tables of the gradebook ``gb`` (an nbgrader ``Gradebook``), used through its session."""

    def __init__(self, gb):
        self.gb, self.db = gb, gb.db
        Base.metadata.create_all(gb.engine)

    # -- reading ------------------------------------------------------------------------------------------------
    def question(self, assignment, notebook, cell, seed=list):
        """The question's row; the first time it is asked for, made with the items ``seed()`` gives
        ([(text, points)])."""
        query = self.db.query(Question).filter_by(assignment=assignment, notebook=notebook, cell=cell)
        found = query.one_or_none()
        if found is None:
            try:
                found = Question(assignment=assignment, notebook=notebook, cell=cell, version=0)
                self.db.add(found)
                self.db.flush()
                for position, (text, points) in enumerate(seed()):
                    self.db.add(Item(question_id=found.id, position=position, text=text, points=points))
                self.db.commit()
            except IntegrityError:  # another grader's page made it first
                self.db.rollback()
                found = query.one()
        return found

    def items(self, question):
        return self.db.query(Item).filter_by(question_id=question.id).order_by(Item.position, Item.id).all()

    def max_points(self, question):
        """The question's points (nbgrader's GradeCell)."""
        return (self.db.query(GradeCell.max_score).join(Notebook, GradeCell.notebook_id == Notebook.id)
                .join(Assignment, Notebook.assignment_id == Assignment.id)
                .filter(Assignment.name == question.assignment, Notebook.name == question.notebook,
                        GradeCell.name == question.cell).scalar())

    def answers(self, question):
        """[(Grade id, student id, manual score)] of every submission's answer to the question, in one query."""
        return (self.db.query(Grade.id, SubmittedAssignment.student_id, Grade.manual_score)
                .join(SubmittedNotebook, Grade.notebook_id == SubmittedNotebook.id)
                .join(SubmittedAssignment, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
                .join(GradeCell, Grade.cell_id == GradeCell.id).join(Notebook, GradeCell.notebook_id == Notebook.id)
                .join(Assignment, Notebook.assignment_id == Assignment.id)
                .filter(Assignment.name == question.assignment, Notebook.name == question.notebook,
                        GradeCell.name == question.cell).all())

    def grades_of(self, assignment, notebook, cell):
        """nbgrader's Grade rows of every submission's answer to a cell."""
        return (self.db.query(Grade).join(GradeCell, Grade.cell_id == GradeCell.id)
                .join(Notebook, GradeCell.notebook_id == Notebook.id)
                .join(Assignment, Notebook.assignment_id == Assignment.id)
                .filter(Assignment.name == assignment, Notebook.name == notebook, GradeCell.name == cell).all())

    def states(self, question, grade_ids=None):
        """{grade id: the answer's grading state} (items given, adjustment, comment, grader, score)."""
        answers = self.db.query(Answer).filter_by(question_id=question.id)
        if grade_ids is not None:
            answers = answers.filter(Answer.grade_id.in_(list(grade_ids)))
        marks = {}
        for mark in self.db.query(Mark).join(Answer).filter(Answer.question_id == question.id):
            marks.setdefault(mark.grade_id, []).append(mark.item_id)
        return {a.grade_id: {"items": sorted(marks.get(a.grade_id, [])), "adjustment": a.adjustment,
                             "comment": a.comment, "grader": a.grader, "version": a.version,
                             "graded_at": a.graded_at.isoformat() + "Z" if a.graded_at else None,
                             "ungrouped": a.ungrouped}
                for a in answers}

    # -- changing ----------------------------------------------------------------------------------------------
    @contextmanager
    def _change(self, question):
        """One change, in one transaction whose first statement takes the question's row lock (PostgreSQL) or
        the write lock (sqlite); rolled back whole if anything fails."""
        try:
            self.db.execute(update(Question).where(Question.id == question.id).values(version=Question.version + 1))
            yield
            self.db.commit()
        except BaseException:
            self.db.rollback()
            raise

    def _rescore(self, question, grade_ids):
        write_scores(self.db, question, {item.id: item for item in self.items(question)}, self.max_points(question),
                     grade_ids)

    def _answer(self, question, grade_id):
        answer = self.db.get(Answer, grade_id)
        if answer is None:
            answer = Answer(grade_id=grade_id, question_id=question.id, adjustment=0.0, comment="", version=0,
                            ungrouped=False)
            self.db.add(answer)
        return answer

    def grade(self, question, grade_ids, item_ids, adjustment, comment, grader, seen=None):
        """Give each answer of ``grade_ids`` exactly the items ``item_ids``, the adjustment and the comment.
        ``seen`` ({grade id: version}) is what the grader's page showed: an answer graded since by someone
        else raises ``Conflict`` and nothing is saved."""
        with self._change(question):
            if not set(item_ids) <= {item.id for item in self.items(question)}:
                raise ValueError("an item that is not in this question's rubric (deleted meanwhile?): reload the page")
            if not set(grade_ids) <= {gid for gid, _, _ in self.answers(question)}:
                raise ValueError("an answer that is not this question's")
            changed = {gid: state for gid, state in self.states(question, seen or {}).items()
                       if state["version"] != seen[gid]}
            if changed:
                raise Conflict(changed)
            now = datetime.now(timezone.utc).replace(tzinfo=None)
            for grade_id in grade_ids:
                answer = self._answer(question, grade_id)
                answer.adjustment, answer.comment = float(adjustment), comment
                answer.grader, answer.graded_at, answer.version = grader, now, (answer.version or 0) + 1
                self.db.flush()
                self.db.query(Mark).filter_by(grade_id=grade_id).delete()
                self.db.add_all(Mark(grade_id=grade_id, item_id=item_id) for item_id in set(item_ids))
            self._rescore(question, list(grade_ids))

    def save_item(self, question, item_id, text, points):
        """Add an item (``item_id`` None) or change one; every answer that has it is scored again."""
        if not text.strip():
            raise ValueError("an item needs a text")
        with self._change(question):
            if item_id is None:
                last = self.db.query(func.max(Item.position)).filter_by(question_id=question.id).scalar()
                item = Item(question_id=question.id, position=(last if last is not None else -1) + 1)
                self.db.add(item)
            else:
                item = self.db.get(Item, item_id)
                if item is None or item.question_id != question.id:
                    raise ValueError("no such item in this question's rubric")
            item.text, item.points = text.strip(), float(points)
            self.db.flush()
            self._rescore(question, [m.grade_id for m in self.db.query(Mark).filter_by(item_id=item.id)])
        return item.id

    def delete_item(self, question, item_id):
        """Remove an item from the rubric and from every answer that had it (scored again)."""
        with self._change(question):
            item = self.db.get(Item, item_id)
            if item is None or item.question_id != question.id:
                raise ValueError("no such item in this question's rubric")
            affected = [m.grade_id for m in self.db.query(Mark).filter_by(item_id=item_id)]
            self.db.query(Mark).filter_by(item_id=item_id).delete()
            self.db.delete(item)
            self._rescore(question, affected)

    def ungroup(self, question, grade_id):
        """Take an answer out of its answer group (it is graded on its own from then on)."""
        with self._change(question):
            self._answer(question, grade_id).ungrouped = True
