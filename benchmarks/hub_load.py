"""A class on the course's JupyterHub at once: N students' servers each run the short training run together.

Usage (as root): .venv/bin/python benchmarks/hub_load.py --students N     (make bench-hub STUDENTS=N; default 10)

Starts the hub as `make hub` does (hub/hub.sh, on free ports, with its limits), logs N students in, puts the solved
notebook in each home, then times nbgrader's Validate of it (the short profile: 5 epochs over 1,024 digits, which
Validate runs): student1 alone, three times, then all N at once. Prints each student's time and, as the last line,
one JSON object: the median and worst time of the N against the median alone, the hub's peak memory (the jupyterhub
process and its proxy), the largest and median server's peak memory (its cgroup's), and the machine's peak memory
in use. Stops the hub afterwards (`make hub-stop`, keeping its installed environment).
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import psutil
import requests

REPO = Path(__file__).resolve().parent.parent
STATE = Path("/srv/gan-hub")
ASSIGNMENT = "gan_mnist"
NOTEBOOK = f"load/{ASSIGNMENT}.ipynb"
sys.path.insert(0, str(REPO))
from grading.demo import filled  # noqa: E402


def free_port(first=18100):
    for start in range(first, first + 400, 4):
        try:
            sockets = [socket.create_server(("127.0.0.1", port)) for port in range(start, start + 4)]
        except OSError:
            continue
        for s in sockets:
            s.close()
        return start
    sys.exit("no 4 consecutive free ports from 18100 on")


class Student:
    """One student's browser session (cookies, XSRF token) with their own server."""

    def __init__(self, url, name, password):
        self.url, self.name, self.session = url, name, requests.Session()
        self.session.get(f"{url}/hub/login")
        self.session.post(f"{url}/hub/login", data={"username": name, "password": password,
                                                    "_xsrf": self.session.cookies.get("_xsrf", path="/hub/")})
        for _ in range(240):  # the server's start, then the OAuth round trip that gives its cookies
            status = self.session.get(f"{url}/user/{name}/api/status")
            if status.ok and status.url.endswith("/api/status"):  # not the hub's page of a server starting
                break
            time.sleep(0.5)
        self.session.get(f"{url}/user/{name}/lab")  # sets the server's _xsrf cookie
        self.xsrf = self.session.cookies.get("_xsrf", path=f"/user/{name}/")

    def call(self, method, path, body=None):
        response = self.session.request(method, f"{self.url}/user/{self.name}/{path}", data=json.dumps(body),
                                        headers={"X-XSRFToken": self.xsrf}, timeout=3600)
        response.raise_for_status()
        return response.json()

    def validate_seconds(self):
        started = time.perf_counter()
        reply = self.call("POST", "assignments/validate", {"path": NOTEBOOK})
        assert reply["success"], reply["value"][:500]
        return time.perf_counter() - started


class Peaks(threading.Thread):
    """The peak memory of the hub (jupyterhub and its proxy) and of the machine, sampled every half second."""

    def __init__(self):
        super().__init__(daemon=True)
        pid = int((STATE / "private" / "jupyterhub.pid").read_text())
        self.hub = [psutil.Process(pid)] + [psutil.Process(int((STATE / "private" / "proxy.pid").read_text()))]
        self.hub_rss = self.machine_used = 0
        self.running = True

    def run(self):
        while self.running:
            self.hub_rss = max(self.hub_rss, sum(p.memory_info().rss for p in self.hub))
            memory = psutil.virtual_memory()
            self.machine_used = max(self.machine_used, memory.total - memory.available)
            time.sleep(0.5)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=10)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: the hub creates system accounts")
    port = free_port()
    env = {**os.environ, "HUB_PORT": str(port), "HUB_KEEP_ENV": "1"}
    subprocess.run([sys.executable, "-m", "grading.handout"], cwd=REPO, check=True, capture_output=True)
    subprocess.run(["bash", "hub/hub.sh", "start", str(args.students)], cwd=REPO, env=env, check=True)
    try:
        url = f"http://127.0.0.1:{port}"
        passwords = dict(line.split() for line in (STATE / "private" / "passwords").read_text().splitlines())
        names = [f"student{i}" for i in range(1, args.students + 1)]
        with ThreadPoolExecutor(8) as pool:
            students = list(pool.map(lambda name: Student(url, name, passwords[name]), names))
        source = nbformat.read(REPO / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
        release = nbformat.read(REPO / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
        solved = json.loads(nbformat.writes(filled(release, source)))
        for student in students:
            student.call("PUT", "api/contents/load", {"type": "directory"})
            student.call("PUT", f"api/contents/{NOTEBOOK}", {"type": "notebook", "format": "json", "content": solved})
        alone = statistics.median(students[0].validate_seconds() for _ in range(3))
        print(f"student1 alone: {alone:.1f} s (median of 3)")
        peaks = Peaks()
        peaks.start()
        with ThreadPoolExecutor(len(students)) as pool:
            together = list(pool.map(Student.validate_seconds, students))
        peaks.running = False
        for student, seconds in zip(students, together):
            print(f"{student.name}: {seconds:.1f} s ({seconds / alone:.2f}x alone)")
        server_peaks = [int(peak.read_text()) / 2**20 for name in names  # cgroup v1's record (hub/spawner.py)
                        for peak in Path("/sys/fs/cgroup/memory").glob(f"**/gan-hub-{name}/memory.max_usage_in_bytes")]
        result = {"students": args.students, "alone_s": round(alone, 1),
                  "median_s": round(statistics.median(together), 1), "worst_s": round(max(together), 1),
                  "median_ratio": round(statistics.median(together) / alone, 2),
                  "worst_ratio": round(max(together) / alone, 2),
                  "hub_peak_rss_mb": round(peaks.hub_rss / 2**20),
                  "server_peak_mb_median": round(statistics.median(server_peaks)) if server_peaks else None,
                  "server_peak_mb_max": round(max(server_peaks)) if server_peaks else None,
                  "machine_peak_used_gb": round(peaks.machine_used / 2**30, 1),
                  "cpus": os.cpu_count(), "machine_gb": round(psutil.virtual_memory().total / 2**30)}
        print(json.dumps(result))
    finally:
        subprocess.run(["bash", "hub/hub.sh", "stop"], cwd=REPO, env=env, check=False)


if __name__ == "__main__":
    main()
