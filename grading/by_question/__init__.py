"""Grading written answers question by question, with rubric items and answer groups: a Jupyter server
extension of the course, loaded beside nbgrader's formgrader by the same server (the instructor's
``jupyter lab``: `make install` enables it; on the hub, the course's formgrader service: hub/hub.sh enables it).

- ``rubric``: the rubric's tables in the course's gradebook, and the one place scores are computed and written
  to nbgrader's ``manual_score`` and comment;
- ``answers``: each student's answer read from their autograded notebook, rendered and sanitised as formgrader
  renders it, grouped, ordered per grader;
- ``handlers``: the page (``<server>/grade-by-question/``, static/) and its JSON API.
"""


def _jupyter_server_extension_points():
    return [{"module": "grading.by_question"}]


def _load_jupyter_server_extension(serverapp):
    from .handlers import handlers
    from jupyter_server.utils import url_path_join

    base = serverapp.web_app.settings["base_url"]
    serverapp.web_app.add_handlers(".*$", [(url_path_join(base, pattern), *rest) for pattern, *rest in handlers()])
    serverapp.log.info("grade by question: %s", url_path_join(base, "grade-by-question/"))
