"""Start one single-user server apart from the others: `launch_server.py USER TMP_BYTES -- COMMAND...`.

Run as root by hub/spawner.py's CgroupSpawner, already in the server's cgroups (which everything started here
inherits). The server gets a mount and a pid namespace of its own:

- a private /tmp and /dev/shm, each a tmpfs of TMP_BYTES (what is written there counts in the server's memory);
- its own /proc: the student sees their own processes only, not other accounts' command lines or environments;
- COMMAND runs as USER, in their home, with no_new_privs; this script's first child is the namespace's init,
  which forwards the spawner's signals to the server and reaps what it leaves (a zombie would hold one of the
  server's processes). When the server ends, every process of its namespace ends with it.

This process stays outside the namespaces as the one the spawner watches and signals.
"""
import ctypes
import os
import pwd
import signal
import subprocess
import sys

CLONE_NEWNS, CLONE_NEWPID = 0x00020000, 0x20000000
PR_SET_NO_NEW_PRIVS = 38
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
libc = ctypes.CDLL(None, use_errno=True)


def forward_signals(pid):
    def forward(signum, _frame):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass
    for signum in FORWARDED:
        signal.signal(signum, forward)


def exit_code(status):
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def private_mounts(tmp_bytes):
    """The namespace's own /proc, /tmp and /dev/shm; nothing mounted here reaches the machine's mounts."""
    options = f"size={tmp_bytes},mode=1777,nosuid,nodev"
    for command in (["mount", "--make-rprivate", "/"],
                    ["mount", "-t", "proc", "-o", "nosuid,nodev,noexec", "proc", "/proc"],
                    ["mount", "-t", "tmpfs", "-o", options, "gan-hub-tmp", "/tmp"],
                    ["mount", "-t", "tmpfs", "-o", options, "gan-hub-shm", "/dev/shm"]):
        subprocess.run(command, check=True)


def become(account):
    os.initgroups(account.pw_name, account.pw_gid)
    os.setgid(account.pw_gid)
    os.setuid(account.pw_uid)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    os.chdir(account.pw_dir)


def main(argv):
    if len(argv) < 4 or argv[2] != "--":
        sys.exit("usage: launch_server.py USER TMP_BYTES -- COMMAND...")
    account, tmp_bytes, command = pwd.getpwnam(argv[0]), int(argv[1]), argv[3:]
    if libc.unshare(CLONE_NEWNS | CLONE_NEWPID) != 0:
        sys.exit(f"launch_server: unshare: {os.strerror(ctypes.get_errno())}")
    init = os.fork()  # pid 1 of the new pid namespace
    if init:
        forward_signals(init)
        _, status = os.waitpid(init, 0)
        sys.exit(exit_code(status))
    try:
        private_mounts(tmp_bytes)
    except (OSError, subprocess.CalledProcessError) as err:
        sys.exit(f"launch_server: the server's namespace could not be set up: {err}")
    server = os.fork()
    if server == 0:
        try:
            become(account)
            os.execvp(command[0], command)
        except OSError as err:
            print(f"launch_server: {command[0]} as {account.pw_name}: {err}", file=sys.stderr)
            os._exit(127)
    forward_signals(server)
    while True:  # as init: reap every process orphaned in the namespace, until the server itself ends
        pid, status = os.waitpid(-1, 0)
        if pid == server:
            sys.exit(exit_code(status))  # the kernel ends what is left of the namespace with its init


if __name__ == "__main__":
    main(sys.argv[1:])
