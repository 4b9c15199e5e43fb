"""The grade-by-question page's rules without a browser (grading/by_question/): scores from rubric items written
to nbgrader's gradebook, re-weighting, a grade that came meanwhile, answer groups, the mark scheme's items, and
answers rendered sanitised."""
import pytest
from nbconvert.exporters import HTMLExporter
from nbgrader.api import Gradebook

from conftest import ASSIGNMENT, REPO
from grading.by_question.answers import UNANSWERED, Answers, groups, normalised, seed_items, span
from grading.by_question.rubric import Conflict, Rubric
from written_answers import CELL, HOSTILE, grade_ids, scores, written_class


@pytest.fixture(scope="module")
def small_class(tmp_path_factory):
    return written_class(tmp_path_factory.mktemp("written") / "course", 12)


SEED = [("right", 2.0), ("reasoned", 1.5), ("wrong claim", -1.0)]


@pytest.fixture
def rubric(small_class):
    """The rubric tables of the class's gradebook, and a question of its own for each test (Task 1, 2 or 4)."""
    with Gradebook(f"sqlite:///{small_class[0] / 'gradebook.db'}") as gb:
        rubric = Rubric(gb)
        yield rubric, lambda cell: rubric.question(ASSIGNMENT, ASSIGNMENT, cell, seed=lambda: SEED)


def test_items_make_the_score_within_the_points_and_the_comment_lists_them(small_class, rubric):
    rubric, question = rubric
    question = question(CELL)
    right, reasoned, wrong = (item.id for item in rubric.items(question))
    students = grade_ids(small_class[0])
    first, second, third = sorted(students)[:3]
    rubric.grade(question, [first], [right, reasoned, wrong], 0.5, "Cite your numbers.", "ta")
    rubric.grade(question, [second], [right, reasoned], 2, "", "ta")  # 5.5 capped at the 4 points
    rubric.grade(question, [third], [wrong], 0, "", "ta")  # -1 raised to 0
    graded = scores(small_class[0])
    assert graded[students[first]] == (3.0, "Rubric:\n- right (+2)\n- reasoned (+1.5)\n- wrong claim (-1)\n"
                                              "- Adjustment (+0.5)\n\nCite your numbers.")
    assert graded[students[second]][0] == 4.0 and graded[students[third]][0] == 0.0
    with Gradebook(f"sqlite:///{small_class[0] / 'gradebook.db'}") as gb:
        assert not gb.find_grade(CELL, ASSIGNMENT, ASSIGNMENT, students[first]).needs_manual_grade


def test_reweighting_or_deleting_an_item_rescores_every_answer_with_it(small_class, rubric):
    rubric, question = rubric
    question = question("task2_answer")
    right, reasoned, _ = (item.id for item in rubric.items(question))
    students = grade_ids(small_class[0], "task2_answer")
    chosen, other = sorted(students)[:3], sorted(students)[3]
    rubric.grade(question, chosen, [right], 0, "", "ta")
    rubric.grade(question, [other], [reasoned], 0, "", "ta")
    rubric.save_item(question, right, "right, with both numbers", 2.5)
    graded = scores(small_class[0], "task2_answer")
    assert all(graded[students[gid]] == (2.5, "Rubric:\n- right, with both numbers (+2.5)") for gid in chosen)
    assert graded[students[other]][0] == 1.5
    rubric.delete_item(question, right)
    graded = scores(small_class[0], "task2_answer")
    assert all(graded[students[gid]] == (0.0, "") for gid in chosen) and graded[students[other]][0] == 1.5
    assert right not in {item.id for item in rubric.items(question)}


def test_a_grade_saved_meanwhile_by_another_grader_is_not_overwritten_unseen(small_class, rubric):
    rubric, question = rubric
    question = question("task4_answer")
    item = rubric.items(question)[0].id
    answer = sorted(grade_ids(small_class[0], "task4_answer"))[0]
    rubric.grade(question, [answer], [item], 0, "", "ta1", seen={answer: 0})
    with pytest.raises(Conflict) as raised:
        rubric.grade(question, [answer], [], 0, "", "ta2", seen={answer: 0})  # ta2's page read it before ta1 saved
    assert raised.value.answers[answer]["grader"] == "ta1"
    assert rubric.states(question)[answer]["items"] == [item]
    rubric.grade(question, [answer], [], 0, "", "ta2", seen={answer: raised.value.answers[answer]["version"]})
    assert rubric.states(question)[answer]["grader"] == "ta2"


def test_an_item_of_another_question_or_a_stranger_answer_is_refused(small_class, rubric):
    rubric, question = rubric
    question = question(CELL)
    with pytest.raises(ValueError, match="not in this question's rubric"):
        rubric.grade(question, [sorted(grade_ids(small_class[0]))[0]], [10_000], 0, "", "ta")
    with pytest.raises(ValueError, match="not this question's"):
        rubric.grade(question, ["0" * 32], [], 0, "", "ta")


def test_duplicates_and_near_duplicates_are_grouped_and_an_answer_taken_out_stays_out():
    base = "1. The real image costs about 0.47 and the fake about 4.6, ten times more.\n2. ReLU units die."
    texts = {"a": base, "b": base.upper(), "c": base.replace("  ", " ") + "  ", "d": base.replace("real", "rael"),
             "e": "Something else entirely: the discriminator is a linear model.", "f": "YOUR ANSWER HERE", "g": ""}
    found = groups({answer: normalised(text) for answer, text in texts.items()})
    assert found["a"] == found["b"] == found["c"] == found["d"] != found["e"]
    assert found["f"] == found["g"] == UNANSWERED
    apart = groups({answer: normalised(text) for answer, text in texts.items()}, apart={"d"})
    assert apart["d"] not in (apart["a"], apart["e"]) and apart["a"] == apart["b"]
    alone = groups({answer: normalised(text) for answer, text in texts.items()}, by_text=False)  # Task 4's kind
    assert len({alone[a] for a in "abcde"}) == 5 and alone["f"] == alone["g"] == UNANSWERED


def test_the_mark_schemes_give_the_first_items(source_nb):
    answers = {cell: Answers(REPO, ASSIGNMENT, ASSIGNMENT, cell)
               for cell in ("task1_answer", "task4_answer")}
    task1 = seed_items(answers["task1_answer"].question_markdown(), 4)
    assert [text[:3] for text, _ in task1] == ["Q1:", "Q2:", "Q3:", "Q4:"] and sum(p for _, p in task1) == 4
    task4 = seed_items(answers["task4_answer"].question_markdown(), 4)
    assert [p for _, p in task4] == [1.5, 1.0, 1.0, 0.5]
    assert seed_items("no scheme here", 3) == [("Full marks", 3.0)]
    assert answers["task4_answer"].about_own_outputs() and not answers["task1_answer"].about_own_outputs()
    before, answer = span(source_nb.cells, "task4_answer")
    assert answer is not None
    assert [c.metadata.nbgrader["grade_id"] for c in before] == ["task4_question", "task4_images"]


def test_answers_are_shown_sanitised_and_a_deleted_cell_as_unanswered(small_class):
    root = small_class[0]
    answers = Answers(root, ASSIGNMENT, ASSIGNMENT, CELL)
    shown = answers.shown(HTMLExporter(), HOSTILE)["html"]
    assert "<script" not in shown and "onerror" not in shown and "javascript:" not in shown
    assert '<img src="data:image/png;base64,' in shown and len(shown) > 5_000_000
    assert answers.shown(HTMLExporter(), "deleted_the_cell")["html"] == '<p class="unanswered">(unanswered)</p>'
    assert answers.summary("deleted_the_cell") == ("", "")
