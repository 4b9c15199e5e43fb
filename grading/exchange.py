"""nbgrader's collect, checking what a student writes against what they cannot (``c.ExchangeFactory.collect``).

In nbgrader's exchange each student's own server writes their submission into the course's inbound folder:
the folder's name (whose submission, and when) and its ``timestamp.txt`` are the student's to choose. So a
student could file a submission under a classmate's name, claim any time, or put a link in it that the
collecting grader's account follows (nbgrader's collect only warns about the first, and copies through
links: a link to the course's ``source/`` would come back to the student with the feedback).
``TrustedCollect`` collects like nbgrader (each student's latest submission), except that:

- a submission is collected only from the account it names; one made by another account stays in inbound,
  and the log says by whom;
- links and special files are never followed or opened: every entry is opened relative to its folder with
  ``O_NOFOLLOW``; a submission holding one is not collected (it stays in inbound, the log says why) and the
  student's latest other submission counts;
- a submission's time is the one its name claims only if the file system's change time (ctime, which the
  kernel sets and no student can set back) of its newest entry agrees within ``tolerance_seconds``; otherwise
  it is that change time. The collected ``timestamp.txt`` says the time used, whatever the student's said;
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

from nbgrader.exchange.default.collect import ExchangeCollect, groupby
from traitlets import Float

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f UTC"  # nbgrader's, for its naive UTC times


class UntrustedSubmission(Exception):
    pass


def unreadable(err):
    raise UntrustedSubmission(f"cannot be read ({err.strerror})")


def scan(folder):
    """(owner's name, newest change time in naive UTC, as nbgrader's times) of a submission folder;
    UntrustedSubmission for a link, a special or hard-linked file, or what cannot be read."""
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode):
        raise UntrustedSubmission("not a folder")
    newest = info.st_ctime
    for dirpath, dirnames, filenames in os.walk(folder, onerror=unreadable):
        for name in dirnames + filenames:
            entry = os.lstat(os.path.join(dirpath, name))
            if not (stat.S_ISDIR(entry.st_mode) or stat.S_ISREG(entry.st_mode) and entry.st_nlink == 1):
                raise UntrustedSubmission(f"holds a link or special file ({os.path.relpath(os.path.join(dirpath, name), folder)})")
            newest = max(newest, entry.st_ctime)
    try:
        owner = pwd.getpwuid(info.st_uid).pw_name
    except KeyError:
        owner = f"uid {info.st_uid}"
    return owner, datetime.fromtimestamp(newest, timezone.utc).replace(tzinfo=None)


def copy_plain(src_fd, dest, ignore, max_file_bytes, log):
    """Copy the folder open as ``src_fd`` into the new folder ``dest``: folders and regular files only, each
    opened relative to its parent with O_NOFOLLOW (a link swapped in after the scan fails, it is not followed)."""
    os.mkdir(dest, 0o755)
    for name in sorted(os.listdir(src_fd)):
        if any(fnmatch.fnmatch(name, pattern) for pattern in ignore):
            continue
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=src_fd)
        except OSError as err:
            raise UntrustedSubmission(f"{name}: {err.strerror}") from err
        try:
            info = os.fstat(fd)
            if stat.S_ISDIR(info.st_mode):
                copy_plain(fd, os.path.join(dest, name), ignore, max_file_bytes, log)
            elif stat.S_ISREG(info.st_mode) and info.st_nlink == 1:
                if info.st_size > max_file_bytes:
                    log.warning("%s is larger than %d bytes: not collected", name, max_file_bytes)
                    continue
                with os.fdopen(os.dup(fd), "rb") as source, open(os.path.join(dest, name), "xb") as target:
                    shutil.copyfileobj(source, target)
            else:
                raise UntrustedSubmission(f"{name} is not a plain file")
        finally:
            os.close(fd)


class TrustedCollect(ExchangeCollect):
    tolerance_seconds = Float(60.0, help="How far the time a submission's name claims may be from the file "
                                         "system's change time of its newest entry").tag(config=True)

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
            except (UntrustedSubmission, OSError) as err:
                self.log.error("%s not collected: %s", record["filename"], err)
                continue
            if abs((record["timestamp"] - written).total_seconds()) > self.tolerance_seconds:
                self.log.warning("%s claims %s but was written at %s: collected as written", record["filename"],
                                 record["timestamp"], written)
                record["timestamp"] = written
            self.trusted[record["filename"]] = record
        self.src_records = [self.latest(group) for group in groupby(self.trusted.values(), lambda r: r["username"]).values()]

    def latest(self, records):
        """nbgrader's choice: the latest submission, or with ``before_duedate`` the latest one before the due date."""
        records = sorted(records, key=lambda r: r["timestamp"], reverse=True)
        if self.duedate is not None and self.before_duedate:
            return next((r for r in records if r["timestamp"] <= self.duedate), records[0])
        return records[0]

    def do_copy(self, src, dest, log=None):
        record = self.trusted[os.path.basename(src)]
        src_fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY)
        try:
            copy_plain(src_fd, dest, self.coursedir.ignore, 1000 * self.coursedir.max_file_size, self.log)
        except (UntrustedSubmission, OSError) as err:  # changed since the scan: nothing of it is kept
            self.log.error("%s not collected: %s", record["filename"], err)
            shutil.rmtree(dest, ignore_errors=True)
            os.mkdir(dest)
        finally:
            os.close(src_fd)
        with open(os.path.join(dest, "timestamp.txt"), "w") as f:
            f.write(record["timestamp"].strftime(TIMESTAMP_FORMAT))
        secret = os.path.join(dest, "submission_secret.txt")
        if not (os.path.isfile(secret) and re.fullmatch(r"[0-9a-f]{1,256}", open(secret).read().strip())):
            # nbgrader's release_feedback names the feedback after it and stops at a submission without one: a
            # submission written by hand gets a new secret (its feedback then reaches no student's Assignment List)
            if os.path.isdir(secret):
                shutil.rmtree(secret)
            with open(secret, "w") as f:
                f.write(secrets.token_hex(64))
