#!/usr/bin/python3
"""PyTorch reference benchmark for gaflow (side-by-side reference for `gaflow-cli bench`).

Measures, on the CPU, the plain PyTorch baseline of the generative assignment flow (docs/method.md).
--model toy-cnn (default):
  * training throughput of the GAF flow-matching step (docs/method.md §2.1-2.2) on the class-scaling
    toy task (docs/method.md §5: n = 4 positions, targets q_i = softmax(U_i)) -> train_steps_per_s;
  * sampling throughput of RK4 (3/8 rule, h = 0.2, docs/method.md §2.3) under no_grad
    -> evals_per_s = sequence-evaluations of the network per second.
  The network is the toy CNN of docs/method.md §3, written the standard way (nn.Conv1d with dilation and
  "same" padding; padding taps are NOT skipped), as a user of PyTorch would write it.
--model unet:
  * training throughput of the GAF step for images (t ~ Gamma(1, rate 0.5), lambda 0.5,
    Fisher-Rao loss, Adam 3e-4) on uniformly random size x size labelings with c classes;
  * sampling throughput of geometric Euler steps (h = 0.1, T = 10) under no_grad
    -> evals_per_s = image-evaluations of the network per second.
  The network is the guided-diffusion UNet of docs/method.md §3 (NCHW, as PyTorch users write it).
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
# UNet of docs/method.md §3: (channels, mult, blocks, classes) -> parameter count
EXPECTED_UNET_PARAMS = {(32, (1, 2, 2, 2), 2, 2): 2161346}
IMG_RATE = 0.5     # Gamma rate of the image configs (docs/method.md §2.2)
IMG_T_END = 10.0   # image sampling horizon (docs/method.md §2.3)
IMG_H_STEP = 0.1   # Euler step of the image sampling benchmark


class GaussianFourierProjection(nn.Module):
    """[sin 2 pi t w, cos 2 pi t w] with fixed frequencies w ~ N(0, scale^2) (stored as the tensor W)."""

    def __init__(self, embed_dim=128, scale=30.0):
        super().__init__()
        self.W = nn.Parameter(torch.randn(embed_dim // 2) * scale, requires_grad=False)

    def forward(self, t):
        arg = 2 * math.pi * t[:, None] * self.W[None, :]
        return torch.cat([torch.sin(arg), torch.cos(arg)], dim=-1)


class Dense(nn.Module):
    """A Linear layer under the name 'dense' (the module path time_layers.I.dense of the authors' code)."""

    def __init__(self, d_in, d_out):
        super().__init__()
        self.dense = nn.Linear(d_in, d_out)

    def forward(self, x):
        return self.dense(x)


# The networks below carry the module names of the authors' code (IPA-HD/generative-af, the `net` of its
# Lightning module: architecture/cnn_dirichlet.py CNNModel, architecture/unet_openai.py UNetModel,
# architecture/dense.py DenseNet), so that
# a state_dict moves between them, this reference and gaflow (gaflow-cli export / import) with
# load_state_dict(strict=True).

class ToyCNN(nn.Module):
    """Dilated residual CNN of the Dirichlet FM toy experiments (CNNModel). Input/output (B, n, c)."""

    def __init__(self, c, hidden=128, kernel=9, dilations=(1, 1, 4, 16, 64)):
        super().__init__()
        pad = kernel // 2
        self.linear = nn.Conv1d(c, hidden, kernel, padding=pad)
        self.time_embedder = nn.Sequential(GaussianFourierProjection(hidden), nn.Linear(hidden, hidden))
        self.convs = nn.ModuleList([nn.Conv1d(hidden, hidden, kernel, dilation=d, padding=pad * d)
                                    for d in dilations])
        self.time_layers = nn.ModuleList([Dense(hidden, hidden) for _ in dilations])
        self.norms = nn.ModuleList([nn.LayerNorm(hidden) for _ in dilations])
        self.final_conv = nn.Sequential(nn.Conv1d(hidden, hidden, 1), nn.ReLU(), nn.Conv1d(hidden, c, 1))

    def forward(self, x, t):
        temb = Fn.relu(self.time_embedder(t))                     # (B, hidden)
        feat = Fn.relu(self.linear(x.permute(0, 2, 1)))           # (B, hidden, n)
        for lin, norm_, conv in zip(self.time_layers, self.norms, self.convs):
            h = feat + lin(temb)[:, :, None]
            h = norm_(h.permute(0, 2, 1)).permute(0, 2, 1)
            feat = feat + Fn.relu(conv(h))
        return self.final_conv(feat).permute(0, 2, 1)             # (B, n, c)


class DenseNet(nn.Module):
    """The authors' DenseNet (architecture/dense.py) under its module names. W (B, c, n), channels first as
    the authors' data tensors are, is flattened to c n features and t (zeros without one) appended; each
    layer is BatchNorm1d -> Linear -> ReLU, the last one too, so the output (B, c, n) is never negative.
    Without hidden layers the norm and the ReLU are Identity modules and a single Linear is left."""

    def __init__(self, c, n, hidden_dims=(256, 256), bias=True):
        super().__init__()
        self.c, self.n = c, n
        widths = [c * n + 1] + list(hidden_dims) + [c * n]
        deep = len(hidden_dims) > 0
        self.layers = nn.ModuleList()
        for d_in, d_out in zip(widths[:-1], widths[1:]):
            self.layers.append(nn.Sequential(nn.BatchNorm1d(d_in) if deep else nn.Identity(),
                                             nn.Linear(d_in, d_out, bias=bias),
                                             nn.ReLU() if deep else nn.Identity()))

    def forward(self, x, t=None):
        b = x.shape[0]
        time = torch.zeros(b, 1, dtype=x.dtype) if t is None else t.reshape(b, 1).to(x.dtype)
        h = torch.cat([x.reshape(b, -1), time], dim=1)
        for layer in self.layers:
            h = layer(h)
        return h.reshape(x.shape)


def group_count(ch, groups=32):
    """Largest divisor of ch that is <= groups (GroupNorm groups; 32 for every width of the reference)."""
    return max(g for g in range(1, min(groups, ch) + 1) if ch % g == 0)


def norm(ch, groups=32):
    return nn.GroupNorm(group_count(ch, groups), ch, eps=1e-5)


def zero_init(module):
    for p in module.parameters():
        nn.init.zeros_(p)
    return module


def timestep_embedding(t, dim):
    """Sinusoidal embedding [cos(t f_k), sin(t f_k)], f_k = exp(-ln(10000) k / (dim/2)) (guided diffusion's
    order; gaflow computes [sin, cos] and its export exchanges the halves of time_embed.0.weight)."""
    half = dim // 2
    dtype = t.dtype if t.is_floating_point() else torch.float32
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=dtype) / half)
    arg = t[:, None].to(dtype) * freqs[None, :]
    return torch.cat([torch.cos(arg), torch.sin(arg)], dim=-1)


