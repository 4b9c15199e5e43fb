"""Execute a notebook like `jupyter nbconvert --to notebook --execute`, showing its progress live.

Usage: python tools/run_lab.py NOTEBOOK --output-dir results --output gan_mnist_executed.ipynb

The notebook runs with nbclient (kernel python3, no timeout, working directory = the notebook's
folder). Its stdout is echoed as it arrives; lines like `epoch 3/50 ...` get the elapsed time and an
estimate of the time left. stderr is echoed too, except carriage-return progress bars (tqdm).
If a cell fails, the error is printed, the partially executed notebook is still written, and the
exit status is 1.
"""
import argparse
import os
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

EPOCH = re.compile(r"^\s*epoch\s+(\d+)\s*/\s*(\d+)\b")


def duration(seconds):
    """'42 s', '3 min 10 s' or '1 h 5 min'."""
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"


class ProgressClient(NotebookClient):
    """A NotebookClient that echoes stream outputs, with a time estimate on epoch lines."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._partial = ""  # stdout text after the last newline
        self._cell_start = self._first_epoch = None

    def _line(self, line):
        m = EPOCH.match(line)
        if m:
            n, total = int(m[1]), int(m[2])
            if self._first_epoch is None or n < self._first_epoch:  # first epoch line of this cell / run
                self._first_epoch = n
            elapsed = time.monotonic() - self._cell_start
            done = n - self._first_epoch + 1
            line += f"  [{duration(elapsed)} elapsed, about {duration(elapsed / done * (total - n))} left]"
        sys.stdout.write(line + "\n")

    def _flush(self):
        if self._partial:
            self._line(self._partial)
            self._partial = ""
        sys.stdout.flush()

    async def async_execute_cell(self, cell, cell_index, *args, **kwargs):
        self._cell_start, self._first_epoch = time.monotonic(), None
        try:
            return await super().async_execute_cell(cell, cell_index, *args, **kwargs)
        finally:
            self._flush()

    def output(self, outs, msg, display_id, cell_index):
        if msg["msg_type"] == "stream":
            name, text = msg["content"]["name"], msg["content"]["text"]
            if name == "stdout":
                *lines, self._partial = (self._partial + text).split("\n")
                for line in lines:
                    self._line(line)
                sys.stdout.flush()
            elif "\r" not in text:  # a tqdm bar redraws itself with '\r': skip it
                sys.stderr.write(text)
                sys.stderr.flush()
        return super().output(outs, msg, display_id, cell_index)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--output-dir", type=Path, default=Path("."))
    parser.add_argument("--output", help="file name of the executed notebook (default: NOTEBOOK's name)")
    args = parser.parse_args(argv)
    name = args.output or args.notebook.name
    target = args.output_dir / (name if name.endswith(".ipynb") else name + ".ipynb")

    print(f"Running {args.notebook} (GAN_PROFILE={os.environ.get('GAN_PROFILE', '(unset)')})", flush=True)
    nb = nbformat.read(args.notebook, as_version=4)
    client = ProgressClient(nb, kernel_name="python3", timeout=None, iopub_timeout=60,
                            resources={"metadata": {"path": str(args.notebook.resolve().parent)}})
    start, status = time.monotonic(), 1
    try:
        client.execute()
        status = 0
    except CellExecutionError as err:
        print(f"\nERROR: a cell of {args.notebook} failed; execution stopped.\n{err}", file=sys.stderr)
    finally:
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
        what = "Executed notebook" if status == 0 else "Partially executed notebook"
        print(f"{what} written to {target} (total {duration(time.monotonic() - start)})", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
