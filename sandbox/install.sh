#!/usr/bin/env bash
# Install the gan-sandbox kernelspec into the course's virtual environment (make sandbox).
# nbgrader_config.py makes autograde use it whenever it is installed.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v bwrap >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null
  else
    echo "bubblewrap is missing: install it (Debian/Ubuntu: sudo apt-get install bubblewrap)" >&2
    exit 1
  fi
fi
"$repo/.venv/bin/python" -c "import helpers; helpers.mnist_root()"  # the sandbox sees data/ read-only
spec="$repo/.venv/share/jupyter/kernels/gan-sandbox"
mkdir -p "$spec"
cat > "$spec/kernel.json" <<JSON
{
  "argv": ["$repo/sandbox/kernel.sh", "{connection_file}"],
  "display_name": "Python 3 (gan-sandbox, autograding)",
  "language": "python",
  "interrupt_mode": "message",
  "metadata": {"debugger": false}
}
JSON
echo "installed kernelspec gan-sandbox in $spec"
