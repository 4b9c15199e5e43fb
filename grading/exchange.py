"""nbgrader's collect, checking what a student writes against what they cannot (``c.ExchangeFactory.collect``).

In nbgrader's exchange each student's own server writes their submission into the course's inbound folder:
the folder's name (whose submission, and when) and its ``timestamp.txt`` are the student's to choose. So a
student could file a submission under a classmate's name, claim any time, or put a link in it that the
collecting grader's account follows (nbgrader's collect only warns about the first, and copies through
links: a link to the course's ``source/`` would come back to the student with the feedback).
``TrustedCollect`` collects like nbgrader (each student's latest submission), except that:

- a submission is collected only from the account it names; one made by another account stays in inbound,
  and the log says by whom;
- links, special files, hard-linked files and files of another account are never followed, opened or copied:
  a submission holding one is not collected (it stays in inbound, the log says why) and the student's latest
  other submission counts; the copy then opens every entry relative to its folder with ``O_NOFOLLOW`` and copies
  each file's size as it was when opened, within ``max_dir_size``, so that a link swapped in after the check, a
  file that keeps growing or a sparse giant fails that copy, not the collect (nothing of it is collected);
- whatever one submission holds (a folder 2,000 deep, a name nbgrader cannot read), the others are collected;
- a submission's time is the one its name claims only if the file system's change time (ctime, which the
  kernel sets and no student can set back) of its newest entry agrees within ``tolerance_seconds``; otherwise
  it is that change time (also when what was copied changed after the check). The collected ``timestamp.txt``
  says the time used, whatever the student's said;
- a submission without a usable ``submission_secret.txt`` (one written by hand) gets a new one: nbgrader's
  release_feedback names each feedback file after it and would stop at the first submission without one.
"""
import fnmatch
import glob
import os
import pwd
import re
import secrets
import shutil
import stat
from datetime import datetime, timezone
from pathlib import Path

from nbgrader.exchange.default.collect import ExchangeCollect, groupby
from traitlets import Bool, Float

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f UTC"  # nbgrader's, for its naive UTC times


class UntrustedSubmission(Exception):
    pass


def unreadable(err):
    raise UntrustedSubmission(f"cannot be read ({err.strerror})")


def utc(seconds):
    return datetime.fromtimestamp(seconds, timezone.utc).replace(tzinfo=None)  # naive UTC, as nbgrader's times


def scan(folder):
    """(owner's name, newest change time) of a submission folder; UntrustedSubmission for a link, a special or
    hard-linked file, an entry of another account, or what cannot be read."""
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode):
        raise UntrustedSubmission("not a folder")
    newest = info.st_ctime
    for dirpath, dirnames, filenames in os.walk(folder, onerror=unreadable):
        for name in dirnames + filenames:
            entry = os.lstat(os.path.join(dirpath, name))
            if not plain(entry, info.st_uid):
                raise UntrustedSubmission(f"holds a link or special file ({os.path.relpath(os.path.join(dirpath, name), folder)})")
            newest = max(newest, entry.st_ctime)
    try:
        owner = pwd.getpwuid(info.st_uid).pw_name
    except KeyError:
        owner = f"uid {info.st_uid}"
    return owner, utc(newest)


def plain(info, owner_uid):
    """A folder, or a regular file with no other name, of the submission's own account."""
    return info.st_uid == owner_uid and (stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode) and info.st_nlink == 1)


def copy_plain(src_fd, dest, skip, budget, log):
    """Copy the folder open as ``src_fd`` into the new folder ``dest``, but the names ``skip`` matches: folders and
    regular files of the folder's account only, each opened relative to its parent with O_NOFOLLOW (a link swapped
    in after the scan fails instead of being followed), at most ``budget[0]`` bytes in all and each file's size
    as it was when opened. Returns the newest change time of what was copied, taken after copying it."""
    owner_uid = os.fstat(src_fd).st_uid
    os.mkdir(dest, 0o755)
    newest = 0.0
    for name in sorted(os.listdir(src_fd)):
        if skip(name):
            continue
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=src_fd)
        except OSError as err:
            raise UntrustedSubmission(f"{name}: {err.strerror}") from err
        try:
            info = os.fstat(fd)
            if not plain(info, owner_uid):
                raise UntrustedSubmission(f"{name} is not a plain file")
            if stat.S_ISDIR(info.st_mode):
                newest = max(newest, copy_plain(fd, os.path.join(dest, name), skip, budget, log))
            else:
                budget[0] -= info.st_size
                if budget[0] < 0:
                    raise UntrustedSubmission("larger than the course's maximum submission size")
                with open(os.path.join(dest, name), "xb") as target:
                    left = info.st_size
                    while left > 0 and (chunk := os.read(fd, min(left, 1 << 20))):
                        target.write(chunk)
                        left -= len(chunk)
            newest = max(newest, os.fstat(fd).st_ctime)
        finally:
            os.close(fd)
    return max(newest, os.fstat(src_fd).st_ctime)


