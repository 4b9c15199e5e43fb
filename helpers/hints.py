"""One clear message for the errors students meet most (every cell of the notebook; installed by ``import helpers``).

- A ``NameError`` for a name the lab's cells make (``generator``, ``train_step``, ...) means that the cell
  making it stopped early; the cells below would each fail with the same bare NameError. The message
  names that cell instead.
- PyTorch's errors for the common mistakes of a GAN step (a missing ``.detach()``, a discriminator without
  ``Sigmoid``, targets of the wrong shape, layers of the wrong size) get a one-sentence hint appended.

The error stays an error (the cell fails, a test scores 0); only its text changes. Outside IPython
(plain Python, pytest) nothing is installed. The messages come in short lines: Validate's dialog does not wrap
longer ones, and `nbgrader validate` cuts them.
"""
import textwrap

# The characters of an error's line that Validate shows: `nbgrader validate` cuts each line to Validator.width (90) less
# its 4-space indent and "...", and JupyterLab's Validate dialog does not wrap it
VALIDATE_LINE = 90 - 4 - 3

MADE_IN = {
    "transform": "your transform cell (Section 2)",
    "train_set": "the cell that loads MNIST (Section 2)",
    "train_loader": "the cell that loads MNIST (Section 2)",
    "real_batch": "the cell that loads MNIST (Section 2)",
    "Generator": "your Generator cell (Section 3)",
    "Discriminator": "your Discriminator cell (Section 3)",
    "generator": "the cell that builds the models (Section 3)",
    "discriminator": "the cell that builds the models (Section 3)",
    "criterion": "your loss and optimiser cell (Section 4)",
    "opt_d": "your loss and optimiser cell (Section 4)",
    "opt_g": "your loss and optimiser cell (Section 4)",
    "train_step": "your train_step cell (Section 4)",
    "train": "your training loop cell (Section 4)",
    "fixed_noise": "the cell that runs the training (Section 4)",
    "run": "the cell that runs the training (Section 4)",
    "history": "the cell that runs the training (Section 4)",
    # what one test cell makes for the next
    "linear_layers": "the generator's architecture test (Section 3)",
    "table_output": "the generator's architecture test (Section 3)",
    "_real": "the test of train_step's updates (Section 4)",
    "_noise": "the test of train_step's updates (Section 4)",
    "show_generated_digits": "your Task 3 cell",
}

HINTS = [  # (pattern in PyTorch's message, hint)
    ("backward through the graph a second time",
     "in the D update feed D fake.detach(): the D loss's backward() must not go through G, whose graph the G update needs"),
    ("all elements of input should be between 0 and 1",
     "nn.BCELoss needs probabilities: does your discriminator end in nn.Sigmoid()?"),
    ("Using a target size",
     "the targets need D's output shape (B, 1), B = real.size(0): torch.full((B, 1), value, device=real.device); "
     "draw the noise for B images too"),
    ("shapes cannot be multiplied",
     "a Linear layer got inputs of another size: check the layer sizes against the table in Section 3, and flatten D's input to (B, 784)"),
    ("Expected all tensors to be on the same device",
     "make new tensors on the models' device: device=real.device"),
    ("does not require grad and does not have a grad_fn",
     "this loss was computed without gradients: no torch.no_grad() and no .detach() on the way to a loss you back-propagate"),
]


def message(error) -> str:
    """The clear message for ``error``, or "" when it is none of the above."""
    if isinstance(error, NameError):
        name = error.name  # set by Python (3.10+) for the names a cell could not find
        if name in MADE_IN:
            return (f"{name} is not defined:\n{MADE_IN[name]} has not run to its end.\n"
                    "Fix the first error above (or run that cell), then run the cells below it again.")
        return ""
    hint = next((hint for pattern, hint in HINTS if pattern in str(error)), None)
    if not hint:
        return ""
    return f"{error}\n" + "\n".join(textwrap.wrap(f"Hint: {hint}" + ("" if hint.endswith("?") else "."), VALIDATE_LINE))


def _show(shell, etype, value, tb, tb_offset=None):
    """IPython's custom exception handler: show the error (IPython leaves that to the handler) with the clear message."""
    clear = message(value)
    if clear:
        value.args = (clear,)
    if clear and isinstance(value, NameError):
        shown = [f"{etype.__name__}: {clear}"]  # the traceback would only point at this cell's own line
    else:
        shown = shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
    shell._showtraceback(etype, value, shown)  # the error output, as showtraceback() sends it
    return shown


def install():
    """Route NameError and RuntimeError/ValueError through :func:`message` in the running IPython kernel."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.set_custom_exc((NameError, RuntimeError, ValueError), _show)
