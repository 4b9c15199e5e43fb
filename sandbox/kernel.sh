#!/usr/bin/env bash
# Start a student's kernel in the sandbox: the gan-sandbox kernelspec runs `kernel.sh CONNECTION_FILE`.
#
# grading/sandbox.py's SandboxKernelManager puts the connection file in a fresh folder of its own,
# RUN_DIR/kernel.json, with the kernel's IPC sockets in RUN_DIR/ipc/ (a 1 MB tmpfs mounted here) and
# RUN_DIR/evidence/ (a 64 MB tmpfs, /evidence inside) for what the hidden tests save; nbgrader
# starts this script in the submission's folder, autograded/<student>/<assignment>/. Student code then runs
#   - as the unprivileged user gan-sandbox (made by `make sandbox`), in a user namespace of its own that
#     can make no further ones, with no capabilities and no_new_privs;
#   - with no network (its own network namespace; the kernel talks to nbgrader over the IPC sockets),
#     its own pid, IPC and UTS namespaces, a new session (no terminal to inject into);
#   - with a clean environment: only the variables in ALLOWED_ENV below;
#   - seeing only /usr, a minimal /etc (its own passwd), Python, the course's venv, helpers/ and the MNIST
#     data, read-only; its IPC folder; and, on tmpfs of GAN_SANDBOX_DISK_BYTES each, a private /tmp,
#     /dev/shm and a copy of its submission folder without notebooks (the graded notebook holds the
#     hidden tests; the copy is staged in RUN_DIR/files). Nothing it writes reaches the real folder,
#     so it cannot plant links or FIFOs for nbgrader;
#   - with no terminal and nothing of nbgrader's output: stdin, stdout and stderr are /dev/null (the
#     kernel sends what cells print over its sockets, where grading/sandbox.py caps it);
#   - in a cgroup of its own: memory GAN_SANDBOX_MEMORY_BYTES (no swap), GAN_SANDBOX_PROCESSES processes
#     and threads in all; CPU time GAN_SANDBOX_CPU_SECONDS per process (rlimit); and a wall-clock
#     backstop, GAN_SANDBOX_WALL_SECONDS, after which the whole sandbox is killed. The cgroup counts the
#     sandbox's CPU time, which grading/sandbox.py holds each cell to.
# The limits come from grading.sandbox.SandboxedExecute (configurable in nbgrader_config.py). When the
# sandbox ends, "EXIT_STATUS OOM_KILLS" goes to RUN_DIR/exit, where SandboxedExecute reads why a kernel died.
# If nbgrader dies without shutting the kernel down (killed with a batch's worker, grading/batch.py), this script
# gets SIGHUP (its parent-death signal, set by re-running it through setpriv) and ends the sandbox itself, removing
# its mounts, cgroups and run folder: no sandbox outlives its grader.
set -euo pipefail
# SIGHUP back to its default first: under `nohup make autograde` it arrives ignored, and bash cannot trap it then.
[ -n "${GAN_SANDBOX_WATCHED:-}" ] || GAN_SANDBOX_WATCHED=1 exec env --default-signal=HUP setpriv --pdeathsig HUP -- "$0" "$@"
connection_file=$1
run_dir=$(dirname "$connection_file")
repo=$(cd "$(dirname "$0")/.." && pwd)
submission=$PWD
user=gan-sandbox
ALLOWED_ENV=(NBGRADER_EXECUTION NBGRADER_VALIDATING GAN_PROFILE GAN_PRECISION MNIST_ROOT CI OMP_NUM_THREADS PYTHONWARNINGS)

