#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes the PyTorch fixtures of gaflow's test /data/torch-fixtures (tests/test-safetensors.c), so that
`make test` checks gaflow's networks against PyTorch without PyTorch installed:

  tests/data/torch-unet.safetensors     a small UNet (bench/torch_reference.py UNet, the authors' module
                                        names): 3 classes, 8 x 8, C = 8, mult 1,2, 1 block, attention at
                                        4 x 4 and in the middle, 4 GroupNorm groups; random weights
  tests/data/torch-unet-io.safetensors  W (3, 3, 8, 8) on the simplex, t (3), output (3, 3, 8, 8)
  tests/data/torch-cnn.safetensors      the toy CNN (CNNModel's names): 3 classes, n = 4, hidden 16,
                                        8 Fourier frequencies of scale 30; random weights
  tests/data/torch-cnn-io.safetensors   W (3, 4, 3), t (3), output (3, 4, 3)

Every parameter is random (also the zero-initialised convolutions, which would otherwise hide errors in
their mapping). The outputs are the raw network outputs computed by PyTorch in float64 from the float32
weights and inputs written (the reference; gaflow computes in float32). Run once; the files are committed
with this script:  /usr/bin/python3 tools/make-torch-fixtures.py tests/data
"""
import os
import sys

import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "bench"))
import safetensors_io as st  # noqa: E402
import torch_reference as ref  # noqa: E402

TIMES = [0.3, 2.0, 7.5]


def randomize(model, gen, scale):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("time_embedder.0.W"):
                continue   # the fixed frequencies keep their N(0, 30^2) draw
            r = (torch.rand(p.shape, generator=gen, dtype=torch.float64) * 2 - 1) * scale
            if p.dim() == 1 and ("norm" in name or "in_layers.0" in name or "out_layers.0" in name or
                                 name.startswith("out.0")) and name.endswith("weight"):
                r = 1 + r   # norm gains around 1
            p.copy_(r.to(p.dtype))


def write_pair(out_dir, stem, model, x, meta):
    t = torch.tensor(TIMES, dtype=torch.float32)
    weights = {k: st.from_torch(v) for k, v in model.state_dict().items()}
    st.write(os.path.join(out_dir, f"torch-{stem}.safetensors"), weights, meta)
    m64 = model.double()
    with torch.no_grad():
        y = m64(x.double(), t.double())
    st.write(os.path.join(out_dir, f"torch-{stem}-io.safetensors"),
             {"W": st.from_torch(x), "t": st.from_torch(t), "output": st.from_torch(y)},
             {"computed_by": f"PyTorch {torch.__version__}, float64", "layout": meta["layout"]})
    print(f"{stem}: {sum(p.numel() for p in model.parameters())} values, output max |y| {y.abs().max().item():.4g}")


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "tests", "data")
    os.makedirs(out_dir, exist_ok=True)
    gen = torch.Generator().manual_seed(20261204)
    torch.manual_seed(20261204)

    unet = ref.UNet(3, channels=8, mult=(1, 2), blocks=1, attn=(2,), groups=4)
    randomize(unet, gen, 0.3)
    x = torch.softmax(torch.randn(3, 3, 8, 8, generator=gen) * 2, dim=1)
    write_pair(out_dir, "unet", unet, x, {
        "network": "unet", "model_channels": "8", "channel_mult": "[1, 2]", "num_res_blocks": "1",
        "attention_resolutions": "[2]", "num_classes": "3", "image_height": "8", "image_width": "8",
        "groups": "4", "layout": "W (B, c, H, W)"})

    cnn = ref.ToyCNN(3, hidden=16)
    randomize(cnn, gen, 0.3)
    x = torch.softmax(torch.randn(3, 4, 3, generator=gen) * 2, dim=2)
    write_pair(out_dir, "cnn", cnn, x, {
        "network": "cnn_dirichlet", "alphabet_size": "3", "hidden_dim": "16", "seq_len": "4",
        "layout": "W (B, n, c)"})


if __name__ == "__main__":
    main()
