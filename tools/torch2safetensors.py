#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Converts a model trained with the authors' PyTorch code (IPA-HD/generative-af) to safetensors for
gaflow (`gaflow-cli import FILE.safetensors ...`, or the app's Open Model).

Input: a Lightning checkpoint (.ckpt: a dict with "state_dict" and "hyper_parameters") or a plain
state_dict saved with torch.save (a dict of tensors, or {"state_dict": ...}). The `net.` prefix of the
Lightning module is stripped; when the checkpoint also has averaged weights ("ema_state_dict", or keys
under "ema.", "net_ema.", "ema_net." or "model_ema."), those are written, unless --raw. The
hyper-parameters found (the model's name and params, data.num_classes, training.field_magnitude, ...) go
into __metadata__ under the authors' names: network, model_channels, channel_mult, num_res_blocks,
attention_resolutions, num_classes, field_magnitude, plus in/out channels read off the weights (for the
DenseNet: c, n, hidden_dims and bias; its num_batches_tracked buffers are written as I64).

Needs only Debian's python3-torch (the file is written with the standard library).

  tools/torch2safetensors.py model.ckpt model.safetensors [--raw] [--image-size 32] [--network unet]
  tools/torch2safetensors.py pinwheel.ckpt pinwheel.safetensors --classes 91     (a DenseNet: c = 91, n = 2)
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io as st  # noqa: E402

EMA_PREFIXES = ("ema.net.", "net_ema.", "ema_net.", "model_ema.net.", "ema.", "model_ema.")


def as_plain(obj):
    """OmegaConf containers, argparse namespaces and the like -> dicts and lists."""
    try:
        from omegaconf import OmegaConf  # only present where the authors' code ran
        if OmegaConf.is_config(obj):
            return OmegaConf.to_container(obj, resolve=True)
    except ImportError:
        pass
    if isinstance(obj, dict):
        return {str(k): as_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [as_plain(v) for v in obj]
    if hasattr(obj, "__dict__") and not isinstance(obj, (int, float, str, bool)):
        return {k: as_plain(v) for k, v in vars(obj).items() if not k.startswith("_")}
    return obj


def split_weights(ckpt, want_ema):
    """-> (state dict of the network without prefixes, "ema" or "raw")"""
    import torch
    if isinstance(ckpt, dict) and "state_dict" in ckpt and isinstance(ckpt["state_dict"], dict):
        sd = ckpt["state_dict"]
    elif isinstance(ckpt, dict) and all(isinstance(v, torch.Tensor) for v in ckpt.values()):
        sd = ckpt
    else:
        sys.exit("torch2safetensors: neither a Lightning checkpoint nor a state_dict (no 'state_dict', "
                 "not a dict of tensors)")
    ema = None
    if isinstance(ckpt, dict) and isinstance(ckpt.get("ema_state_dict"), dict):
        ema = ckpt["ema_state_dict"]
    else:
        for p in EMA_PREFIXES:
            sub = {k[len(p):]: v for k, v in sd.items() if k.startswith(p)}
            if sub:
                ema = sub
                break
    chosen, kind = (ema, "ema") if (want_ema and ema) else (sd, "raw")
    out = {}
    for k, v in chosen.items():
        if kind == "raw" and any(k.startswith(p) for p in EMA_PREFIXES):
            continue
        if k.startswith("net."):
            k = k[4:]
        elif k.startswith("module."):
            k = k[7:]
        if isinstance(v, torch.Tensor):
            out[k] = v
    if not out:
        sys.exit("torch2safetensors: no tensors found")
    return out, kind


def find(d, *path):
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return None
        d = d[p]
    return d


def unet_structure(sd):
    """model_channels, channel_mult, num_res_blocks and attention_resolutions read off a UNetModel's tensors
    (a plain state_dict carries no hyper-parameters)."""
    C = sd["input_blocks.0.0.weight"].shape[0]
    levels, cur, attn, k = [], [], set(), 1
    while f"input_blocks.{k}.0.op.weight" in sd or f"input_blocks.{k}.0.in_layers.2.weight" in sd:
        if f"input_blocks.{k}.0.op.weight" in sd:
            levels.append(cur)
            cur = []
        else:
            cur.append(sd[f"input_blocks.{k}.0.in_layers.2.weight"].shape[0])
            if f"input_blocks.{k}.1.qkv.weight" in sd:
                attn.add(2 ** len(levels))
        k += 1
    levels.append(cur)
    mult = [lv[-1] // C for lv in levels]
    return {"model_channels": str(C), "channel_mult": "[" + ", ".join(map(str, mult)) + "]",
            "num_res_blocks": str(len(levels[0])), "attention_resolutions": "[" + ", ".join(map(str, sorted(attn))) + "]"}


def metadata(ckpt, sd, args):
    hp = as_plain(ckpt.get("hyper_parameters", {})) if isinstance(ckpt, dict) else {}
    if "hparams" in hp and isinstance(hp["hparams"], dict):
        hp = hp["hparams"]
    meta = {"format": "pt"}
    name = args.network or find(hp, "model", "name")
    if name is None:   # recognise the network by its tensors
        name = ("unet" if "time_embed.0.weight" in sd else "cnn_dirichlet" if "time_embedder.0.W" in sd
                else "dense" if any(k.startswith("layers.") for k in sd) else None)
    if name is not None:
        meta["network"] = name
    for k, v in (find(hp, "model", "params") or {}).items():
        if isinstance(v, (list, tuple)):
            meta[k] = "[" + ", ".join(str(x) for x in v) + "]"
        elif isinstance(v, (int, float, str, bool)):
            meta[k] = str(v)
    for key, path in (("num_classes", ("data", "num_classes")), ("dataset", ("data", "dataset")),
                      ("field_magnitude", ("training", "field_magnitude")), ("t_end", ("training", "t_end"))):
        v = find(hp, *path)
        if v is not None:
            meta[key] = str(v)
    if name == "unet" and "input_blocks.0.0.weight" in sd:
        for k, v in unet_structure(sd).items():
            meta.setdefault(k, v)
        w = sd["input_blocks.0.0.weight"]
        meta.setdefault("model_channels", str(w.shape[0]))
        meta["in_channels"] = str(w.shape[1])
        meta.setdefault("num_classes", str(w.shape[1]))
        meta["out_channels"] = str(sd["out.2.weight"].shape[0])
    if name == "cnn_dirichlet" and "linear.weight" in sd:
        meta["alphabet_size"] = str(sd["linear.weight"].shape[1])
        meta["hidden_dim"] = str(sd["linear.weight"].shape[0])
        meta.setdefault("num_classes", meta["alphabet_size"])
    if name == "dense" and "layers.0.1.weight" in sd:
        # DenseNet(c, n, hidden_dims, bias): c n + 1 inputs; c or n from the command line, the other one
        # from the tensors; hidden_dims and bias read off the tensors too (a plain state_dict has no
        # hyper-parameters)
        last = max(int(k.split(".")[1]) for k in sd if k.startswith("layers.") and k.endswith(".1.weight"))
        cn = sd["layers.0.1.weight"].shape[1] - 1
        c = args.classes or (cn // args.variables if args.variables else None)
        if c is None or cn % c != 0:
            sys.exit(f"torch2safetensors: the dense network has c n = {cn} inputs; give --classes C "
                     f"(or --variables N) so that gaflow knows which is which")
        meta["c"], meta["n"] = str(c), str(cn // c)
        meta["hidden_dims"] = "[" + ", ".join(str(sd[f"layers.{i}.1.weight"].shape[0]) for i in range(last)) + "]"
        meta["bias"] = "true" if "layers.0.1.bias" in sd else "false"
    if args.image_size:
        h, _, w = args.image_size.partition("x")
        meta["image_height"], meta["image_width"] = h, w or h
    return meta


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input", help="Lightning .ckpt or a torch.save'd state_dict")
    ap.add_argument("output", help="the .safetensors file to write")
    ap.add_argument("--raw", action="store_true", help="the trained weights even when averaged ones exist")
    ap.add_argument("--image-size", help="H or HxW of the images (the UNet; the checkpoint does not say)")
    ap.add_argument("--network", choices=["unet", "cnn_dirichlet", "dense"], help="when the checkpoint does not say")
    ap.add_argument("--classes", type=int, help="the dense network's classes c (its inputs are c n + 1)")
    ap.add_argument("--variables", type=int, help="the dense network's variables n (instead of --classes)")
    args = ap.parse_args()
    import torch
    ckpt = torch.load(args.input, map_location="cpu")
    sd, kind = split_weights(ckpt, not args.raw)
    meta = metadata(ckpt, sd, args)
    meta["weights"] = kind
    st.write(args.output, {k: st.from_torch(v) for k, v in sd.items()}, meta)
    n = sum(v.numel() for v in sd.values() if v.is_floating_point())
    print(f"wrote {len(sd)} tensors ({n} values, {kind} weights) of a {meta.get('network', 'network')} to "
          f"{args.output}")


if __name__ == "__main__":
    main()