class TimestepSequential(nn.Sequential):
    """Children in order; residual blocks also get the time embedding."""

    def forward(self, x, emb):
        for layer in self:
            x = layer(x, emb) if isinstance(layer, ResBlock) else layer(x)
        return x


class ResBlock(nn.Module):
    def __init__(self, cin, cout, emb_dim, groups=32):
        super().__init__()
        self.in_layers = nn.Sequential(norm(cin, groups), nn.SiLU(), nn.Conv2d(cin, cout, 3, padding=1))
        self.emb_layers = nn.Sequential(nn.SiLU(), nn.Linear(emb_dim, cout))
        self.out_layers = nn.Sequential(norm(cout, groups), nn.SiLU(), nn.Dropout(0.0),
                                        zero_init(nn.Conv2d(cout, cout, 3, padding=1)))
        self.skip_connection = nn.Identity() if cin == cout else nn.Conv2d(cin, cout, 1)

    def forward(self, x, emb):
        h = self.in_layers(x) + self.emb_layers(emb)[:, :, None, None]
        return self.skip_connection(x) + self.out_layers(h)


class AttentionBlock(nn.Module):
    """One head of self-attention over the H W positions, residual; qkv and proj_out are 1x1 Conv1d."""

    def __init__(self, ch, groups=32):
        super().__init__()
        self.norm = norm(ch, groups)
        self.qkv = nn.Conv1d(ch, 3 * ch, 1)
        self.proj_out = zero_init(nn.Conv1d(ch, ch, 1))

    def forward(self, x):
        b, ch, hh, ww = x.shape
        flat = x.reshape(b, ch, hh * ww)
        q, k, v = self.qkv(self.norm(flat)).split(ch, dim=1)                  # (B, ch, L) each
        a = torch.softmax(torch.einsum("bci,bcj->bij", q, k) / math.sqrt(ch), dim=-1)
        h = torch.einsum("bij,bcj->bci", a, v)
        return (flat + self.proj_out(h)).reshape(b, ch, hh, ww)


