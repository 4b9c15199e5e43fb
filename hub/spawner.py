"""CgroupSpawner: the hub's spawner where systemd does not run (hub/jupyterhub_config.py picks it).

LocalProcessSpawner, with each single-user server held to limits of its own, by the kernel mechanisms the grading
sandbox uses (sandbox/kernel.sh): a cgroup per server (v1 or v2) caps its memory (``mem_limit``, no swap), its
processes and threads (``tasks_limit``) and gives it an equal CPU share (a student alone may use every core;
``cpu_limit`` caps it in cores); hub/launch_server.py gives it a private /tmp and /dev/shm (``tmp_size`` each) and
a /proc with its own processes only. The cgroups are removed when the server stops, and before it starts again.
"""
import asyncio
import os
import sys
from pathlib import Path
from subprocess import Popen

from jupyterhub.spawner import LocalProcessSpawner
from jupyterhub.traitlets import ByteSpecification
from jupyterhub.utils import random_port
from traitlets import Integer

from grading.cgroups import remove_cgroups

LAUNCHER = Path(__file__).with_name("launch_server.py")
CGROUPS = Path("/sys/fs/cgroup")
PREFIX = "gan-hub-"  # every cgroup the hub makes; hub/hub.sh stop removes any left


def own_cgroup(controller):
    """This process's cgroup for a v1 ``controller``; for cgroup v2 (``controller`` None), the unified one."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if (controller is None and controllers == "") or controller in controllers.split(","):
            return path
    raise RuntimeError(f"no {controller or 'unified'} cgroup for this process")


class ServerCgroups:
    """The cgroups of one server, ``gan-hub-<user>``, beside the hub's own (v1: memory, pids and cpu, one each;
    v2: one, under /sys/fs/cgroup/gan-hub)."""

    def __init__(self, user):
        name = PREFIX + user
        if (CGROUPS / "cgroup.controllers").exists():
            self.v2, self.paths = True, [CGROUPS / "gan-hub" / name]
        else:
            self.v2 = False
            self.paths = [CGROUPS / controller / own_cgroup(controller).lstrip("/") / name
                          for controller in ("memory", "pids", "cpu")]

    def create(self, memory, tasks, cpus=None):
        self.remove()  # a server that died with the hub left its own
        if self.v2:
            parent = self.paths[0].parent
            parent.mkdir(exist_ok=True)
            for folder in (CGROUPS, parent):
                (folder / "cgroup.subtree_control").write_text("+memory +pids +cpu")
            cgroup = self.paths[0]
            cgroup.mkdir()
            self._write(cgroup, {"memory.max": memory, "memory.swap.max": 0, "pids.max": tasks,
                                 "cpu.max": f"{int(cpus * 100_000)} 100000" if cpus else None})
            return
        memory_cg, pids_cg, cpu_cg = self.paths
        for cgroup in self.paths:
            cgroup.mkdir()
        self._write(memory_cg, {"memory.limit_in_bytes": memory,
                                "memory.memsw.limit_in_bytes": memory if (memory_cg / "memory.memsw.limit_in_bytes").exists() else None})
        self._write(pids_cg, {"pids.max": tasks})
        # cpu.shares stays at its default: every server the same share of a busy machine, all of an idle one
        self._write(cpu_cg, {"cpu.cfs_period_us": 100_000, "cpu.cfs_quota_us": int(cpus * 100_000) if cpus else None})

    @staticmethod
    def _write(cgroup, settings):
        for name, value in settings.items():
            if value is not None:
                (cgroup / name).write_text(str(value))

    def join(self):
        """Put the calling process in the cgroups (Popen's preexec_fn: the server and all it starts stay there)."""
        for cgroup in self.paths:
            (cgroup / "cgroup.procs").write_text(str(os.getpid()))

    def remove(self, patience=60):
        """Remove the cgroups, killing what is still in them (the server has stopped by now)."""
        left = remove_cgroups(self.paths, patience)
        if left:
            raise RuntimeError(f"the server's cgroups {', '.join(map(str, left))} still have processes after {patience} s")


class CgroupSpawner(LocalProcessSpawner):
    """LocalProcessSpawner with the server in cgroups and namespaces of its own (the module's docstring)."""

    tasks_limit = Integer(512, help="Processes and threads of a server, in all.").tag(config=True)
    tmp_size = ByteSpecification(1 << 30, help="Size of the server's private /tmp, and of its /dev/shm "
                                               "(counted in its memory).").tag(config=True)

    @property
    def cgroups(self):
        return ServerCgroups(self.user.name)

    async def start(self):
        """LocalProcessSpawner's start, through hub/launch_server.py, run as root in the server's new cgroups."""
        if self.port == 0:
            self.port = random_port()
        cgroups = self.cgroups
        cgroups.create(memory=self.mem_limit, tasks=self.tasks_limit, cpus=self.cpu_limit)
        command = [sys.executable, str(LAUNCHER), self.user.name, str(self.tmp_size), "--", *self.cmd, *self.get_args()]
        self.log.info("Spawning %s in %s", " ".join(command), ", ".join(map(str, cgroups.paths)))
        self.proc = Popen(command, env=self.get_env(), preexec_fn=cgroups.join, start_new_session=True)
        self.pid = self.proc.pid
        return (self.ip or "127.0.0.1", self.port)

    async def stop(self, now=False):
        await super().stop(now=now)
        await asyncio.get_running_loop().run_in_executor(None, self.cgroups.remove)
