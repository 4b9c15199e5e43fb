"""The demo class's course root: the course's own configuration, with this folder's gradebook and class folders.

`make demo` grades the two demo students here (`demo/submitted/`, `demo/autograded/`, `demo/feedback/`,
`demo/grades.csv`, `demo/gradebook.db`), so nothing of the real class in the folder above is touched.
`source/` here is a link to the course's own source/.
"""
import os

c = get_config()  # noqa: F821 (provided by nbgrader)
DEMO_ROOT = os.path.dirname(os.path.abspath(__file__))
load_subconfig(os.path.join(os.path.dirname(DEMO_ROOT), "nbgrader_config.py"))  # noqa: F821
c.CourseDirectory.course_id = "gan-mnist-lab-demo"
c.CourseDirectory.root = DEMO_ROOT
c.CourseDirectory.db_url = os.environ.get("GRADEBOOK_URL") or "sqlite:///" + os.path.join(DEMO_ROOT, "gradebook.db")