class Downsample(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.op = nn.Conv2d(ch, ch, 3, stride=2, padding=1)

    def forward(self, x):
        return self.op(x)


class Upsample(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x):
        return self.conv(Fn.interpolate(x, scale_factor=2, mode="nearest"))


class UNet(nn.Module):
    """Guided-diffusion UNet at small size (docs/method.md §3, UNetModel's module names). Input/output
    (B, c, H, W). attn: the downsampling rates (1, 2, 4, ...) with attention besides the middle
    (attention_resolutions)."""

    def __init__(self, c, channels=32, mult=(1, 2, 2, 2), blocks=2, attn=(), groups=32):
        super().__init__()
        C = channels
        self.C = C
        emb_dim = 4 * C
        self.time_embed = nn.Sequential(nn.Linear(C, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.input_blocks = nn.ModuleList([TimestepSequential(nn.Conv2d(c, C, 3, padding=1))])
        skips = [C]
        ch, ds = C, 1
        for level, m in enumerate(mult):
            for _ in range(blocks):
                layers = [ResBlock(ch, m * C, emb_dim, groups)]
                ch = m * C
                if ds in attn:
                    layers.append(AttentionBlock(ch, groups))
                self.input_blocks.append(TimestepSequential(*layers))
                skips.append(ch)
            if level != len(mult) - 1:
                self.input_blocks.append(TimestepSequential(Downsample(ch)))
                skips.append(ch)
                ds *= 2
        self.middle_block = TimestepSequential(ResBlock(ch, ch, emb_dim, groups), AttentionBlock(ch, groups),
                                               ResBlock(ch, ch, emb_dim, groups))
        self.output_blocks = nn.ModuleList()
        for level, m in reversed(list(enumerate(mult))):
            for i in range(blocks + 1):
                layers = [ResBlock(ch + skips.pop(), m * C, emb_dim, groups)]
                ch = m * C
                if ds in attn:
                    layers.append(AttentionBlock(ch, groups))
                if level != 0 and i == blocks:
                    layers.append(Upsample(ch))
                    ds //= 2
                self.output_blocks.append(TimestepSequential(*layers))
        assert not skips
        self.out = nn.Sequential(norm(ch, groups), nn.SiLU(), zero_init(nn.Conv2d(ch, c, 3, padding=1)))

    def zero_init_modules(self):
        """The modules that must start at zero: every residual branch's last conv, the attention
        projections and the output conv."""
        mods = [m.out_layers[3] for m in self.modules() if isinstance(m, ResBlock)]
        mods += [m.proj_out for m in self.modules() if isinstance(m, AttentionBlock)]
        return mods + [self.out[2]]

    def forward(self, x, t):
        emb = self.time_embed(timestep_embedding(t, self.C))
        hs = []
        h = x
        for mod in self.input_blocks:
            h = mod(h, emb)
            hs.append(h)
        h = self.middle_block(h, emb)
        for mod in self.output_blocks:
            h = mod(torch.cat([h, hs.pop()], dim=1), emb)
        return self.out(h)


def build_model(name, c):
    if name == "toy-cnn":
        return ToyCNN(c)
    raise ValueError(f"unknown model {name}")  # the unet is built in run_unet


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


def image_train_step(model, opt, batch, c, size, gamma):
    """GAF step (docs/method.md §2.2) on uniformly random labelings; class axis is dim 1 (NCHW)."""
    beta = torch.randint(c, (batch, size, size))
    u = math.sqrt(c / (c - 1)) * (Fn.one_hot(beta, c).permute(0, 3, 1, 2).float() - 1.0 / c)
    t = gamma.sample((batch,))
    xi = torch.randn(batch, c, size, size)
    v0 = xi - xi.mean(1, keepdim=True)
    w = torch.softmax(v0 + LAMBDA * t[:, None, None, None] * u, dim=1)
    d = model(w, t) - LAMBDA * u
    wd = (w * d).sum(1)
    loss = ((w * d * d).sum(1) - wd * wd).sum((1, 2)).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item()


def grad_census(model):
    """(tensors with a nonzero gradient, tensors in all); fails on a missing or non-finite gradient."""
    nonzero, total = 0, 0
    for name, p in model.named_parameters():
        assert p.grad is not None, f"no gradient for {name}"
        assert torch.isfinite(p.grad).all(), f"non-finite gradient for {name}"
        nonzero += int(bool((p.grad != 0).any()))
        total += 1
    return nonzero, total


def run_unet(a):
    c, size = a.classes, a.size
    if size % (1 << (len(a.mult) - 1)):
        sys.exit(f"--size must be divisible by {1 << (len(a.mult) - 1)}")
    model = UNet(c, a.channels, a.mult, a.blocks)
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    key = (a.channels, a.mult, a.blocks, c)
    if key in EXPECTED_UNET_PARAMS:
        assert params == EXPECTED_UNET_PARAMS[key], (params, EXPECTED_UNET_PARAMS[key])
    zero_mods = model.zero_init_modules()
    assert all(bool((p == 0).all()) for m in zero_mods for p in m.parameters()), "zero-init conv is not zero"
    opt = torch.optim.Adam(model.parameters(), lr=3e-4, betas=(0.9, 0.999), eps=1e-8)
    gamma = torch.distributions.Gamma(torch.tensor(1.0), torch.tensor(IMG_RATE))

    # --- training throughput. Warm-up steps double as a backward check: with the zero-initialised
    # output conv only it gets a gradient at step 1; from step 3 on every parameter tensor does.
    model.train()
    census = []
    loss_first = image_train_step(model, opt, a.batch, c, size, gamma)
    census.append(grad_census(model))
    for _ in range(2):
        loss_last = image_train_step(model, opt, a.batch, c, size, gamma)
        census.append(grad_census(model))
    assert census[-1][0] == census[-1][1], f"parameters without gradient after 3 steps: {census}"
    steps = 0
    t0 = time.perf_counter()
    while True:
        loss_last = image_train_step(model, opt, a.batch, c, size, gamma)
        steps += 1
        el = time.perf_counter() - t0
        if el >= a.seconds:
            break
    train_sps = steps / el

    # --- sampling throughput: geometric Euler V += h Pi_0 F(softmax V, t), restarting at T
    model.eval()
    with torch.no_grad():
        def fresh():
            xi = torch.randn(a.sample_batch, c, size, size)
            return xi - xi.mean(1, keepdim=True)

        def euler(v, t):
            f = model(torch.softmax(v, dim=1), torch.full((v.shape[0],), t))
            return v + IMG_H_STEP * (f - f.mean(1, keepdim=True))

        v = euler(fresh(), 0.0)                                         # warm-up evaluation
        v, t, eu_steps = fresh(), 0.0, 0
        t0 = time.perf_counter()
        while True:
            if t + IMG_H_STEP > IMG_T_END + 1e-9:
                v, t = fresh(), 0.0
            v = euler(v, t)
            t += IMG_H_STEP
            eu_steps += 1
            el_s = time.perf_counter() - t0
            if el_s >= a.seconds:
                break
    evals_per_s = eu_steps * a.sample_batch / el_s

    res = {
        "impl": "pytorch", "torch_version": torch.__version__, "model": "unet", "classes": c,
        "size": size, "channels": a.channels, "mult": list(a.mult), "blocks": a.blocks,
        "batch": a.batch, "sample_batch": a.sample_batch, "threads": a.threads, "params": params,
        "train_steps_per_s": train_sps, "train_samples_per_s": train_sps * a.batch, "train_steps": steps,
        "euler_steps": eu_steps, "evals_per_s": evals_per_s, "loss_first": loss_first, "loss_last": loss_last,
        "zero_init_tensors": sum(1 for m in zero_mods for _ in m.parameters()),
        "grad_nonzero_tensors": [n for n, _ in census], "param_tensors": census[-1][1],
    }
    if a.json:
        print(json.dumps(res))
    else:
        print(f"PyTorch {res['torch_version']} reference, UNet C={a.channels} mult={a.mult} blocks={a.blocks}, "
              f"c={c}, {size}x{size}, threads={a.threads}")
        print(f"  parameters            {params:,}  ({res['zero_init_tensors']} zero-initialised tensors are zero;"
              f" tensors with nonzero gradient after warm-up steps 1..3: {res['grad_nonzero_tensors']}"
              f" of {census[-1][1]})")
        print(f"  training (batch {a.batch}) {train_sps:.2f} steps/s = {train_sps * a.batch:.1f} samples/s"
              f"  [{steps} steps, loss {loss_first:.4f} -> {loss_last:.4f}]")
        print(f"  sampling (batch {a.sample_batch}) {evals_per_s:.1f} image-evaluations/s"
              f"  [{eu_steps} Euler steps in {el_s:.2f} s]")


def parse_mult(text):
    try:
        mult = tuple(int(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got '{text}'")
    if not mult or min(mult) < 1:
        raise argparse.ArgumentTypeError("multipliers must be >= 1")
    return mult


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=["toy-cnn", "unet"], default="toy-cnn")
    ap.add_argument("--classes", type=int, help="classes c (default 160; unet 2)")
    ap.add_argument("--batch", type=int, help="training batch (default 128; unet 32)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sample-batch", type=int, help="sampling batch (default 4096; unet 32)")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--size", type=int, default=32, help="unet: image side")
    ap.add_argument("--channels", type=int, default=32, help="unet: base channels C")
    ap.add_argument("--mult", type=parse_mult, default=(1, 2, 2, 2), help="unet: channel multipliers")
    ap.add_argument("--blocks", type=int, default=2, help="unet: residual blocks per level")
    a = ap.parse_args()
    unet = a.model == "unet"
    if a.classes is None:
        a.classes = 2 if unet else 160
    if a.batch is None:
        a.batch = 32 if unet else 128
    if a.sample_batch is None:
        a.sample_batch = 32 if unet else 4096
    c = a.classes
    if c < 2:
        sys.exit("--classes must be >= 2")
    if unet and (a.channels < 2 or a.channels % 2 or a.blocks < 1 or a.size < 1):
        sys.exit("unet: --channels must be even and >= 2, --blocks >= 1, --size >= 1")

    torch.set_num_threads(a.threads)
    if unet:
        torch.manual_seed(a.seed)
        run_unet(a)
        return
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
