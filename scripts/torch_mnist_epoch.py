#!/usr/bin/env python3
"""PyTorch's time per MNIST epoch for the network actsweep trains in the GPU
check: an MLP of `depth` linear layers (784 -> width -> ... -> 10), ReLU,
PyTorch's default initialisation, Adam (lr 1e-3), cross-entropy, batches of
64 in a shuffled order, the data resident on the device. Prints one line
per epoch, `epoch N: S s/epoch, test accuracy A`.

    python3 scripts/torch_mnist_epoch.py --device cuda --depth 5 --width 256 --epochs 2

MNIST's IDX files are read from $ACTSWEEP_DATA/mnist (default data/mnist).
"""
import argparse
import gzip
import os
import pathlib
import time

import numpy as np
import torch
import torch.nn as nn


def idx(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def split(folder, prefix, device):
    x = idx(folder / f"{prefix}-images-idx3-ubyte.gz", 16).reshape(-1, 784).astype(np.float32) / 255.0
    y = idx(folder / f"{prefix}-labels-idx1-ubyte.gz", 8).astype(np.int64)
    return torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cuda")
    p.add_argument("--depth", type=int, default=5)
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: PyTorch's default)")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dev = torch.device(a.device)
    folder = pathlib.Path(os.environ.get("ACTSWEEP_DATA", "data")) / "mnist"
    xtr, ytr = split(folder, "train", dev)
    xte, yte = split(folder, "t10k", dev)
    sizes = [784] + [a.width] * (a.depth - 1) + [10]
    layers = []
    for i in range(a.depth):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i + 1 < a.depth:
            layers.append(nn.ReLU())
    net = nn.Sequential(*layers).to(dev)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss = nn.CrossEntropyLoss()
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    for epoch in range(1, a.epochs + 1):
        order = torch.randperm(len(xtr), device=dev)
        sync()
        t0 = time.perf_counter()
        for i in range(0, len(xtr), a.batch):
            b = order[i:i + a.batch]
            opt.zero_grad(set_to_none=True)
            loss(net(xtr[b]), ytr[b]).backward()
            opt.step()
        sync()
        seconds = time.perf_counter() - t0
        with torch.no_grad():
            acc = (net(xte).argmax(1) == yte).float().mean().item()
        print(f"epoch {epoch}: {seconds:.3f} s/epoch, test accuracy {acc:.4f}")


if __name__ == "__main__":
    main()
