#!/usr/bin/python3
"""PyTorch reference benchmark for gaflow (side-by-side reference for `gaflow-cli bench`).

Measures, on the CPU, the plain PyTorch baseline of the generative assignment flow (SPEC.md):
  * training throughput of the GAF flow-matching step (SPEC 2.1-2.2) on the class-scaling
    toy task (SPEC 5: n = 4 positions, targets q_i = softmax(U_i)) -> train_steps_per_s;
  * sampling throughput of RK4 (3/8 rule, h = 0.2, SPEC 2.3) under no_grad
    -> evals_per_s = sequence-evaluations of the network per second.
The network is the toy CNN of SPEC 3, written the standard way (nn.Conv1d with dilation and
"same" padding; padding taps are NOT skipped), as a user of PyTorch would write it.
"""
import argparse
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as Fn

N_POS = 4          # sequence length n of the class-scaling benchmark
LAMBDA = 0.5       # field magnitude
T_END = 15.0       # sampling horizon
H_STEP = 0.2       # RK4 step
EXPECTED_PARAMS = {5: 861317, 160: 1059872}


class GaussianFourierProjection(nn.Module):
    def __init__(self, embed_dim=128, scale=30.0):
        super().__init__()
        self.W = nn.Parameter(torch.randn(embed_dim // 2) * scale, requires_grad=False)

    def forward(self, t):
        x_proj = t[:, None] * self.W[None, :] * 2 * math.pi
        return torch.cat([torch.sin(x_proj), torch.cos(x_proj)], dim=-1)


class ToyCNN(nn.Module):
    """Dilated residual CNN of the Dirichlet FM toy experiments. Input/output (B, n, c)."""

    def __init__(self, c, hidden=128, kernel=9, dilations=(1, 1, 4, 16, 64)):
        super().__init__()
        pad = kernel // 2
        self.conv_in = nn.Conv1d(c, hidden, kernel, padding=pad)
        self.time_embed = nn.Sequential(GaussianFourierProjection(hidden), nn.Linear(hidden, hidden))
        self.time_lin = nn.ModuleList([nn.Linear(hidden, hidden) for _ in dilations])
        self.norms = nn.ModuleList([nn.LayerNorm(hidden) for _ in dilations])
        self.convs = nn.ModuleList([nn.Conv1d(hidden, hidden, kernel, dilation=d, padding=pad * d)
                                    for d in dilations])
        self.head1 = nn.Conv1d(hidden, hidden, 1)
        self.head2 = nn.Conv1d(hidden, c, 1)

    def forward(self, x, t):
        feat = Fn.relu(self.conv_in(x.permute(0, 2, 1)))          # (B, hidden, n)
        temb = Fn.relu(self.time_embed(t))                        # (B, hidden)
        for lin, norm, conv in zip(self.time_lin, self.norms, self.convs):
            h = feat + lin(temb)[:, :, None]
            h = norm(h.permute(0, 2, 1)).permute(0, 2, 1)
            h = Fn.relu(conv(h))
            feat = feat + h
        out = self.head2(Fn.relu(self.head1(feat)))
        return out.permute(0, 2, 1)                               # (B, n, c)


def build_model(name, c):
    if name == "toy-cnn":
        return ToyCNN(c)
    raise ValueError(f"unknown model {name}")  # 'unet' to be added later


def center(v):
    """Pi_0: subtract the class mean (last axis)."""
    return v - v.mean(-1, keepdim=True)


def train_step(model, opt, q, batch, gamma):
    c = q.shape[-1]
    beta = torch.multinomial(q, batch, replacement=True).t()          # (B, n) labels
    u = math.sqrt(c / (c - 1)) * (Fn.one_hot(beta, c).float() - 1.0 / c)
    t = gamma.sample((batch,))
    v0 = center(torch.randn(batch, N_POS, c))
    w = torch.softmax(v0 + LAMBDA * t[:, None, None] * u, dim=-1)
    d = model(w, t) - LAMBDA * u
    wd = (w * d).sum(-1)
    loss = ((w * d * d).sum(-1) - wd * wd).sum(-1).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item()


def field(model, v, t):
    tt = torch.full((v.shape[0],), t)
    return center(model(torch.softmax(v, dim=-1), tt))


def rk4_step(model, v, t, h):
    """One step of the classical RK4 3/8 rule (4 network evaluations)."""
    k1 = field(model, v, t)
    k2 = field(model, v + h * k1 / 3, t + h / 3)
    k3 = field(model, v + h * (k2 - k1 / 3), t + 2 * h / 3)
    k4 = field(model, v + h * (k1 - k2 + k3), t + h)
    return v + h * (k1 + 3 * k2 + 3 * k3 + k4) / 8


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=["toy-cnn"], default="toy-cnn")
    ap.add_argument("--classes", type=int, default=160)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sample-batch", type=int, default=4096)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    c = a.classes
    if c < 2:
        sys.exit("--classes must be >= 2")

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    g = torch.Generator().manual_seed(a.seed)
    q = torch.softmax(torch.rand(N_POS, c, generator=g), dim=-1)     # fixed target marginals

    model = build_model(a.model, c)
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if c in EXPECTED_PARAMS and a.model == "toy-cnn":
        assert params == EXPECTED_PARAMS[c], (params, EXPECTED_PARAMS[c])
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad],
                           lr=3e-4, betas=(0.9, 0.999), eps=1e-8)
    gamma = torch.distributions.Gamma(torch.tensor(1.0), torch.tensor(0.25))

    # --- training throughput
    model.train()
    loss_first = train_step(model, opt, q, a.batch, gamma)           # warm-up steps
    loss_last = train_step(model, opt, q, a.batch, gamma)
    steps = 0
    t0 = time.perf_counter()
    while True:
        loss_last = train_step(model, opt, q, a.batch, gamma)
        steps += 1
        el = time.perf_counter() - t0
        if el >= a.seconds:
            break
    train_sps = steps / el

    # --- sampling throughput (RK4 3/8, restarting from V(0) when T is reached)
    model.eval()
    with torch.no_grad():
        v = center(torch.randn(a.sample_batch, N_POS, c))
        field(model, v, 0.0)                                          # warm-up evaluation
        t, rk_steps = 0.0, 0
        t0 = time.perf_counter()
        while True:
            if t + H_STEP > T_END + 1e-9:
                v, t = center(torch.randn(a.sample_batch, N_POS, c)), 0.0
            v = rk4_step(model, v, t, H_STEP)
            t += H_STEP
            rk_steps += 1
            el_s = time.perf_counter() - t0
            if el_s >= a.seconds:
                break
    evals_per_s = 4 * rk_steps * a.sample_batch / el_s

    res = {
        "impl": "pytorch", "torch_version": torch.__version__, "model": a.model,
        "classes": c, "batch": a.batch, "sample_batch": a.sample_batch, "threads": a.threads,
        "params": params, "train_steps_per_s": train_sps, "train_samples_per_s": train_sps * a.batch,
        "train_steps": steps, "rk4_steps": rk_steps, "evals_per_s": evals_per_s,
        "loss_first": loss_first, "loss_last": loss_last,
    }
    if a.json:
        print(json.dumps(res))
    else:
        print(f"PyTorch {res['torch_version']} reference, {a.model}, c={c}, threads={a.threads}")
        print(f"  parameters            {params:,}")
        print(f"  training (batch {a.batch}) {train_sps:.2f} steps/s = {train_sps * a.batch:.0f} samples/s"
              f"  [{steps} steps, loss {loss_first:.4f} -> {loss_last:.4f}]")
        print(f"  sampling (batch {a.sample_batch}) {evals_per_s:.0f} sequence-evaluations/s"
              f"  [{rk_steps} RK4 steps = {4 * rk_steps} evaluations in {el_s:.2f} s]")


if __name__ == "__main__":
    main()
