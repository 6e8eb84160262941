"""PyTorch peer of `cargo bench --bench train -- tiny`: optimizer steps per second.

The same network and loop as the Rust case: 2-16-16-16-1, tanh, He-normal
weights, zero biases, Adam (lr 1e-3), BCE with logits, batch 32, 32,000
noisy XOR training points, one thread. Prints the best epoch's steps/s.

    python3 -m pip install torch numpy     # once
    python3 benches/torch_tiny.py --threads 1
"""
import argparse
import time

import torch
import torch.nn as nn


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--samples", type=int, default=32000)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    x = torch.rand(a.samples, 2) * 2 - 1
    y = ((x[:, 0] > 0) != (x[:, 1] > 0)).float().unsqueeze(1)
    x = x + 0.1 * torch.randn_like(x)
    dims = [2, 16, 16, 16, 1]
    layers = []
    for i in range(4):
        lin = nn.Linear(dims[i], dims[i + 1])
        nn.init.kaiming_normal_(lin.weight)
        nn.init.zeros_(lin.bias)
        layers.append(lin)
        if i < 3:
            layers.append(nn.Tanh())
    model = nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    best = 0.0
    for epoch in range(a.epochs):
        order = torch.randperm(a.samples)
        t0 = time.perf_counter()
        steps = 0
        for s in range(0, a.samples, 32):
            b = order[s:s + 32]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[b]), y[b])
            loss.backward()
            opt.step()
            steps += 1
        rate = steps / (time.perf_counter() - t0)
        best = max(best, rate)
    print(f"torch tiny 2-16-16-16-1 tanh batch 32 adam, {a.threads} thread(s): "
          f"{best:.0f} steps/s (best of {a.epochs} epochs)")


if __name__ == "__main__":
    main()
