"""helpers.hints in a real kernel: the common errors get their clear message, and every error stays an error."""
import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from helpers.hints import VALIDATE_LINE

CELLS = {
    "a model never built": "generator(torch.randn(1, 100))",
    "no Sigmoid": "nn.BCELoss()(torch.tensor([[2.0]]), torch.tensor([[1.0]]))",
    "targets of another shape": "nn.BCELoss()(torch.full((4, 1), 0.5), torch.full((4,), 0.9))",
    "no detach": "x = torch.ones(1, requires_grad=True)\ny = (x * 2).sum()\ny.backward()\ny.backward()",
    "a name of the student's own": "undefined_name",
    "any other error": "raise ValueError('plain')",
}


def test_clear_messages_and_errors_that_stay_errors(tmp_path):
    nb = new_notebook(cells=[new_code_cell("import helpers, torch, torch.nn as nn")] + [new_code_cell(c) for c in CELLS.values()]
                      + [new_code_cell("print('the kernel goes on')")])
    NotebookClient(nb, kernel_name="python3", allow_errors=True, resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = {}
    for name, cell in zip(CELLS, nb.cells[1:]):
        assert [o.output_type for o in cell.outputs] == ["error"], f"{name}: exactly one error output, as without hints"
        errors[name] = cell.outputs[0]
    assert errors["a model never built"].evalue.startswith("generator is not defined:\nthe cell that builds the models (Section 3)")
    assert errors["a model never built"].traceback == [f"NameError: {errors['a model never built'].evalue}"]
    assert errors["no Sigmoid"].evalue.replace("\n", " ").endswith("Hint: nn.BCELoss needs probabilities: does your discriminator end in nn.Sigmoid()?")
    assert "Hint: the targets need D's output shape (B, 1)" in errors["targets of another shape"].evalue
    assert "Hint: in the D update feed D fake.detach()" in errors["no detach"].evalue
    assert errors["a name of the student's own"].evalue == "name 'undefined_name' is not defined"
    assert errors["any other error"].evalue == "plain" and len(errors["any other error"].traceback) > 1
    assert all(len(line) <= VALIDATE_LINE for error in errors.values() for line in f"{error.ename}: {error.evalue}".splitlines()
               if "Hint" in line or "not defined" in line), "a hint longer than Validate shows"
    assert nb.cells[-1].outputs[0].text == "the kernel goes on\n"
