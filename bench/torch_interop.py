#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""gaflow <-> PyTorch, both ways, with the module names of the authors' code (needs python3-torch):

  1. a model trained by gaflow (gaflow-cli train), exported (gaflow-cli export), loads into the PyTorch
     reference (bench/torch_reference.py) with load_state_dict(strict=True) and gives the same vector
     field as gaflow-cli field on the same inputs;
  2. a state_dict saved by the reference (torch.save, random weights everywhere) converts
     (tools/torch2safetensors.py), imports (gaflow-cli import) and gives the same field in gaflow.

For the UNet, the toy CNN and the dense network (in evaluation mode: BatchNorm with its running
statistics, which travel with the weights). The reference computes in float64 from the same float32 weights; the
numbers are max |gaflow - torch| and that over max |torch| (the authors' own modules cast to float32 inside,
so they run in float32). With --authors DIR (a checkout of
IPA-HD/generative-af) the exported weights also load strictly into the authors' own UNetModel / CNNModel
and are compared the same way.

  /usr/bin/python3 bench/torch_interop.py --cli build/app/gaflow-cli [--authors DIR]
"""
import argparse
import os
import subprocess
import sys
import tempfile

import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tools"))
sys.path.insert(0, here)
import safetensors_io as st  # noqa: E402
import torch_reference as ref  # noqa: E402

TIMES = [0.1, 1.0, 4.0, 12.0]


def run(*args):
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(args)}\n{r.stderr}")
    return r.stdout


def field_torch(model, x, t, class_dim, dtype=torch.float64):
    model.eval()
    with torch.no_grad():
        y = model.to(dtype)(x.to(dtype), t.to(dtype)).double()
    return y - y.mean(class_dim, keepdim=True)


def field_gaflow(cli, model_path, x, t, tmp):
    inp, out = os.path.join(tmp, "x.safetensors"), os.path.join(tmp, "y.safetensors")
    st.write(inp, {"W": st.from_torch(x), "t": st.from_torch(t)})
    run(cli, "field", "--checkpoint", model_path, "--input", inp, "--out", out)
    tensors, _ = st.read(out)
    return st.to_torch(tensors["field"]).double()


def report(what, a, b, tol=1e-5):
    d = (a - b).abs().max().item()
    m = b.abs().max().item()
    ok = d <= tol * m
    print(f"{what}: max |diff| {d:.3g}, relative {d / m:.3g} (max |field| {m:.3g}) {'ok' if ok else 'FAIL'} "
          f"(tolerance {tol:g})")
    return ok


def inputs(shape, class_dim, gen):
    x = torch.softmax(torch.randn(shape, generator=gen) * 2, dim=class_dim)
    return x, torch.tensor(TIMES[:shape[0]], dtype=torch.float32)


def randomize(model, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not name.endswith("time_embedder.0.W"):
                p.copy_((torch.rand(p.shape, generator=gen) * 2 - 1) * 0.2 + (1.0 if name.endswith("norm.weight") else 0))


def authors_models(path):
    sys.path.insert(0, path)
    from architecture.unet_openai import UNetModel
    from architecture.cnn_dirichlet import CNNModel

    class UNetF(torch.nn.Module):   # the authors' forward counts calls on the instance; call the plain one
        def __init__(self, **kw):
            super().__init__()
            self.net = UNetModel(**kw)

        def forward(self, x, t):
            return self.net.counted_forward(x, t)

    class CNNF(torch.nn.Module):
        def __init__(self, c):
            super().__init__()
            self.net = CNNModel(c)

        def forward(self, x, t):
            return self.net.counted_forward(x, t)

    return UNetF, CNNF


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--authors", help="a checkout of IPA-HD/generative-af (optional third check)")
    a = ap.parse_args()
    cli = os.path.abspath(a.cli)
    gen = torch.Generator().manual_seed(7)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        p = lambda name: os.path.join(tmp, name)  # noqa: E731
        # -- 1. gaflow -> PyTorch. A UNet of the authors' kind (widths multiples of 32: GroupNorm(32)),
        # 16 x 16 maps of 3 classes, trained 30 steps so that no layer is zero.
        data = "scenes:classes=3,size=16,count=64"
        run(cli, "train", "--data", data, "--model", "unet:channels=32,mult=1,2,blocks=1", "--steps", "30",
            "--checkpoint", p("u.gafck"))
        print(run(cli, "export", "--checkpoint", p("u.gafck"), "--out", p("u.safetensors")).strip())
        sd = {k: st.to_torch(v) for k, v in st.read(p("u.safetensors"))[0].items()}
        unet = ref.UNet(3, channels=32, mult=(1, 2), blocks=1)
        unet.load_state_dict(sd, strict=True)
        print(f"unet: {len(sd)} tensors loaded with strict=True into bench/torch_reference.py UNet")
        x, t = inputs((4, 3, 16, 16), 1, gen)
        fg = field_gaflow(cli, p("u.gafck"), x, t, tmp)
        ok &= report("unet gaflow export -> PyTorch reference, field", fg, field_torch(unet, x, t, 1))
        run(cli, "train", "--data", "scenes:classes=3,size=2,count=64", "--model",
            "toy-cnn:position_bias=false", "--steps", "30", "--checkpoint", p("c.gafck"))
        run(cli, "export", "--checkpoint", p("c.gafck"), "--out", p("c.safetensors"))
        sdc = {k: st.to_torch(v) for k, v in st.read(p("c.safetensors"))[0].items()}
        cnn = ref.ToyCNN(3)
        cnn.load_state_dict(sdc, strict=True)
        print(f"toy CNN: {len(sdc)} tensors loaded with strict=True into bench/torch_reference.py ToyCNN")
        xc, tc = inputs((4, 4, 3), 2, gen)
        fgc = field_gaflow(cli, p("c.gafck"), xc, tc, tmp)
        ok &= report("toy CNN gaflow export -> PyTorch reference, field", fgc, field_torch(cnn, xc, tc, 2))
        if a.authors:
            UNetF, CNNF = authors_models(a.authors)
            au = UNetF(image_size=16, in_channels=3, out_channels=3, model_channels=32, num_res_blocks=1,
                       attention_resolutions=[16], channel_mult=[1, 2])
            au.net.load_state_dict(sd, strict=True)
            ok &= report("unet gaflow export -> the authors' UNetModel (float32: it casts), field", fg,
                         field_torch(au, x, t, 1, torch.float32))
            ac = CNNF(3)
            ac.net.load_state_dict(sdc, strict=True)
            # PyTorch forms the Fourier argument 2 pi t w (|w| ~ 30) in float32: at t = 12 it carries
            # errors of ~1e-4 rad, which gaflow (argument in double) and the float64 reference do not
            ok &= report("toy CNN gaflow export -> the authors' CNNModel (float32), field", fgc,
                         field_torch(ac, xc, tc, 2, torch.float32), tol=1e-4)

        # The dense network (the authors' DenseNet) on 2 x 2 maps of 3 classes: n = 4, c = 3.
        run(cli, "train", "--data", "scenes:classes=3,size=2,count=64", "--model", "dense:hidden=32,32",
            "--steps", "30", "--checkpoint", p("d.gafck"))
        run(cli, "export", "--checkpoint", p("d.gafck"), "--out", p("d.safetensors"))
        sdd = {k: st.to_torch(v) for k, v in st.read(p("d.safetensors"))[0].items()}
        dense = ref.DenseNet(3, 4, hidden_dims=(32, 32))
        dense.load_state_dict(sdd, strict=True)
        print(f"dense: {len(sdd)} tensors loaded with strict=True into bench/torch_reference.py DenseNet "
              f"(num_batches_tracked {int(sdd['layers.0.0.num_batches_tracked'])})")
        xd, td = inputs((4, 3, 4), 1, gen)
        fgd = field_gaflow(cli, p("d.gafck"), xd, td, tmp)
        ok &= report("dense gaflow export -> PyTorch reference, field", fgd, field_torch(dense, xd, td, 1))

        # -- 2. PyTorch -> gaflow: random weights everywhere, torch.save'd state_dict, converted, imported.
        unet2 = ref.UNet(3, channels=32, mult=(1, 2), blocks=1)
        randomize(unet2, gen)
        torch.save(unet2.state_dict(), p("ref.pt"))
        print(run(sys.executable, os.path.join(here, "..", "tools", "torch2safetensors.py"), p("ref.pt"),
                  p("ref.safetensors"), "--image-size", "16").strip())
        print(run(cli, "import", p("ref.safetensors"), "--data", data, "--out", p("ref.gafck")).strip())
        x, t = inputs((4, 3, 16, 16), 1, gen)
        ok &= report("unet PyTorch state_dict -> gaflow import, field", field_gaflow(cli, p("ref.gafck"), x, t, tmp),
                     field_torch(unet2, x, t, 1))
        cnn2 = ref.ToyCNN(3)
        randomize(cnn2, gen)
        torch.save({"state_dict": {"net." + k: v for k, v in cnn2.state_dict().items()},
                    "hyper_parameters": {"hparams": {"model": {"name": "cnn_dirichlet", "params": {}},
                                                     "data": {"num_classes": 3},
                                                     "training": {"field_magnitude": 0.5}}}}, p("ref.ckpt"))
        print(run(sys.executable, os.path.join(here, "..", "tools", "torch2safetensors.py"), p("ref.ckpt"),
                  p("refc.safetensors")).strip())
        print(run(cli, "import", p("refc.safetensors"), "--out", p("refc.gafck")).strip())
        xc, tc = inputs((4, 4, 3), 2, gen)
        ok &= report("toy CNN Lightning-style .ckpt -> gaflow import, field",
                     field_gaflow(cli, p("refc.gafck"), xc, tc, tmp), field_torch(cnn2, xc, tc, 2))
        # The dense network: random weights, running statistics from a few training-mode forwards,
        # a Lightning-style .ckpt whose hyper-parameters name it; c and n given to the converter.
        dense2 = ref.DenseNet(3, 4, hidden_dims=(32, 16))
        randomize(dense2, gen)
        dense2.train()
        with torch.no_grad():
            for _ in range(5):
                dense2(*inputs((16, 3, 4), 1, gen)[:1], torch.rand(16, generator=gen) * 10)
        torch.save({"state_dict": {"net." + k: v for k, v in dense2.state_dict().items()},
                    "hyper_parameters": {"hparams": {"model": {"name": "dense",
                                                               "params": {"hidden_dims": [32, 16], "bias": True}},
                                                     "data": {"dataset": "pinwheel"},
                                                     "training": {"field_magnitude": 0.5}}}}, p("refd.ckpt"))
        print(run(sys.executable, os.path.join(here, "..", "tools", "torch2safetensors.py"), p("refd.ckpt"),
                  p("refd.safetensors"), "--classes", "3").strip())
        print(run(cli, "import", p("refd.safetensors"), "--out", p("refd.gafck")).strip())
        xd, td = inputs((4, 3, 4), 1, gen)
        ok &= report("dense Lightning-style .ckpt -> gaflow import, field",
                     field_gaflow(cli, p("refd.gafck"), xd, td, tmp), field_torch(dense2, xd, td, 1))
        # and back: gaflow's export of the imported model equals the PyTorch state_dict, buffers included
        run(cli, "export", "--checkpoint", p("refd.gafck"), "--out", p("refd2.safetensors"))
        back = {k: st.to_torch(v) for k, v in st.read(p("refd2.safetensors"))[0].items()}
        same = back.keys() == dense2.state_dict().keys() and all(
            torch.equal(back[k], v) for k, v in dense2.state_dict().items())
        print(f"dense PyTorch -> gaflow -> PyTorch: {len(back)} tensors {'identical' if same else 'DIFFER'}")
        ok &= same
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
