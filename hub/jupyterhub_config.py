"""JupyterHub for the course (`make hub`, hub/hub.sh): local accounts, the nbgrader exchange, one shared formgrader.

Everything comes from hub/hub.sh's environment: HUB_STATE (the hub's folder: venv/, the environment every account
runs; etc/, Jupyter's configuration by role; data/, MNIST; exchange/; private/, the hub's own files, root only),
HUB_PORT, HUB_STUDENTS (names), HUB_COURSE (nbgrader's course id).

- Login: PAM, the system accounts hub.sh creates (instructor, ta, the students); each server is started as
  its own account by LocalProcessSpawner, in its home (mode 0700).
- The course lives in the account grader-<course>, which no one logs in as: formgrader runs there as a hub
  service at /services/<course>/formgrader, and the group formgrade-<course> (instructor, ta) may use it:
  nbgrader's "one class, multiple graders" setup. Students get the Assignment List (fetch, Validate, submit,
  feedback); staff get the Assignment List and the Course List; only the service has formgrader.
- Formgrader opens in a tab of its own: single-user servers and services send `frame-ancestors 'none'`
  (JupyterHub 4.1+), which nbgrader 0.9.6 leaves alone, so it cannot be framed by a student's page either.
"""
import os

c = get_config()  # noqa: F821 (provided by JupyterHub)

STATE, COURSE = os.environ["HUB_STATE"], os.environ["HUB_COURSE"]
VENV, PRIVATE = f"{STATE}/venv", f"{STATE}/private"
PORT = int(os.environ["HUB_PORT"])
STUDENTS = os.environ["HUB_STUDENTS"].split()
STAFF = ["instructor", "ta"]
GRADER = f"grader-{COURSE}"
CONFIG = f"{STATE}/etc"  # Jupyter config folders by role: common, student, staff, grader (hub.sh writes them)
PATH = f"{VENV}/bin:/usr/local/bin:/usr/bin:/bin"  # JupyterHub 6 passes no PATH; nbgrader runs `jupyter` by name

c.JupyterHub.bind_url = f"http://127.0.0.1:{PORT}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = PORT + 1
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{PORT + 2}"
c.ConfigurableHTTPProxy.command = [f"{STATE}/node_modules/.bin/configurable-http-proxy"]
c.ConfigurableHTTPProxy.pid_file = f"{PRIVATE}/proxy.pid"
c.JupyterHub.db_url = f"sqlite:///{PRIVATE}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = f"{PRIVATE}/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = f"{PRIVATE}/jupyterhub.pid"

c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = set(STAFF + STUDENTS)
c.Authenticator.allow_existing_users = False

c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [f"{VENV}/bin/jupyterhub-singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.start_timeout = c.Spawner.http_timeout = 120
c.Spawner.environment = {
    "PATH": PATH, "LANG": "C.UTF-8", "JUPYTER_PREFER_ENV_PATH": "0",
    "MNIST_ROOT": f"{STATE}/data",  # read-only, extracted: the fetched assignment folder holds no data
    "JUPYTER_CONFIG_PATH": lambda spawner: f"{CONFIG}/{'staff' if spawner.user.name in STAFF else 'student'}:{CONFIG}/common",
}

c.JupyterHub.load_groups = {f"formgrade-{COURSE}": {"users": STAFF}}
c.JupyterHub.load_roles = [
    {"name": f"formgrade-{COURSE}", "groups": [f"formgrade-{COURSE}"],
     "scopes": [f"access:services!service={COURSE}", "list:services", f"read:services!service={COURSE}"]},
    # The Course List asks the hub for the service with the server's own token: a token never has more
    # scopes than its owner, so students gain nothing from these.
    {"name": "server", "scopes": ["users:activity!user", "access:servers!server", "access:services",
                                  "list:services", "read:services"]},
]
c.JupyterHub.services = [{
    "name": COURSE,  # the Course List finds formgrader at /services/<course id>
    "url": f"http://127.0.0.1:{PORT + 3}",
    "command": [f"{VENV}/bin/jupyterhub-singleuser"],
    "user": GRADER,
    "cwd": f"/home/{GRADER}",
    "oauth_no_confirm": True,
    "timeout": 120,
    "environment": {"PATH": PATH, "LANG": "C.UTF-8", "JUPYTERHUB_DEFAULT_URL": "/lab", "JUPYTER_PREFER_ENV_PATH": "0",
                    "MNIST_ROOT": f"{STATE}/data", "JUPYTER_CONFIG_PATH": f"{CONFIG}/grader:{CONFIG}/common",
                    "PYTHONPATH": f"/home/{GRADER}/tools"},  # grading/: the course's nbgrader steps
}]
