"""Autograding that fails closed: student code runs only in the sandbox, within limits, and nothing it
leaves behind is trusted.

nbgrader_config.py puts these into nbgrader's autograde (the CLI, `make autograde` and formgrader's
Autograde button all read it):

- ``CheckSubmittedFiles`` (first sanitize step): a submission folder holding anything but regular files
  and folders (symbolic links, FIFOs, devices, files hard-linked elsewhere) is refused before its
  notebook is read, with the offending paths in the message.
- ``SandboxedExecute`` (the execute step): refuses to start unless the gan-sandbox kernel
  (sandbox/kernel.sh, installed by `make sandbox`) and what it needs are present; runs the notebook in
  it through ``SandboxKernelManager`` (IPC sockets in a private folder, no network); caps outputs as
  they arrive; ends the grading with a ``SandboxLimitError`` that names the limit when one is hit; and
  refuses a graded folder that holds anything but regular files and folders afterwards. After each
  test cell it takes away the evidence that cell's hidden tests saved (``helpers.evidence``), for
  ``grading.verdicts.SaveVerdicts``; files that any other cell leaves there are deleted unread. When
  SaveVerdicts is configured, it starts the trusted re-check's process as the notebook starts.

``GAN_UNSANDBOXED_AUTOGRADE=1`` is the one way to run student code outside the sandbox, for a trusted
single-user setup; every notebook graded so is announced in the log. Students' Validate does not use
any of this (it runs nbgrader's own Execute in their python3 kernel).
"""
import asyncio
import copy
import json
import os
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import zmq
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import DeadKernelError
from nbclient.util import ensure_async, run_sync
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Bool, Float, Integer

from .cgroups import remove_cgroups
from .rebuild import GRADING_METADATA
from .verdicts import SaveVerdicts

SANDBOX_KERNEL = "gan-sandbox"
SANDBOX_USER = "gan-sandbox"
UNSANDBOXED_SWITCH = "GAN_UNSANDBOXED_AUTOGRADE"
KERNEL_SCRIPT = Path(__file__).resolve().parent.parent / "sandbox" / "kernel.sh"
SANDBOX_TOOLS = ("bwrap", "setpriv", "prlimit", "timeout")


# Set for every graded kernel: nbgrader scores a test cell that writes to stderr as failed, so a warning (a
# deprecation in this torch, a UserWarning of the student's) must not cost points.
GRADING_ENV = {"PYTHONWARNINGS": "ignore"}


class SandboxMissingError(RuntimeError):
    """Autograde was asked to run student code while the sandbox is not installed."""


class SandboxLimitError(RuntimeError):
    """Student code hit one of the sandbox's limits; the message names it."""


class NeedsRegradeError(SandboxLimitError):
    """A wall-clock limit ended the grading while the student's code was waiting for a CPU: the machine was busy,
    the student did nothing wrong. Not a score: the batch grades it once more, then marks it for regrading."""


class SubmissionRefusedError(RuntimeError):
    """A submission or graded folder holds something other than regular files and folders."""


def sandbox_problem():
    """Why autograde cannot run student code in the sandbox here, or None when it can."""
    try:
        spec = KernelSpecManager().get_kernel_spec(SANDBOX_KERNEL)
    except NoSuchKernel:
        return f"the {SANDBOX_KERNEL} kernel is not installed"
    if Path(spec.argv[0]).resolve() != KERNEL_SCRIPT:
        return f"the {SANDBOX_KERNEL} kernel runs {spec.argv[0]}, not this course's {KERNEL_SCRIPT}"
    missing = [tool for tool in SANDBOX_TOOLS if shutil.which(tool) is None]
    if missing:
        return f"{', '.join(missing)} not found"
    if os.geteuid() != 0:
        return "autograde does not run as root (the sandbox needs root to switch users and cap memory)"
    try:
        pwd.getpwnam(SANDBOX_USER)
    except KeyError:
        return f"the user {SANDBOX_USER} does not exist"
    return None


