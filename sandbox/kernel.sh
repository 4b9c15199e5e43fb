#!/usr/bin/env bash
# Start a student's kernel inside bubblewrap; the gan-sandbox kernelspec runs `kernel.sh CONNECTION_FILE`.
#
# nbgrader starts the kernel in the submission's folder, <course>/autograded/<student>/<assignment>/,
# and that folder is the only place the kernel can write. The course root (gradebook.db, source/,
# release/, other students) and this repository are hidden behind empty read-only tmpfs mounts, with the
# virtual environment, helpers/ and data/ put back read-only. /tmp is private, capabilities are
# dropped, and address space, CPU time and file size are capped. (The kernel sees its own pid
# namespace, where its parent is pid 1, so ipykernel must not poll JPY_PARENT_PID: bwrap's
# --die-with-parent ends it with nbgrader instead.)
set -euo pipefail
connection_file=$1
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$PWD
course=$(cd "$work/../../.." && pwd)

args=(--ro-bind / / --dev /dev --proc /proc --tmpfs /tmp --tmpfs "$course" --tmpfs "$repo")
for shared in .venv helpers data; do
  args+=(--ro-bind "$repo/$shared" "$repo/$shared")
done
args+=(--bind "$work" "$work" --bind "$connection_file" "$connection_file" --remount-ro "$course" --remount-ro "$repo"
       --chdir "$work"
       --setenv HOME /tmp --setenv MPLCONFIGDIR /tmp/matplotlib --unsetenv JPY_PARENT_PID
       --unshare-pid --unshare-ipc --die-with-parent --cap-drop ALL)

exec prlimit --as="${GAN_SANDBOX_MEMORY_BYTES:-$((16 << 30))}" --cpu="${GAN_SANDBOX_CPU_SECONDS:-900}" \
  --fsize=$((1 << 30)) -- bwrap "${args[@]}" "$repo/.venv/bin/python" -m ipykernel_launcher -f "$connection_file"
