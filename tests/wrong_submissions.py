"""Catalogues of submissions, each a small patch of the reference solution.

Every entry replaces ``old`` by ``new`` in one solution cell of the source notebook and names
the autograder test cells that must lose their points: exactly those, no others.
``CATALOGUE`` holds realistic mistakes; ``violates`` names the Experiment 2 requirement (see
``RECIPE``) each one breaks. ``CORRECT_VARIANTS`` holds other correct ways to write the
solution, which must lose nothing.
"""
import copy
import json
from dataclasses import dataclass
from pathlib import Path

from conftest import SOURCE_NB

# What the student writes, and must get right, in the Experiment 2 recipe.
RECIPE = {
    "data in [-1, 1]": "transform maps MNIST pixels to [-1, 1]",
    "G layer sizes": "generator Linear 100->256->512->1024->784",
    "G LeakyReLU(0.2)": "generator hidden activations are LeakyReLU with slope 0.2",
    "G Tanh": "generator ends in Tanh",
    "D input": "discriminator takes (B, 784) or (B, 1, 28, 28) images",
    "D layer sizes": "discriminator Linear 784->512->256->1",
    "D LeakyReLU(0.2)": "discriminator hidden activations are LeakyReLU with slope 0.2",
    "D Sigmoid": "discriminator ends in Sigmoid",
    "real target 0.9": "one-sided label smoothing: D's target for real images is 0.9",
    "fake target 0.0": "D's target for generated images is 0.0",
    "G target 1.0": "G's target is 1.0",
    "D then G": "each step updates D first, then G against the updated D",
    "D step leaves G alone": "the D update does not change G (detach, zero_grad)",
    "both updated": "both optimisers step every batch",
    "BCE loss": "the criterion is nn.BCELoss",
    "Adam lr and betas": "both optimisers are Adam with LR and BETAS",
    "each optimiser its network": "opt_d optimises D's parameters and opt_g G's",
    "fresh noise per batch": "the loop draws new noise for every batch",
    "one step per batch": "the loop calls train_step once per batch, every epoch",
    "epoch means": "the loop hands each epoch's mean D and G loss to end_of_epoch",
    "print per epoch": "the loop prints one line per epoch",
    "given noise": "train_step uses the noise it is given",
    "losses as floats": "train_step returns (d_loss, g_loss) as Python floats",
    "grid in [0, 1]": "Task 3 maps [-1, 1] to [0, 1] with make_grid",
    "grid layout": "Task 3 puts nrow digits in a row",
}

def train_step_halves(source_notebook=SOURCE_NB):
    """The D update and the G update of the notebook's train_step cell, each from its comment line on.

    Read from the source notebook, for the entry that swaps them: the catalogue holds no solution lines.
    """
    cells = json.loads(Path(source_notebook).read_text())["cells"]
    source = next("".join(c["source"]) for c in cells if c["metadata"].get("nbgrader", {}).get("grade_id") == "train_step")
    lines = source.splitlines(keepends=True)

    def first(prefix):
        return next(i for i, line in enumerate(lines) if line.startswith(prefix))

    d_start, g_start, end = first("    # (1) Update D"), first("    # (2) Update G"), first("    return ")
    return "".join(lines[d_start:g_start]).rstrip("\n") + "\n", "".join(lines[g_start:end])


D_UPDATE, G_UPDATE = train_step_halves()
TRAINING_TESTS = frozenset({"test_train_step_updates", "test_train_step_recipe", "test_training_loop"})


@dataclass(frozen=True)
class WrongSubmission:
    name: str
    cell: str  # grade_id of the solution cell to patch
    old: str
    new: str
    loses: frozenset  # grade_ids of the test cells that must fail
    violates: str = ""  # a key of RECIPE

    def applied_to(self, nb):
        """A copy of the notebook ``nb`` with this patch applied to its solution cell."""
        nb = copy.deepcopy(nb)
        cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == self.cell)
        assert cell.source.count(self.old) == 1, f"{self.name}: its patch no longer applies to the {self.cell} cell"
        cell.source = cell.source.replace(self.old, self.new)
        return nb


