"""Removing cgroups whose processes should be gone: the grading sandbox's (grading/sandbox.py) and the hub's servers'
(hub/spawner.py). The standard library only: the hub imports this in its own environment."""
import os
import signal
import time


def remove_cgroups(cgroups, patience=60):
    """Remove ``cgroups`` (paths), killing whatever is still in them: on a busy machine a killed process can take
    seconds to exit and free its memory. Returns those still there after ``patience`` seconds."""
    deadline, left = time.monotonic() + patience, []
    for cgroup in cgroups:
        while True:
            try:
                cgroup.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                if time.monotonic() > deadline:
                    left.append(cgroup)
                    break
                try:
                    for pid in (cgroup / "cgroup.procs").read_text().split():
                        os.kill(int(pid), signal.SIGKILL)
                except (OSError, ValueError):
                    pass  # a process that has just gone
                time.sleep(0.1)
    return left