fail() { echo "gan-sandbox: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "the sandbox needs root (to run student code as $user and to cap its memory)"
[ -d "$run_dir/ipc" ] && [ -d "$run_dir/evidence" ] || fail "no IPC folder beside $connection_file: start this kernel through grading.sandbox.SandboxKernelManager"
for tool in bwrap setpriv prlimit timeout; do
  command -v "$tool" >/dev/null || fail "$tool is missing: run \`make sandbox\`"
done

venv=$repo/.venv
[ -x "$venv/bin/python" ] || fail "no virtual environment in $venv: run \`make install\`"
python_home=$(dirname "$(dirname "$(readlink -f "$venv/bin/python")")")
data=$(cd "${MNIST_ROOT:-$repo/data}" && pwd)
disk=${GAN_SANDBOX_DISK_BYTES:-$((200 << 20))}

args=(--unshare-net --unshare-pid --unshare-ipc --unshare-uts --unshare-cgroup-try --die-with-parent --new-session
      --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib --symlink usr/lib64 /lib64 --symlink usr/sbin /sbin
      --dev /dev --perms 1777 --size "$disk" --tmpfs /dev/shm --proc /proc --perms 1777 --size "$disk" --tmpfs /tmp --dir /etc
      --ro-bind /sys/devices/system/cpu /sys/devices/system/cpu)  # CPU topology: PyTorch picks its vector kernels by it
for file in /etc/ld.so.cache /etc/nsswitch.conf /etc/localtime; do
  [ -e "$file" ] && args+=(--ro-bind "$file" "$file")
done
[ -d /etc/fonts ] && args+=(--ro-bind /etc/fonts /etc/fonts)

# Folders made inside the sandbox are 0700 root's unless --perms says otherwise: make each parent of a
# bound path 0711, so that the unprivileged user can pass through it (but not list it).
parents() {
  local parent="" part
  IFS=/ read -ra parts <<<"${1#/}"
  for part in "${parts[@]::${#parts[@]}-1}"; do
    parent+=/$part
    args+=(--perms 0711 --dir "$parent")
  done
}
expose() { parents "$1"; args+=(--ro-bind "$1" "$1"); }
case $python_home in /usr/*) ;; *) expose "$python_home" ;; esac
expose "$venv"
expose "$repo/helpers"
expose "$data"

# bubblewrap runs as root to build the mounts, then the student's code drops to the sandbox user, and a
# second, unprivileged bubblewrap gives it a user namespace of its own in which no further user namespace
# can be made (as root, bwrap's --unshare-user would map the user to real root).
uid=$(id -u "$user" 2>/dev/null) || fail "the user $user is missing: run \`make sandbox\`"
gid=$(id -g "$user")
# From the first mount on, nbgrader's death (SIGHUP) undoes what this script has set up.
orphaned() {  # nbgrader is gone: what grading.sandbox.SandboxKernelManager would have cleaned up, done here
  # timeout; bwrap dies with it, and every process of its pid namespace
  [ -z "${sandbox:-}" ] || kill -KILL "$sandbox" 2>/dev/null || true
  [ -z "${sandbox:-}" ] || wait "$sandbox" 2>/dev/null || true
  umount --lazy "$run_dir/ipc" "$run_dir/evidence" 2>/dev/null || true
  for cgroup in $(cat "$run_dir/cgroups" 2>/dev/null); do
    echo $$ >"$(dirname "$cgroup")/cgroup.procs" || true  # out of the cgroup, so that it can be removed
    for _ in $(seq 600); do  # what is left in it is killed; on a busy machine it may take seconds to go
      rmdir "$cgroup" 2>/dev/null && break
      kill -KILL $(cat "$cgroup/cgroup.procs" 2>/dev/null) 2>/dev/null || true
      sleep 0.1
    done
  done
  rm -rf "$run_dir"
  exit 129
}
trap orphaned HUP
mount -t tmpfs -o "size=1m,nr_inodes=64,mode=0700,uid=$uid,gid=$gid" gan-sandbox-ipc "$run_dir/ipc"
# The hidden tests' evidence for the trusted re-check (helpers/evidence.py), taken away after each cell.
mount -t tmpfs -o "size=64m,nr_inodes=64,mode=0700,uid=$uid,gid=$gid" gan-sandbox-evidence "$run_dir/evidence"
chmod 644 "$connection_file"
drop=(setpriv --reuid="$uid" --regid="$gid" --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs
      bwrap --unshare-user --disable-userns --dev-bind / / --)
printf '%s:x:%s:%s::/tmp:/usr/sbin/nologin\n' "$user" "$uid" "$gid" >"$run_dir/passwd"
printf '%s:x:%s:\n' "$user" "$gid" >"$run_dir/group"

mkdir "$run_dir/files"
cp -R -P "$submission/." "$run_dir/files"
find "$run_dir/files" -name "*.ipynb" -delete
parents "$connection_file"
args+=(--ro-bind "$run_dir/passwd" /etc/passwd --ro-bind "$run_dir/group" /etc/group
       --ro-bind "$connection_file" "$connection_file" --bind "$run_dir/ipc" "$run_dir/ipc"
       --bind "$run_dir/evidence" /evidence
       --ro-bind "$run_dir/files" /submission --perms 0777 --size "$disk" --tmpfs "$submission" --chdir "$submission"
       --clearenv --setenv HOME /tmp --setenv PATH "$venv/bin:/usr/bin" --setenv LANG C.UTF-8
       --setenv MPLCONFIGDIR /tmp/matplotlib --setenv USER "$user" --setenv GAN_EVIDENCE_DIR /evidence)
for name in "${ALLOWED_ENV[@]}"; do
  [ -n "${!name+set}" ] && args+=(--setenv "$name" "${!name}")
done

# Memory (no swap) and processes/threads are capped for the whole sandbox by a cgroup of its own
# (v1 on this kind of machine, v2 elsewhere), which also counts its CPU time (v1: cpuacct; v2: cpu.stat);
# SandboxKernelManager removes it afterwards.
memory=${GAN_SANDBOX_MEMORY_BYTES:-$((4 << 30))}
processes=${GAN_SANDBOX_PROCESSES:-512}
name=$(basename "$run_dir")
if [ -d /sys/fs/cgroup/memory ] && [ -d /sys/fs/cgroup/pids ]; then
  memory_cg=/sys/fs/cgroup/memory$(awk -F: '$2 == "memory" {print $3}' /proc/self/cgroup)/$name
  pids_cg=/sys/fs/cgroup/pids$(awk -F: '$2 == "pids" {print $3}' /proc/self/cgroup)/$name
  mkdir "$memory_cg" "$pids_cg"
  echo "$memory_cg" >"$run_dir/cgroups"; echo "$pids_cg" >>"$run_dir/cgroups"
  if [ -d /sys/fs/cgroup/cpuacct ]; then  # the CPU time the sandbox uses, which a cell's budget counts
    cpu_cg=/sys/fs/cgroup/cpuacct$(awk -F: '$2 ~ /(^|,)cpuacct(,|$)/ {print $3}' /proc/self/cgroup)/$name
    mkdir "$cpu_cg"
    echo "$cpu_cg" >>"$run_dir/cgroups"
    echo $$ >"$cpu_cg/cgroup.procs"
  fi
  echo "$memory" >"$memory_cg/memory.limit_in_bytes"
  [ -e "$memory_cg/memory.memsw.limit_in_bytes" ] && echo "$memory" >"$memory_cg/memory.memsw.limit_in_bytes"
  echo "$processes" >"$pids_cg/pids.max"
  echo $$ >"$memory_cg/cgroup.procs"; echo $$ >"$pids_cg/cgroup.procs"
  oom_kills() { awk '$1 == "oom_kill" {print $2}' "$memory_cg/memory.oom_control"; }
elif [ -e /sys/fs/cgroup/cgroup.controllers ]; then
  memory_cg=/sys/fs/cgroup/gan-sandbox/$name pids_cg=$memory_cg
  mkdir -p /sys/fs/cgroup/gan-sandbox
  echo "+memory +pids" >/sys/fs/cgroup/cgroup.subtree_control
  echo "+memory +pids" >/sys/fs/cgroup/gan-sandbox/cgroup.subtree_control
  mkdir "$memory_cg"
  echo "$memory_cg" >"$run_dir/cgroups"
  echo "$memory" >"$memory_cg/memory.max"; echo 0 >"$memory_cg/memory.swap.max"; echo "$processes" >"$memory_cg/pids.max"
  echo $$ >"$memory_cg/cgroup.procs"
  oom_kills() { awk '$1 == "oom_kill" {print $2}' "$memory_cg/memory.events"; }
else
  fail "no memory and pids cgroups in /sys/fs/cgroup: the sandbox cannot cap memory here"
fi

# The submission's files are copied onto the tmpfs, then the kernel replaces the shell.
# `timeout --foreground` stays in this script's process group, so that jupyter_client's kill of the group
# reaches bwrap, whose death (--die-with-parent) ends the sandbox's pid namespace and all in it.
# It runs in the background of this script (in its process group still), so that SIGHUP is handled at once.
start='cp -R /submission/. . && exec "$@"'
wall=${GAN_SANDBOX_WALL_SECONDS:-720}
status=0
prlimit --cpu="${GAN_SANDBOX_CPU_SECONDS:-1200}" --core=0 -- timeout --foreground --signal=KILL "$wall" \
  bwrap "${args[@]}" "${drop[@]}" sh -c "$start" sh "$venv/bin/python" -m ipykernel_launcher -f "$connection_file" \
  </dev/null >/dev/null 2>&1 &
sandbox=$!
wait "$sandbox" || status=$?
[ "$status" = 137 ] && [ "$SECONDS" -ge "$wall" ] && status=124  # timeout's own KILL: the wall-clock backstop
echo "$status $(oom_kills)" >"$run_dir/exit"
exit "$status"