def untrusted_entries(folder):
    """Paths below ``folder`` (relative) that are not plain regular files or folders: symbolic links,
    FIFOs, sockets, devices, and regular files with other hard links (which could be files elsewhere)."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            info = os.lstat(path)
            plain_dir = stat.S_ISDIR(info.st_mode)
            plain_file = stat.S_ISREG(info.st_mode) and info.st_nlink == 1
            if not (plain_dir or plain_file):
                found.append(os.path.relpath(path, folder))
    return sorted(found)


def refuse_untrusted(folder, what):
    """Raise ``SubmissionRefusedError`` when ``folder`` holds links, FIFOs, devices or hard-linked files."""
    found = untrusted_entries(folder)
    if found:
        shown = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
        raise SubmissionRefusedError(f"{what} holds links or special files, not graded: {shown}")


class CheckSubmittedFiles(NbGraderPreprocessor):
    """Refuse a submission whose folder holds links or special files, before its notebook is used."""

    def preprocess(self, nb, resources):
        refuse_untrusted(resources["metadata"]["path"], "the submission")
        return nb, resources


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager for the sandbox: the connection file in a private folder of its own, the kernel's
    sockets as IPC files in its ``ipc/`` (the sandbox has no network), the folder removed afterwards.
    It also reads, from outside the sandbox, what its cgroups and tmpfs say about the limits."""

    run_dir = None
    max_message_bytes = 64 << 20  # a bigger message from the kernel drops the connection, unread

    async def _async_pre_start_kernel(self, **kw):
        self.run_dir = Path(tempfile.mkdtemp(prefix="gan-sandbox-"))
        (self.run_dir / "ipc").mkdir()
        (self.run_dir / "evidence").mkdir()
        self.transport = "ipc"
        self.connection_file = str(self.run_dir / "kernel.json")
        self.ip = str(self.run_dir / "ipc" / "kernel")
        return await super()._async_pre_start_kernel(**kw)

    def client(self, **kwargs):
        kc = super().client(**kwargs)
        kc.context.setsockopt(zmq.MAXMSGSIZE, self.max_message_bytes)  # default for the channels' sockets
        return kc

    def exit_record(self):
        """(exit status, memory cgroup OOM kills) of the sandbox as kernel.sh recorded them, or None while it runs."""
        try:
            status, oom_kills = (self.run_dir / "exit").read_text().split()
            return int(status), int(oom_kills)
        except (OSError, TypeError, ValueError):
            return None

    def cgroups(self):
        path = self.run_dir / "cgroups" if self.run_dir else None
        return [Path(line) for line in path.read_text().split()] if path and path.exists() else []

    def wants_cpu(self):
        """Whether a thread of the sandbox is running or waiting for a CPU now (its state in /proc: R), not sleeping
        or blocked. (Not D, the disk's wait: a student's code can hold a thread there without a busy machine.)"""
        cgroups = self.cgroups()
        if not cgroups:
            return False
        v1 = cgroups[0] / "tasks"
        try:  # the sandbox's threads: cgroup v1's tasks, v2's cgroup.threads
            tids = (v1 if v1.exists() else cgroups[0] / "cgroup.threads").read_text().split()
        except OSError:
            return False
        for tid in tids:
            try:
                if Path(f"/proc/{tid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "R":
                    return True
            except (OSError, IndexError):
                continue  # a thread that has just ended
        return False

    def cpu_seconds(self):
        """CPU time all processes of the sandbox have used so far, from its cgroup; None where it has no meter
        (kernel.sh found no cpuacct cgroup) or the sandbox is gone."""
        try:
            for cgroup in self.cgroups():
                if (cgroup / "cpuacct.usage").exists():
                    return int((cgroup / "cpuacct.usage").read_text()) / 1e9
                if (cgroup / "cpu.stat").exists():
                    return int(dict(line.split() for line in (cgroup / "cpu.stat").read_text().splitlines())["usage_usec"]) / 1e6
        except (OSError, KeyError, ValueError):
            return None
        return None

    def process_limit_hit(self):
        """Whether the pids cgroup has refused a fork or a thread (its pids.events says "max N", N > 0)."""
        events = [cgroup / "pids.events" for cgroup in self.cgroups()]
        return any(dict(line.split() for line in path.read_text().splitlines()).get("max", "0") != "0"
                   for path in events if path.exists())

    def full_tmpfs(self, folders):
        """Those of the sandbox's ``folders`` (tmpfs mounts) with less than 1 MB left, seen through the root
        of a process in the sandbox (the cgroup also holds kernel.sh, which sees the real folders)."""
        cgroups = self.cgroups()
        procs = cgroups[0] / "cgroup.procs" if cgroups else None
        here = os.stat("/proc/self/ns/mnt").st_ino
        inside = []
        for pid in procs.read_text().split() if procs and procs.exists() else []:
            try:
                if os.stat(f"/proc/{pid}/ns/mnt").st_ino != here:
                    inside.append(pid)
            except OSError:
                continue
        if not inside:
            return []
        full = []
        for folder in folders:
            try:
                stats = os.statvfs(f"/proc/{inside[-1]}/root{folder}")
            except OSError:
                continue
            if stats.f_bavail * stats.f_frsize < 1 << 20:
                full.append(folder)
        return full

    async def _async_cleanup_resources(self, restart=False):
        await super()._async_cleanup_resources(restart=restart)
        if self.run_dir and not restart:
            for mount in (self.run_dir / "ipc", self.run_dir / "evidence"):  # kernel.sh's tmpfs
                if os.path.ismount(mount):
                    subprocess.run(["umount", "--lazy", str(mount)], check=False)
            self._remove_cgroups()
            shutil.rmtree(self.run_dir, ignore_errors=True)

    def _remove_cgroups(self, patience=60):
        """Remove the sandbox's cgroups once their last processes are gone. The kernel is shut down by now, so
        any process still in them is killed."""
        for cgroup in remove_cgroups(self.cgroups(), patience):
            self.log.warning("the sandbox's cgroup %s still has processes after %d s", cgroup, patience)

    cleanup_resources = _async_cleanup_resources  # nbclient calls this after a kernel died; the base binds its own


class Window:
    """How the sandbox spent some cells' time: wall-clock and CPU seconds, and samples of whether its code wanted
    a CPU (``SandboxKernelManager.wants_cpu``). A cell's window runs from its start; ``closed`` gives its figures
    so far; windows add up (the notebook's cells)."""

    def __init__(self, cpu_start=None):
        self.started, self.cpu_start = time.monotonic(), cpu_start
        self.wall = self.cpu = 0.0
        self.samples = self.wanting = 0

    def sample(self, wants_cpu):
        self.samples += 1
        self.wanting += bool(wants_cpu)

    def closed(self, cpu_now):
        window = copy.copy(self)
        window.wall = time.monotonic() - self.started
        window.cpu = max(0.0, (cpu_now or 0.0) - (self.cpu_start or 0.0))  # None: the sandbox is gone
        return window

    def __add__(self, other):
        total = Window()
        total.wall, total.cpu = self.wall + other.wall, self.cpu + other.cpu
        total.samples, total.wanting = self.samples + other.samples, self.wanting + other.wanting
        return total

    def shares(self, threads):
        """(waiting, computing): the shares of the time the sandbox waited for a CPU and ran on one; waiting is
        the share of samples in which it wanted a CPU, less the share it had one (per kernel thread)."""
        computing = min(1.0, self.cpu / (self.wall * threads)) if self.wall > 0 else 0.0
        return max(0.0, self.wanting / self.samples - computing), computing

    def idle_seconds(self):
        """The time the sandbox's code neither ran nor waited for a CPU: the share of samples in which no thread
        of it wanted one."""
        return self.wall * (1 - self.wanting / self.samples) if self.samples else 0.0


def _size(number_of_bytes):
    if number_of_bytes >= 1 << 30:
        return f"{number_of_bytes / (1 << 30):.3g} GiB"
    return f"{number_of_bytes / (1 << 20):.3g} MB"


OUTPUT_MESSAGES = {"stream", "display_data", "execute_result", "update_display_data", "error"}


class SandboxedExecute(Execute):
    """nbgrader's Execute, in the sandbox only, with limits that end the grading with a clear reason."""

    memory_bytes = Integer(4 << 30, help="Memory of the sandbox, no swap (bytes).").tag(config=True)
    disk_bytes = Integer(200 << 20, help="What the student's code may write in its folder, /tmp and /dev/shm, "
                                         "each (bytes).").tag(config=True)
    cpu_seconds = Integer(1200, help="CPU time of each process in the sandbox, for the whole notebook.").tag(config=True)
    processes = Integer(512, help="Processes and threads in the sandbox, in all.").tag(config=True)
    notebook_seconds = Integer(600, help="Wall-clock time for the whole notebook.").tag(config=True)
    max_output_bytes = Integer(2 << 20, help="Largest single output message (all of it: text, data, metadata, "
                                             "traceback).").tag(config=True)
    max_line_chars = Integer(10_000, help="Longest line of text output kept.").tag(config=True)
    max_notebook_output_bytes = Integer(20 << 20, help="All outputs of the notebook together.").tag(config=True)
    # Printed lines arrive one message each over the sandbox's sockets: one block of text per cell, as in JupyterLab.
    coalesce_streams = Bool(True)
    store_widget_state = Bool(False)  # widget state is the student's too, and uncapped

    max_evidence_bytes = 64 << 20

    cell_wall_factor = Integer(10, help="A cell's wall-clock backstop, in multiples of ``Execute.timeout``, for the "
                                        "time its code waits for a CPU on a busy machine (time spent sleeping or "
                                        "blocked is held to ``Execute.timeout`` itself).").tag(config=True)
    starved_share = Float(0.25, help="A wall-clock limit reached while the sandbox's code waited for a CPU this "
                                     "share of the time or more is the machine's doing: the grading needs a regrade "
                                     "(NeedsRegradeError), it is not the student's.").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._stopped_because = None  # why _hold_to killed the kernel
        self._unsandboxed = os.environ.get(UNSANDBOXED_SWITCH) == "1"
        if self._unsandboxed:
            self.log.warning("=" * 78)
            self.log.warning(f"{UNSANDBOXED_SWITCH}=1: STUDENT CODE RUNS OUTSIDE THE SANDBOX, with all of your rights")
            self.log.warning("=" * 78)
        else:
            problem = sandbox_problem()
            if problem:
                raise SandboxMissingError(f"refusing to run student code outside the sandbox: {problem}. "
                                          f"Run `make sandbox` (as root) to install it.")
        self._deadline = time.monotonic() + self.notebook_seconds
        self._notebook_time = Window()  # the cells' time so far, for ``_wall_clock_stop``
        self._output_bytes, self._cut_cells = 0, set()
        self._work = resources["metadata"]["path"]
        # What the sanitize steps found (grading.rebuild) and the evidence, for grading.verdicts.SaveVerdicts.
        self._evidence = Path(tempfile.mkdtemp(prefix="gan-evidence-"))
        self._staging = Path(tempfile.mkdtemp(prefix="gan-evidence-staging-")) if self._unsandboxed else None
        record = resources[GRADING_METADATA] = {**nb.metadata.get(GRADING_METADATA, {}), "evidence_dir": str(self._evidence)}
        steps = self.config.get("Autograde", {}).get("autograde_preprocessors", [])
        if any(step.endswith(".SaveVerdicts") for step in steps):
            verdicts = SaveVerdicts(config=self.config)
            if verdicts.rechecks(resources):
                record["recheck"] = verdicts.start_recheck(resources)  # beside the kernel, never in it
        try:
            nb, resources = super().preprocess(nb, resources, km)
            refuse_untrusted(resources["metadata"]["path"], "after grading, the graded folder")
        except BaseException:
            shutil.rmtree(self._evidence, ignore_errors=True)
            if "recheck" in record:
                record["recheck"].kill()
                record["recheck"].wait()
            raise
        finally:
            if self._staging:
                shutil.rmtree(self._staging, ignore_errors=True)
        return nb, resources

    def create_kernel_manager(self):
        # Here, not in __init__: nbconvert's preprocess() re-applies the configuration (kernel_name python3).
        if self._unsandboxed:
            return super().create_kernel_manager()
        self.kernel_name, self.kernel_manager_class = SANDBOX_KERNEL, SandboxKernelManager
        km = super().create_kernel_manager()
        assert isinstance(km, SandboxKernelManager) and km.kernel_name == SANDBOX_KERNEL, "not the sandbox's kernel"
        return km

    async def async_start_new_kernel(self, **kwargs):
        limits = {"GAN_SANDBOX_MEMORY_BYTES": self.memory_bytes, "GAN_SANDBOX_DISK_BYTES": self.disk_bytes,
                  "GAN_SANDBOX_CPU_SECONDS": self.cpu_seconds, "GAN_SANDBOX_PROCESSES": self.processes,
                  "GAN_SANDBOX_WALL_SECONDS": self.notebook_seconds + 120, **GRADING_ENV}
        if self._staging:  # unsandboxed: the kernel gets a folder of its own for the evidence
            limits["GAN_EVIDENCE_DIR"] = self._staging
        kwargs.setdefault("env", {**os.environ, **{name: str(value) for name, value in limits.items()}})
        self._threads = int(kwargs["env"].get("OMP_NUM_THREADS") or os.cpu_count())  # PyTorch's threads in the kernel
        await super().async_start_new_kernel(**kwargs)

    # nbconvert's preprocess() starts the kernel through the synchronous wrapper, which nbclient binds to its own
    # coroutine: without this line the limits and GRADING_ENV above never reach sandbox/kernel.sh.
    start_new_kernel = run_sync(async_start_new_kernel)

    async def async_start_new_kernel_client(self):
        kc = await super().async_start_new_kernel_client()
        # The CPU seconds a cell may use in the sandbox, ``timeout`` on each of the kernel's threads; None where a
        # cell's time is wall-clock time (unsandboxed, no limit set, or no CPU meter in this sandbox). Known once
        # the kernel answers: kernel.sh has made its cgroups by then.
        self._cpu_budget = None
        if not self._unsandboxed and self.timeout and self.timeout > 0:
            if self.km.cpu_seconds() is None:
                self.log.warning("no CPU meter for the sandbox (no cpuacct cgroup): a cell's time limit is wall-clock time")
            else:
                self._cpu_budget = self.timeout * self._threads
        return kc

    start_new_kernel_client = run_sync(async_start_new_kernel_client)  # as start_new_kernel above

    def _wall_clock_stop(self, limit, window):
        """The error that ends a grading at a wall-clock ``limit`` (its words), from how the sandbox spent
        ``window``: waiting for a CPU (a busy machine: NeedsRegradeError), or computing, sleeping, blocked (the
        student's code: SandboxLimitError)."""
        if not window.samples:  # the kernel's start, on a busy machine: the student's code has not run yet
            return NeedsRegradeError(f"timed out: needs regrade: {limit} before the student's code ran")
        waiting, computing = window.shares(self._threads)
        if waiting >= self.starved_share:
            return NeedsRegradeError(f"timed out: needs regrade: {limit} while the sandbox waited for a CPU "
                                     f"{waiting:.0%} of the time (a busy machine)")
        return SandboxLimitError(f"{limit} (the student's code computed {computing:.0%} of the time, and waited for "
                                 f"a CPU {waiting:.0%}: it was sleeping or blocked otherwise)")

    async def _async_handle_timeout(self, timeout, cell=None):
        """nbclient's wall-clock wait for a cell ran out: end the grading, the machine's doing or the student's
        (nbclient's own way interrupts the cell, which a test cell would fail: a silent 0 for a busy machine)."""
        if self._cpu_budget is None:
            return await super()._async_handle_timeout(timeout, cell)
        self.shutdown_kernel = "immediate"
        cell_time = self._cell_time.closed(self.km.cpu_seconds())
        if time.monotonic() >= self._deadline - 1:
            limit = f"wall-clock limit of {self.notebook_seconds} s for the whole notebook reached"
            window = self._notebook_time + cell_time
        else:
            limit, window = f"wall-clock limit of {timeout} s for a cell reached", cell_time
        raise self._wall_clock_stop(limit, window)

    def _get_timeout(self, cell):
        """nbclient's wall-clock wait for a cell: with a CPU budget, a backstop of ``cell_wall_factor`` times
        ``timeout`` (a cell kept waiting for a CPU by a busy machine; one that sleeps is stopped at ``timeout`` by
        ``_hold_to``), within the notebook's time left."""
        if self._cpu_budget is None:
            return super()._get_timeout(cell)
        return max(1, round(min(self.cell_wall_factor * self.timeout, self._deadline - time.monotonic())))

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        budget, self._over_budget = self._cpu_budget, False
        if budget is None:
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        self._cell_time = Window(self.km.cpu_seconds())
        watch = asyncio.ensure_future(self._hold_to(budget, self._cell_time.cpu_start))
        try:
            cell = await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        finally:
            if watch.done() and watch.exception():
                raise watch.exception()  # fail closed: a cell whose budget went unwatched is not graded
            watch.cancel()
            self._notebook_time += self._cell_time.closed(self.km.cpu_seconds())
        if self._over_budget:  # after the cell's own outputs: a student's clear_output() cannot remove it
            cell.outputs.append(new_output("error", ename="CellTimeoutError", evalue=f"over {budget} s of CPU time",
                                           traceback=[f"CellTimeoutError: the cell used more than {budget} s of CPU "
                                                      f"time ({self.timeout} s on each of the kernel's {self._threads} "
                                                      f"threads) and was interrupted"]))
        return cell

    # nbconvert's preprocess_cell calls the synchronous wrapper, which nbclient binds to its own coroutine.
    execute_cell = run_sync(async_execute_cell)

    async def _hold_to(self, budget, start):
        """Stop a cell whose sandbox has used ``budget`` s of CPU time since ``start``, however long a busy machine
        made it wait: interrupt it; kill the kernel if the cell goes on to twice its budget. Stop at once a cell
        whose code has spent the cell's time limit neither computing nor waiting for a CPU (sleeping, blocked):
        only the time a busy machine made it wait stretches a cell to the ``cell_wall_factor`` backstop."""
        for limit in (budget, 2 * budget):
            used = 0.0
            while used <= limit:
                await asyncio.sleep(0.2)
                self._cell_time.sample(self.km.wants_cpu())
                now = self.km.cpu_seconds()
                used = used if now is None else now - start  # None: the sandbox ended (nbclient sees it) or a read failed
                window = self._cell_time.closed(now)
                if window.idle_seconds() > self.timeout:
                    limit = f"wall-clock limit of {self.timeout} s for a cell reached"
                    await self._stop_kernel(str(self._wall_clock_stop(limit, window)))
                    return
            if not self._over_budget:
                self._over_budget = True
                self.log.error(f"the cell used {used:.0f} s of CPU time, over its budget of {budget} s: interrupting it")
                await ensure_async(self.km.interrupt_kernel())
        await self._stop_kernel(f"CPU time limit of {self.timeout} s for a cell reached, and the cell went on when "
                                f"interrupted")

    async def _stop_kernel(self, reason):
        """Kill the sandbox's kernel; nbclient then finds it dead, and the grading ends with ``reason``."""
        self._stopped_because = reason
        self.log.error(reason)
        await ensure_async(self.km.signal_kernel(signal.SIGKILL))

    def preprocess_cell(self, cell, resources, index):
        if time.monotonic() > self._deadline:
            limit = f"wall-clock limit of {self.notebook_seconds} s for the whole notebook reached before cell {index}"
            raise (self._wall_clock_stop(limit, self._notebook_time) if self._cpu_budget is not None
                   else SandboxLimitError(limit))
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            raise SandboxLimitError(f"{self._why_the_kernel_died()} (cell {index})") from None
        self._take_evidence(cell)
        limit = self._limit_hit()
        if limit:
            self.shutdown_kernel = "immediate"  # a kernel at its limits may not manage a graceful shutdown
            raise SandboxLimitError(f"{limit} (cell {index})")
        return cell, resources

    def _take_evidence(self, cell):
        """Move ``<grade_id>.pt`` away if ``cell`` is a test cell that saved it; delete anything else there."""
        staging = self._staging or (self.km.run_dir / "evidence" if isinstance(self.km, SandboxKernelManager) else None)
        if staging is None or not staging.is_dir():
            return
        nbgrader = cell.metadata.get("nbgrader", {})
        expected = f"{nbgrader['grade_id']}.pt" if nbgrader.get("grade") and not nbgrader.get("solution") else None
        for entry in os.scandir(staging):
            info = entry.stat(follow_symlinks=False)
            if entry.name == expected and stat.S_ISREG(info.st_mode) and info.st_size <= self.max_evidence_bytes:
                fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW)
                with os.fdopen(fd, "rb") as source, open(self._evidence / entry.name, "wb") as target:
                    shutil.copyfileobj(source, target)
            if stat.S_ISDIR(info.st_mode):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                os.unlink(entry.path)

    def _why_the_kernel_died(self):
        if self._stopped_because:
            return self._stopped_because
        record = None
        if isinstance(self.km, SandboxKernelManager):
            for _ in range(50):  # kernel.sh records how the sandbox ended as it ends
                record = self.km.exit_record()
                if record:
                    break
                time.sleep(0.1)
        status, oom_kills = record or (None, 0)
        if oom_kills:
            return f"memory limit of {_size(self.memory_bytes)} reached: the kernel was stopped"
        if status == 124:
            return f"wall-clock limit of {self.notebook_seconds} s reached: the sandbox was stopped"
        if status == 128 + signal.SIGXCPU:
            return f"CPU time limit of {self.cpu_seconds} s reached: the kernel was stopped (SIGXCPU)"
        if status is not None and status > 128:
            return f"the kernel died (killed by signal {signal.Signals(status - 128).name})"
        return f"the kernel died (exit status {status})"

    def _limit_hit(self):
        """The limit the sandbox enforced during the last cell, by its cgroup and tmpfs (not by anything
        the student's code says: a MemoryError it raises is just an error in a cell)."""
        if not isinstance(self.km, SandboxKernelManager):
            return None
        if self.km.process_limit_hit():
            return f"process limit of {self.processes} processes and threads reached"
        full = self.km.full_tmpfs([self._work, "/tmp", "/dev/shm"])
        if full:
            return f"disk limit of {_size(self.disk_bytes)} reached in {full[0]}"
        return None

    def process_message(self, msg, cell, cell_index):
        if msg["msg_type"] in OUTPUT_MESSAGES and not self._unsandboxed:
            size = self._cap(msg["msg_type"], msg["content"])
            self._output_bytes += size
            if self._output_bytes > self.max_notebook_output_bytes:
                if cell_index not in self._cut_cells:
                    self._cut_cells.add(cell_index)
                    cell.outputs.append(new_output("stream", name="stdout", text=(
                        f"[sandbox: outputs beyond {_size(self.max_notebook_output_bytes)} for the notebook removed]\n")))
                return None
        return super().process_message(msg, cell, cell_index)

    def _cap(self, msg_type, content):
        """Cut one output message's ``content`` in place to the output limits; return its size afterwards."""
        size = len(json.dumps(content, default=str))
        if size > self.max_output_bytes:
            note = f"[sandbox: output of {_size(size)} removed, over the {_size(self.max_output_bytes)} limit]"
            if msg_type == "stream":
                kept = self.max_output_bytes // 2
                content["text"] = str(content.get("text", ""))[:kept] + f"\n[sandbox: output of {_size(size)} cut to {_size(kept)}]\n"
            elif msg_type == "error":
                content.update(evalue=str(content.get("evalue", ""))[:1000], traceback=[note])
            else:
                content.update(data={"text/plain": note}, metadata={})
        if msg_type == "stream":
            content["text"] = self._cut_lines(content.get("text", ""))
        elif msg_type != "error":
            for mime, value in content.get("data", {}).items():
                if mime.startswith("text/") and mime != "text/html" and isinstance(value, str):
                    content["data"][mime] = self._cut_lines(value)
        return len(json.dumps(content, default=str)) if size > self.max_output_bytes else size

    def _cut_lines(self, text):
        lines = text.split("\n")
        if all(len(line) <= self.max_line_chars for line in lines):
            return text
        return "\n".join(line if len(line) <= self.max_line_chars else
                         line[:self.max_line_chars] + f" [sandbox: line cut at {self.max_line_chars:,} characters]"
                         for line in lines)