class TrustedCollect(ExchangeCollect):
    tolerance_seconds = Float(60.0, help="How far the time a submission's name claims may be from the file "
                                         "system's change time of its newest entry").tag(config=True)
    check_owner = Bool(False, help="nbgrader's own owner check, which only warns: init_src refuses instead")

    def _path_to_record(self, path):
        try:
            return super()._path_to_record(path)
        except Exception as err:  # a folder name that nbgrader cannot read: reported by init_src, not fatal
            return {"username": None, "filename": os.path.basename(path), "timestamp": datetime.min, "problem": str(err)}

    def init_src(self):
        super().init_src()  # the course's folders, the due date
        pattern = os.path.join(self.inbound_path, f"{self.coursedir.student_id or '*'}+{self.coursedir.assignment_id}+*")
        self.trusted = {}
        for path in glob.glob(pattern):
            record = self._path_to_record(path)
            try:
                if record.get("problem"):
                    raise UntrustedSubmission(record["problem"])
                owner, written = scan(path)
                if owner != record["username"]:
                    raise UntrustedSubmission(f"made by {owner}, not by {record['username']}")
            except Exception as err:  # whatever one submission holds (a folder 2,000 deep too), the others are collected
                self.log.error("%s not collected: %s", record["filename"], err or type(err).__name__)
                continue
            self.date(record, written, "was written")
            self.trusted[record["filename"]] = record
        self.src_records = [self.latest(group) for group in groupby(self.trusted.values(), lambda r: r["username"]).values()]

    def date(self, record, written, how):
        """The record's time: the claimed one, unless the file system says otherwise by more than the tolerance."""
        if abs((record["timestamp"] - written).total_seconds()) > self.tolerance_seconds:
            self.log.warning("%s claims %s but %s at %s: collected as written", record["filename"], record["timestamp"],
                             how, written)
            record["timestamp"] = written

    def latest(self, records):
        """nbgrader's choice: the latest submission, or with ``before_duedate`` the latest one before the due date."""
        records = sorted(records, key=lambda r: r["timestamp"], reverse=True)
        if self.duedate is not None and self.before_duedate:
            return next((r for r in records if r["timestamp"] <= self.duedate), records[0])
        return records[0]

    def do_copy(self, src, dest, log=None):
        record = self.trusted[os.path.basename(src)]
        try:
            src_fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY)
            try:
                copied = copy_plain(src_fd, dest, lambda name: name == "timestamp.txt" or any(
                    fnmatch.fnmatch(name, pattern) for pattern in self.coursedir.ignore), [1000 * self.coursedir.max_dir_size],
                    self.log)
            finally:
                os.close(src_fd)
        except Exception as err:  # changed since the scan: nothing of it is collected (it stays in inbound)
            self.log.error("%s not collected: %s", record["filename"], err or type(err).__name__)
            shutil.rmtree(dest, ignore_errors=True)
            return
        if utc(copied) > record["timestamp"]:  # changed while it was being copied: dated by what was copied
            self.date(record, utc(copied), "what was copied changed")
        with open(os.path.join(dest, "timestamp.txt"), "w") as f:
            f.write(record["timestamp"].strftime(TIMESTAMP_FORMAT))
        secret = os.path.join(dest, "submission_secret.txt")
        if not (os.path.isfile(secret) and re.fullmatch(rb"[0-9a-f]{1,256}", Path(secret).read_bytes().strip())):
            # nbgrader's release_feedback names the feedback after it and stops at a submission without one: a
            # submission written by hand gets a new secret (its feedback then reaches no student's Assignment List)
            if os.path.isdir(secret):
                shutil.rmtree(secret)
            with open(secret, "w") as f:
                f.write(secrets.token_hex(64))
