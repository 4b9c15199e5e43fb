"""A notebook-only upload (Canvas, Moodle: one file per student) still brings its run's figures: unpack them.

``UnpackResults`` (a sanitize step, after ``RebuildFromSource``) reads the *submitted* notebook for the files
that its last section packed into an output (``helpers.handin``) and writes those that the submission's
``results/`` folder lacks into the autograded copy's ``results/``, where the grading run shows them
(Task 4's images and figures, the submitted curves, the final grid). It writes only the names in
``helpers.handin.PACKED``, decoded from base64, at most ``LARGEST_FILE`` bytes each, never through a link,
and notes what it wrote in "How the notebook was graded". A submission with its own files keeps them.
"""
import base64
import binascii
import importlib.util
import os
from pathlib import Path

import nbformat
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor

from .rebuild import grading_record


def load_handin():
    """helpers/handin.py on its own: importing the package ``helpers`` would load PyTorch, torchvision and
    matplotlib into every nbgrader process (about 5 s of CPU a submission); the hand-in format needs none."""
    spec = importlib.util.spec_from_file_location(
        "gan_mnist_handin", Path(importlib.util.find_spec("helpers").origin).with_name("handin.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


handin = load_handin()


def write_new(path, data):
    """Write ``data`` to a new file ``path``: never through a link, never over a file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


class UnpackResults(NbGraderPreprocessor):
    """Write the results packed in the submitted notebook into the autograded folder's ``results/``."""

    def preprocess(self, nb, resources):
        submitted = os.path.join(resources["metadata"]["path"], f"{resources['metadata']['name']}.ipynb")
        packed = handin.packed_files(nbformat.read(submitted, as_version=4))
        if not packed:
            return nb, resources
        coursedir = CourseDirectory(config=self.config)
        results = os.path.join(coursedir.format_path(coursedir.autograded_directory, resources["nbgrader"]["student"],
                                                     resources["nbgrader"]["assignment"]), "results")
        os.makedirs(results, exist_ok=True)
        written, refused = [], []
        for name, text in sorted(packed.items()):
            path = os.path.join(results, name)
            if os.path.lexists(path):
                continue  # the submission's own file
            try:
                data = base64.b64decode(text, validate=True)
            except binascii.Error:
                refused.append(f"{name} (not base64)")
                continue
            if len(data) > handin.LARGEST_FILE:
                refused.append(f"{name} ({len(data):,} bytes)")
                continue
            write_new(path, data)
            written.append(name)
        notes = grading_record(nb)["notes"]
        if written:
            notes.append(f"results/ had no {', '.join(written)}: taken from the figures packed in the notebook "
                         "(an upload of the notebook alone)")
        if refused:
            notes.append(f"packed figures not used: {', '.join(refused)}")
        return nb, resources
