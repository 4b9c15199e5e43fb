"""The instructor's solution, loaded from the source notebook (its one source of truth).

``load(source_notebook)`` runs the notebook's constants (the setup cell's ``NAME = literal`` lines) and
its solution cells for the models and the training step (and the data transform, if asked for), and
returns them as a namespace::

    ref = load("source/gan_mnist/gan_mnist.ipynb")
    ref.Generator(), ref.Discriminator(), ref.train_step(...), ref.NOISE_DIM, ref.LR, ref.BETAS
    load("source/gan_mnist/gan_mnist.ipynb", ("transform", *SOLUTION_CELLS)).transform
"""
import ast
import json
from types import SimpleNamespace

import torch
import torch.nn as nn

SOLUTION_CELLS = ("generator", "discriminator", "train_step")


def load(source_notebook, cells=SOLUTION_CELLS) -> SimpleNamespace:
    with open(source_notebook) as f:  # plain JSON: nbformat takes longer to import than this takes to run
        notebook_cells = json.load(f)["cells"]
    by_id = {c["metadata"].get("nbgrader", {}).get("grade_id"): "".join(c["source"]) for c in notebook_cells}
    namespace = {"torch": torch, "nn": nn}
    if "transform" in cells:  # torchvision takes a second to import: only for those who need the transform
        import torchvision.transforms as transforms
        namespace["transforms"] = transforms
    for statement in ast.parse(by_id["setup"]).body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
            try:
                namespace[statement.targets[0].id] = ast.literal_eval(statement.value)
            except ValueError:
                continue  # not a constant (the device, the profile)
    for grade_id in cells:
        exec(compile(by_id[grade_id], f"<{grade_id}>", "exec"), namespace)  # the instructor's own code
    return SimpleNamespace(**namespace)
