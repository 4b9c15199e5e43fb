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
- Limits per server, so that one student cannot hold up the class: memory (3 GiB), an equal CPU share (a
  student alone may use every core), 512 processes and threads, a private /tmp and /dev/shm (1 GiB each, counted
  in the memory) and a /proc with the server's own processes only; staff get more memory and /tmp. HUB_<LIMIT> in
  the environment overrides a student's, HUB_STAFF_<LIMIT> a staff member's (MEM_LIMIT, CPU_LIMIT in cores,
  TASKS_LIMIT, TMP_SIZE; sizes as "3G"). Where systemd runs, SystemdSpawner holds them (The Littlest JupyterHub's
  way); elsewhere, as on this machine (no systemd, cgroup v1), hub/spawner.py's CgroupSpawner, with the kernel
  mechanisms the grading sandbox uses. hub/gan_hub_limits.py tells a student which limit stopped their code.
- Idle servers are stopped by jupyterhub-idle-culler, a hub service, after HUB_IDLE_TIMEOUT seconds (one hour).
- Formgrader opens in a tab of its own: single-user servers and services send `frame-ancestors 'none'`
  (JupyterHub 4.1+), which nbgrader 0.9.6 leaves alone, so it cannot be framed by a student's page either.
"""
import os
import sys

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

SYSTEMD = os.path.isdir("/run/systemd/system")  # systemd is the machine's init (sd_booted)
LIMITS = {  # per server, by role; "cpu_limit": None is an equal share of every core, no cap
    role: {trait: os.environ.get(f"HUB_{prefix}{trait.upper()}", default) for trait, default in defaults.items()}
    for role, prefix, defaults in (
        ("student", "", {"mem_limit": "3G", "cpu_limit": None, "tasks_limit": "512", "tmp_size": "1G"}),
        ("staff", "STAFF_", {"mem_limit": "6G", "cpu_limit": None, "tasks_limit": "1024", "tmp_size": "2G"}))}


def apply_limits(spawner):
    """The limits of the server's role (its spawner's pre_spawn_hook)."""
    limits = LIMITS["staff" if spawner.user.name in STAFF else "student"]
    spawner.mem_limit = limits["mem_limit"]
    spawner.cpu_limit = float(limits["cpu_limit"]) if limits["cpu_limit"] else None
    if SYSTEMD:
        spawner.unit_extra_properties = {"TasksMax": limits["tasks_limit"], "MemorySwapMax": "0",
                                         "ProtectProc": "invisible"}
    else:
        spawner.tasks_limit, spawner.tmp_size = int(limits["tasks_limit"]), limits["tmp_size"]


if SYSTEMD:
    c.JupyterHub.spawner_class = "systemdspawner.SystemdSpawner"
    c.SystemdSpawner.isolate_tmp = True  # a private /tmp (PrivateTmp), on disk
    c.SystemdSpawner.disable_user_sudo = True
else:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repository
    from hub.spawner import CgroupSpawner  # noqa: E402
    c.JupyterHub.spawner_class = CgroupSpawner
c.Spawner.pre_spawn_hook = apply_limits
c.Spawner.cmd = [f"{VENV}/bin/jupyterhub-singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.start_timeout = c.Spawner.http_timeout = 120
c.Spawner.environment = {
    "PATH": PATH, "LANG": "C.UTF-8", "JUPYTER_PREFER_ENV_PATH": "0",
    # PyTorch's OpenMP threads spin at each barrier (300,000 turns), on CPU time that the server's equal share
    # loses when the machine is busy: a student's Validate beside another's spinners took 3.5x its time alone, where
    # the fair half is 2x; with 10,000 turns 1.5x, and a training step alone 3-6% slower (docs/hub.md).
    "GOMP_SPINCOUNT": "10000",
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
IDLE_TIMEOUT = int(os.environ.get("HUB_IDLE_TIMEOUT", 3600))
c.JupyterHub.load_roles.append({"name": "idle-culler", "services": ["idle-culler"],
                                "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"]})
c.JupyterHub.services = [{
    "name": "idle-culler",
    "command": [f"{VENV}/bin/python", "-m", "jupyterhub_idle_culler", f"--timeout={IDLE_TIMEOUT}"],
}, {
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
