"""A training run's history as Task 2 reads it: a table printed after the training, and ``results/history.csv``.

``history`` holds one list per key (``HISTORY_KEYS``), one value per epoch: the epoch's mean D and G loss, and
D's mean output on real digits and on the fixed noise's fakes after it (``helpers.TrainingRun`` records them).
"""
import csv

HISTORY_CSV = "history.csv"
HISTORY_KEYS = ("D", "G", "D(x)", "D(G(z))")


def write_history(history, path) -> None:
    """``history`` as a CSV file, one row per epoch (full precision: the table rounds)."""
    with open(path, "w", newline="") as file:
        rows = csv.writer(file)
        rows.writerow(["epoch", *HISTORY_KEYS])
        rows.writerows([epoch, *values] for epoch, values in enumerate(zip(*(history[key] for key in HISTORY_KEYS)), 1))


def read_history(path) -> dict:
    """The history in a CSV file of :func:`write_history`."""
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    return {key: [float(row[key]) for row in rows] for key in HISTORY_KEYS}


def history_table(history) -> str:
    """The run epoch by epoch, one line each: the mean losses, then D's mean outputs, rounded to 3 decimals."""
    lines = ["epoch   D loss   G loss     D(x)  D(G(z))"]
    for epoch, values in enumerate(zip(*(history[key] for key in HISTORY_KEYS)), 1):
        lines.append(f"{epoch:5d}" + "".join(f"{value:9.3f}" for value in values))
    return "\n".join(lines)
