#!/usr/bin/env bash
# Install what autograde needs to run students' code in the sandbox (make sandbox): Debian's bubblewrap,
# the unprivileged user gan-sandbox, and the gan-sandbox kernelspec (sandbox/kernel.sh) in the course's
# virtual environment. Without them autograde refuses to run (grading/sandbox.py).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v bwrap >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null
  else
    echo "bubblewrap is missing: install it (Debian/Ubuntu: sudo apt-get install bubblewrap)" >&2
    exit 1
  fi
fi
for tool in setpriv prlimit timeout mount; do  # util-linux and coreutils, on every Debian
  command -v "$tool" >/dev/null || { echo "$tool is missing: install util-linux and coreutils" >&2; exit 1; }
done
if [ "$(id -u)" = 0 ] && ! id gan-sandbox >/dev/null 2>&1; then
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin gan-sandbox
fi
"$repo/.venv/bin/python" -c "import helpers; helpers.mnist_root()"  # the sandbox sees data/ read-only
spec="$repo/.venv/share/jupyter/kernels/gan-sandbox"
mkdir -p "$spec"
# written beside and renamed: a grading in progress elsewhere never reads a half-written spec
cat > "$spec/kernel.json.new" <<JSON
{
  "argv": ["$repo/sandbox/kernel.sh", "{connection_file}"],
  "display_name": "Python 3 (gan-sandbox, autograding)",
  "language": "python",
  "interrupt_mode": "message",
  "metadata": {"debugger": false}
}
JSON
mv "$spec/kernel.json.new" "$spec/kernel.json"
echo "installed kernelspec gan-sandbox in $spec"