CATALOGUE = [
    WrongSubmission("transform_without_normalize", "transform",
                    "    transforms.Normalize((0.5,), (0.5,)),  # [0, 1] -> [-1, 1]: (x - 0.5) / 0.5\n", "",
                    frozenset({"test_data_range"}), "data in [-1, 1]"),
    WrongSubmission("transform_with_mnist_statistics", "transform",
                    "transforms.Normalize((0.5,), (0.5,))", "transforms.Normalize((0.1307,), (0.3081,))",
                    frozenset({"test_data_range"}), "data in [-1, 1]"),
    WrongSubmission("generator_ends_in_sigmoid", "generator",
                    "nn.Linear(1024, 784), nn.Tanh()", "nn.Linear(1024, 784), nn.Sigmoid()",
                    frozenset({"test_generator_range", "test_generator_architecture"}), "G Tanh"),
    WrongSubmission("generator_relu", "generator",
                    "nn.Linear(256, 512), nn.LeakyReLU(0.2)", "nn.Linear(256, 512), nn.ReLU()",
                    frozenset({"test_generator_architecture"}), "G LeakyReLU(0.2)"),
    WrongSubmission("generator_default_leaky_slope", "generator",
                    "nn.Linear(noise_dim, 256), nn.LeakyReLU(0.2)", "nn.Linear(noise_dim, 256), nn.LeakyReLU()",
                    frozenset({"test_generator_architecture"}), "G LeakyReLU(0.2)"),
    WrongSubmission("generator_skips_1024_layer", "generator",
                    "nn.Linear(512, 1024), nn.LeakyReLU(0.2),\n            nn.Linear(1024, 784)",
                    "nn.Linear(512, 784)",
                    frozenset({"test_generator_architecture"}), "G layer sizes"),
    WrongSubmission("generator_outputs_28_pixels", "generator",
                    "nn.Linear(1024, 784), nn.Tanh()", "nn.Linear(1024, 28), nn.Tanh()",
                    frozenset({"test_generator_shape", "test_generator_architecture", "test_show_generated_digits"}) | TRAINING_TESTS,
                    "G layer sizes"),
    WrongSubmission("discriminator_without_sigmoid", "discriminator",
                    "nn.Linear(256, 1), nn.Sigmoid(),", "nn.Linear(256, 1),",
                    frozenset({"test_discriminator_shape_range", "test_discriminator_architecture"}) | TRAINING_TESTS,
                    "D Sigmoid"),
    WrongSubmission("discriminator_does_not_flatten", "discriminator",
                    "self.net(x.view(x.size(0), -1))", "self.net(x)",
                    frozenset({"test_discriminator_shape_range"}) | TRAINING_TESTS, "D input"),
    WrongSubmission("discriminator_default_leaky_slope", "discriminator",
                    "nn.Linear(512, 256), nn.LeakyReLU(0.2)", "nn.Linear(512, 256), nn.LeakyReLU()",
                    frozenset({"test_discriminator_architecture"}), "D LeakyReLU(0.2)"),
    WrongSubmission("discriminator_extra_hidden_layer", "discriminator",
                    "nn.Linear(256, 1), nn.Sigmoid(),",
                    "nn.Linear(256, 256), nn.LeakyReLU(0.2),\n            nn.Linear(256, 1), nn.Sigmoid(),",
                    frozenset({"test_discriminator_architecture"}), "D layer sizes"),
    WrongSubmission("no_label_smoothing", "train_step",
                    "torch.full((batch_size, 1), REAL_LABEL,", "torch.full((batch_size, 1), 1.0,",
                    frozenset({"test_train_step_recipe"}), "real target 0.9"),
    WrongSubmission("real_and_fake_labels_swapped", "train_step",
                    "criterion(discriminator(real), real_targets)", "criterion(discriminator(real), fake_targets)",
                    frozenset({"test_train_step_recipe", "test_training_loop"}), "fake target 0.0"),
    WrongSubmission("fake_target_smoothed_too", "train_step",
                    "torch.full((batch_size, 1), FAKE_LABEL,", "torch.full((batch_size, 1), 0.1,",
                    frozenset({"test_train_step_recipe"}), "fake target 0.0"),
    WrongSubmission("generator_target_zero", "train_step",
                    "torch.ones(batch_size, 1, device=real.device)", "torch.zeros(batch_size, 1, device=real.device)",
                    frozenset({"test_train_step_recipe"}), "G target 1.0"),
    WrongSubmission("generator_never_updated", "train_step",
                    "    opt_g.step()\n", "",
                    frozenset({"test_train_step_updates", "test_train_step_recipe"}), "both updated"),
    WrongSubmission("fakes_not_detached_in_d_step", "train_step",
                    "discriminator(fake.detach())", "discriminator(fake)",
                    TRAINING_TESTS, "D step leaves G alone"),
    WrongSubmission("generator_gradients_not_cleared", "train_step",
                    "    opt_g.zero_grad()\n", "",
                    frozenset({"test_train_step_updates", "test_train_step_recipe"}), "D step leaves G alone"),
    WrongSubmission("discriminator_gradients_not_cleared", "train_step",
                    "    opt_d.zero_grad()\n", "",
                    frozenset({"test_train_step_updates", "test_train_step_recipe", "test_training_loop"}), "both updated"),
    WrongSubmission("generator_updated_before_discriminator", "train_step",
                    D_UPDATE + "\n" + G_UPDATE,
                    "    fake = generator(noise)  # (B, 784)\n" + G_UPDATE + "\n" + D_UPDATE,
                    frozenset({"test_train_step_recipe"}), "D then G"),
    WrongSubmission("draws_its_own_noise", "train_step",
                    "fake = generator(noise)", "fake = generator(torch.randn_like(noise))",
                    frozenset({"test_train_step_recipe"}), "given noise"),
    WrongSubmission("returns_loss_tensors", "train_step",
                    "return d_loss.item(), g_loss.item()", "return d_loss, g_loss",
                    frozenset({"test_train_step_updates"}), "losses as floats"),
    WrongSubmission("mse_loss", "optimizers", "criterion = nn.BCELoss()", "criterion = nn.MSELoss()",
                    frozenset({"test_optimizers"}), "BCE loss"),
    WrongSubmission("adam_default_betas", "optimizers",
                    "opt_g = torch.optim.Adam(generator.parameters(), lr=LR, betas=BETAS,",
                    "opt_g = torch.optim.Adam(generator.parameters(), lr=LR,",
                    frozenset({"test_optimizers"}), "Adam lr and betas"),
    WrongSubmission("adamw_for_the_discriminator", "optimizers",
                    "opt_d = torch.optim.Adam(", "opt_d = torch.optim.AdamW(",
                    frozenset({"test_optimizers"}), "Adam lr and betas"),
    WrongSubmission("generator_optimiser_on_discriminator", "optimizers",
                    "opt_g = torch.optim.Adam(generator.parameters(),", "opt_g = torch.optim.Adam(discriminator.parameters(),",
                    frozenset({"test_optimizers"}), "each optimiser its network"),
    WrongSubmission("noise_drawn_once", "training_loop",
                    "        for real, _ in train_loader:\n"
                    "            noise = torch.randn(real.size(0), NOISE_DIM, device=real.device)  # (B, 100): fresh for every batch\n",
                    "        noise = torch.randn(BATCH_SIZE, NOISE_DIM, device=device)\n"
                    "        for real, _ in train_loader:\n",
                    frozenset({"test_training_loop"}), "fresh noise per batch"),
    WrongSubmission("noise_for_a_full_batch", "training_loop",
                    "noise = torch.randn(real.size(0), NOISE_DIM,", "noise = torch.randn(BATCH_SIZE, NOISE_DIM,",
                    frozenset({"test_training_loop"}), "fresh noise per batch"),
    WrongSubmission("one_batch_per_epoch", "training_loop",
                    "            g_losses.append(g_loss)\n", "            g_losses.append(g_loss)\n            break\n",
                    frozenset({"test_training_loop"}), "one step per batch"),
    WrongSubmission("epochs_counted_from_zero", "training_loop",
                    "for epoch in epochs:", "for epoch in range(EPOCHS):",
                    frozenset({"test_training_loop"}), "one step per batch"),
    WrongSubmission("history_of_loss_sums", "training_loop",
                    "d_loss, g_loss = sum(d_losses) / len(d_losses), sum(g_losses) / len(g_losses)",
                    "d_loss, g_loss = sum(d_losses), sum(g_losses)",
                    frozenset({"test_training_loop"}), "epoch means"),
    WrongSubmission("end_of_epoch_never_called", "training_loop",
                    "        end_of_epoch(epoch, d_loss, g_loss)\n", "",
                    frozenset({"test_training_loop"}), "epoch means"),
    WrongSubmission("no_epoch_print", "training_loop",
                    '        print(f"epoch {epoch:2d}/{EPOCHS}  D loss {d_loss:.4f}  G loss {g_loss:.4f}")\n', "",
                    frozenset({"test_training_loop"}), "print per epoch"),
    WrongSubmission("grid_not_normalised", "show_generated_digits",
                    "nrow=nrow, normalize=True, value_range=(-1, 1)", "nrow=nrow",
                    frozenset({"test_show_generated_digits"}), "grid in [0, 1]"),
    WrongSubmission("grid_ignores_nrow", "show_generated_digits",
                    "nrow=nrow, normalize=True", "nrow=8, normalize=True",
                    frozenset({"test_show_generated_digits"}), "grid layout"),
    WrongSubmission("grid_of_flat_vectors", "show_generated_digits",
                    ".view(-1, 1, 28, 28).cpu()", ".cpu()",
                    frozenset({"test_show_generated_digits"}), "grid layout"),
]

