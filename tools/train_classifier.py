"""Train the MNIST classifier that ``helpers.quality`` measures generated digits with.

Usage: .venv/bin/python tools/train_classifier.py   (or `make classifier`; about 3 minutes on 2 CPU cores)

Seeded, on the CPU: re-running it reproduces helpers/weights/mnist_cnn.pt and prints the test accuracy
(it refuses to save weights below 99%); then saves the statistics of its features for the real test
digits (helpers/weights/mnist_test_stats.pt), FID's real side.
"""
import sys

import torch
import torch.nn as nn
import torchvision

from helpers.data import mnist_root
from helpers.quality import REAL_STATS, WEIGHTS, MnistCNN, load_classifier, mnist_images, real_test_statistics

EPOCHS = 4
BATCH_SIZE = 128
MIN_ACCURACY = 0.99


@torch.no_grad()
def accuracy(model, images, labels) -> float:
    model.eval()
    correct = sum((model(x).argmax(1) == y).sum().item() for x, y in zip(images.split(1000), labels.split(1000)))
    return correct / len(labels)


def main():
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    train_x, test_x = mnist_images(train=True), mnist_images(train=False)  # (60000|10000, 1, 28, 28)
    train_y = torchvision.datasets.MNIST(mnist_root(), train=True).targets
    test_y = torchvision.datasets.MNIST(mnist_root(), train=False).targets
    model = MnistCNN()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=EPOCHS * (len(train_x) // BATCH_SIZE + 1))
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(1, EPOCHS + 1):
        model.train()
        order = torch.randperm(len(train_x))
        for idx in order.split(BATCH_SIZE):
            x = train_x[idx]
            shift = torch.randint(-2, 3, (2,)).tolist()  # small random translation: robust features
            x = torch.roll(x, shifts=shift, dims=(2, 3))
            opt.zero_grad()
            loss_fn(model(x), train_y[idx]).backward()
            opt.step()
            sched.step()
        print(f"epoch {epoch}/{EPOCHS}: test accuracy {accuracy(model, test_x, test_y):.2%}", flush=True)
    acc = accuracy(model, test_x, test_y)
    if acc < MIN_ACCURACY:
        sys.exit(f"test accuracy {acc:.2%} is below {MIN_ACCURACY:.0%}: weights not saved")
    WEIGHTS.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), WEIGHTS)
    print(f"saved {WEIGHTS} (test accuracy {acc:.2%})")
    load_classifier.cache_clear()
    torch.save(real_test_statistics(fresh=True), REAL_STATS)
    print(f"saved {REAL_STATS} (FID's statistics of the real test digits)")


if __name__ == "__main__":
    main()
