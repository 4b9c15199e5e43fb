"""What a student is told when their hub server's limits stopped something: an IPython extension the hub loads into
every kernel of its environment (hub/hub.sh installs it, with ipython_kernel_config.py).

- The first cell run by a kernel that started after the server's memory limit killed one says so: the student
  sees why JupyterLab's "kernel restarting" happened.
- A cell that failed because the server's process limit refused a process or thread, or because its private /tmp
  is full, says which limit.

The figures come from the server's own cgroup (hub/spawner.py's, or SystemdSpawner's unit); a kernel outside one
(the course's formgrader service) loads this and does nothing.
"""
import errno
import os
import sys
from pathlib import Path

CGROUPS = Path("/sys/fs/cgroup")
SEEN = Path("/tmp/.gan-hub-oom-kills")  # the server's private /tmp: the kills its kernels have told of


def _size(number_of_bytes):
    gib = number_of_bytes / (1 << 30)
    return f"{gib:.3g} GiB" if gib >= 1 else f"{number_of_bytes / (1 << 20):.3g} MB"


def _counter(path, name):
    """The counter ``name`` of a cgroup file of "name value" lines (memory.oom_control, memory.events, pids.events)."""
    try:
        return int(dict(line.split() for line in path.read_text().splitlines()).get(name, 0))
    except (OSError, ValueError):
        return 0


class ServerLimits:
    """The hub server's cgroup files that this kernel is in (cgroup v1 or v2)."""

    def __init__(self):
        paths = {}
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for controller in controllers.split(",") if controllers else ["unified"]:
                paths[controller] = path
        if "memory" in paths:  # v1: a hierarchy per controller
            memory = CGROUPS / "memory" / paths["memory"].lstrip("/")
            pids = CGROUPS / "pids" / paths.get("pids", "/").lstrip("/")
        else:
            memory = pids = CGROUPS / paths.get("unified", "/").lstrip("/")
        # CgroupSpawner's cgroup, or SystemdSpawner's unit (its default name)
        self.in_server = memory.is_dir() and (memory.name.startswith("gan-hub-") or (
            memory.name.startswith("jupyter-") and memory.name.endswith("-singleuser.service")))
        self.v2 = (memory / "memory.events").exists()
        self.memory, self.pids = memory, pids

    def oom_kills(self):
        return _counter(self.memory / ("memory.events" if self.v2 else "memory.oom_control"), "oom_kill")

    def refused_tasks(self):
        return _counter(self.pids / "pids.events", "max")

    def limit(self, name):
        try:
            return int((self.memory if name.startswith("memory") else self.pids).joinpath(name).read_text())
        except (OSError, ValueError):  # "max": no limit
            return None

    def memory_limit(self):
        return self.limit("memory.max" if self.v2 else "memory.limit_in_bytes")


def _say(text):
    print(f"[hub] {text}", file=sys.stderr)


def load_ipython_extension(ipython):
    limits = ServerLimits()
    if not limits.in_server:
        return
    kills = limits.oom_kills()
    try:
        told = int(SEEN.read_text())
    except (OSError, ValueError):
        told = kills  # the server's first kernel
    try:
        SEEN.write_text(str(kills))
    except OSError:
        pass  # a full /tmp: told again next time
    refused = [limits.refused_tasks()]

    def before(_info=None):
        refused[0] = limits.refused_tasks()

    def after(result):
        err = result.error_in_exec
        if not isinstance(err, OSError):
            return
        if err.errno == errno.EAGAIN and limits.refused_tasks() > refused[0]:
            _say(f"This server's limit of {limits.limit('pids.max')} processes and threads was reached: end the "
                 f"processes your code started, or restart the kernel.")
        elif err.errno == errno.ENOSPC:
            stats = os.statvfs("/tmp")
            if stats.f_bavail * stats.f_frsize < 1 << 20:
                _say(f"This server's /tmp is full ({_size(stats.f_blocks * stats.f_frsize)}, counted in its "
                     f"memory): delete what your code wrote there.")

    def tell_once(_info=None):
        ipython.events.unregister("pre_run_cell", tell_once)
        limit = limits.memory_limit()
        _say(f"Your last kernel was stopped: this server's memory limit of {_size(limit) if limit else '?'} was "
             f"reached. The kernel has restarted and your notebook is saved: run its cells again from the top "
             f"(a training run resumes from its last checkpoint).")

    ipython.events.register("pre_run_cell", before)
    ipython.events.register("post_run_cell", after)
    if kills > told:
        ipython.events.register("pre_run_cell", tell_once)