CORRECT_VARIANTS = [
    WrongSubmission("d_loss_as_the_mean", "train_step",
                    "d_loss = loss_real + loss_fake", "d_loss = (loss_real + loss_fake) / 2", frozenset()),
    WrongSubmission("one_concatenated_d_batch", "train_step",
                    "    loss_real = criterion(discriminator(real), real_targets)\n"
                    "    loss_fake = criterion(discriminator(fake.detach()), fake_targets)  # detach: no gradient into G here\n"
                    "    d_loss = loss_real + loss_fake\n",
                    "    both = torch.cat([real.view(batch_size, -1), fake.detach()])\n"
                    "    d_loss = criterion(discriminator(both), torch.cat([real_targets, fake_targets]))\n",
                    frozenset()),
    WrongSubmission("fresh_generator_pass_in_g_step", "train_step",
                    "g_loss = criterion(discriminator(fake),", "g_loss = criterion(discriminator(generator(noise)),",
                    frozenset()),
    WrongSubmission("targets_from_ones_like", "train_step",
                    "real_targets = torch.full((batch_size, 1), REAL_LABEL, device=real.device)",
                    "real_targets = REAL_LABEL * torch.ones_like(discriminator(real))", frozenset()),
    WrongSubmission("transform_with_lambda", "transform",
                    "transforms.Normalize((0.5,), (0.5,)),", "transforms.Lambda(lambda x: x * 2 - 1),", frozenset()),
    WrongSubmission("functional_generator", "generator",
                    """        self.net = nn.Sequential(
            nn.Linear(noise_dim, 256), nn.LeakyReLU(0.2),
            nn.Linear(256, 512), nn.LeakyReLU(0.2),
            nn.Linear(512, 1024), nn.LeakyReLU(0.2),
            nn.Linear(1024, 784), nn.Tanh(),
        )
        ### END SOLUTION

    def forward(self, z):
        ### BEGIN SOLUTION
        return self.net(z)  # (B, 784)""",
                    """        self.fc1 = nn.Linear(noise_dim, 256)
        self.fc2 = nn.Linear(256, 512)
        self.fc3 = nn.Linear(512, 1024)
        self.fc4 = nn.Linear(1024, 784)
        ### END SOLUTION

    def forward(self, z):
        ### BEGIN SOLUTION
        h = nn.functional.leaky_relu(self.fc1(z), 0.2)
        h = nn.functional.leaky_relu(self.fc2(h), 0.2)
        h = nn.functional.leaky_relu(self.fc3(h), 0.2)
        return torch.tanh(self.fc4(h))""",
                    frozenset()),
    WrongSubmission("generator_that_warns", "generator",
                    "        return self.net(z)  # (B, 784)",
                    "        import warnings\n        warnings.warn(\"noise looks odd\")\n        return self.net(z)",
                    frozenset()),
    WrongSubmission("grid_min_max_normalised", "show_generated_digits",
                    "nrow=nrow, normalize=True, value_range=(-1, 1)", "nrow=nrow, normalize=True", frozenset()),
]
