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
  tests/data/torch-dense.safetensors    the authors' DenseNet (DenseNet's names): c = 3, n = 4, hidden
                                        16, 12; random weights and random running statistics
  tests/data/torch-dense-io.safetensors W (5, 3, 4), t (5), output (5, 3, 4) in evaluation mode (running
                                        statistics); output_train, the output in training mode (the
                                        batch's statistics), and the running statistics that forward
                                        leaves (after.layers.I.0.running_mean, ...)

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

    write_dense(out_dir, gen)


def write_dense(out_dir, gen):
    import copy
    dense = ref.DenseNet(3, 4, hidden_dims=(16, 12))
    with torch.no_grad():
        for name, v in dense.state_dict().items():
            if name.endswith("num_batches_tracked"):
                v.fill_(12345)
                continue
            r = torch.rand(v.shape, generator=gen, dtype=torch.float64)
            if name.endswith("running_var"):
                r = 0.3 + r            # positive
            elif name.endswith(".0.weight"):
                r = 0.5 + r            # BatchNorm gains around 1
            else:
                r = (r * 2 - 1) * 0.5
            v.copy_(r.to(v.dtype))
    weights = {k: st.from_torch(v) for k, v in dense.state_dict().items()}
    st.write(os.path.join(out_dir, "torch-dense.safetensors"), weights, {
        "network": "dense", "c": "3", "n": "4", "hidden_dims": "[16, 12]", "bias": "true",
        "layout": "W (B, c, n)"})
    x = torch.softmax(torch.randn(5, 3, 4, generator=gen) * 2, dim=1)
    t = torch.tensor([0.3, 2.0, 7.5, 0.05, 14.0], dtype=torch.float32)
    evaluating = copy.deepcopy(dense).double().eval()
    training = copy.deepcopy(dense).double().train()
    with torch.no_grad():
        y = evaluating(x.double(), t.double())
        y_train = training(x.double(), t.double())
    io = {"W": st.from_torch(x), "t": st.from_torch(t), "output": st.from_torch(y),
          "output_train": st.from_torch(y_train)}
    for name, v in training.state_dict().items():
        if "running" in name:
            io["after." + name] = st.from_torch(v)
    st.write(os.path.join(out_dir, "torch-dense-io.safetensors"), io,
             {"computed_by": f"PyTorch {torch.__version__}, float64", "layout": "W (B, c, n)"})
    print(f"dense: {sum(p.numel() for p in dense.parameters())} parameters, output max |y| "
          f"{y.abs().max().item():.4g}, in training mode {y_train.abs().max().item():.4g}")


if __name__ == "__main__":
    main()
