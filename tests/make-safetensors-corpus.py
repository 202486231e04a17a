#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes tests/corpus/safetensors/ (the seeds of the safetensors fuzz driver, tests/fuzz-parsers.c).

Usage: make-safetensors-corpus.py TOY.safetensors UNET.safetensors OUT-DIR
TOY and UNET are `gaflow-cli export` files of tiny networks (docs/reliability.md gives the commands).

  seed-toy-cnn.safetensors       the toy CNN as gaflow exports it (metadata gaflow.model: exact)
  seed-unet.safetensors          the UNet as gaflow exports it
  seed-unet-authors.safetensors  the UNet with only the authors' hyper-parameters in the metadata
  issue14-*                      must each give one clean error:
    truncated-data               the file cut in its data
    header-cut                   the file cut inside its JSON header
    huge-header-length           the header length field 2^63 - 1
    huge-shape                   a tensor of shape (2^31, 2^31)
    toy-cnn-800-freqs            a toy CNN of hidden_dim 1600: 800 Fourier frequencies where the
                                 configuration holds 512 (they were written past its end; under the
                                 fuzz driver's 64 MiB budget the network is refused before that, so
                                 tests/test-cli-hostile.sh imports it with --max-memory 1T)
    unet-time-scale-1e308        metadata time_scale 1e308 (the UNet's time embedding overflowed)
"""
import json
import os
import struct
import sys


def read(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    return json.loads(b[8:8 + n]), b[8 + n:]


def pack(header, data):
    j = json.dumps(header, separators=(",", ":")).encode()
    j += b" " * (-len(j) % 8)
    return struct.pack("<Q", len(j)) + j + data


def main():
    toy, unet, out = sys.argv[1:4]
    os.makedirs(out, exist_ok=True)
    w = lambda name, b: open(os.path.join(out, name), "wb").write(b)

    th, td = read(toy)
    uh, ud = read(unet)
    w("seed-toy-cnn.safetensors", pack(th, td))
    w("seed-unet.safetensors", pack(uh, ud))
    authors = dict(uh)
    authors["__metadata__"] = {k: v for k, v in uh["__metadata__"].items() if not k.startswith("gaflow.")}
    w("seed-unet-authors.safetensors", pack(authors, ud))

    # the damaged copies from the smaller toy CNN
    full = pack(th, td)
    w("issue14-truncated-data.safetensors", full[:len(full) - 100])
    w("issue14-header-cut.safetensors", full[:200])
    w("issue14-huge-header-length.safetensors", struct.pack("<Q", (1 << 63) - 1) + full[8:])
    h = dict(th)
    name = next(k for k in h if k != "__metadata__")
    h[name] = dict(h[name], shape=[1 << 31, 1 << 31])
    w("issue14-huge-shape.safetensors", pack(h, td))

    # every tensor of a toy CNN's table, all empty but the 800 frequencies
    wide = {"__metadata__": {"network": "cnn_dirichlet", "alphabet_size": "2", "seq_len": "4",
                             "hidden_dim": "1600"}}
    at = 0
    for k in th:
        if k == "__metadata__":
            continue
        n = 800 if k == "time_embedder.0.W" else 0
        wide[k] = {"dtype": "F32", "shape": [n], "data_offsets": [at, at + 4 * n]}
        at += 4 * n
    w("issue14-toy-cnn-800-freqs.safetensors", pack(wide, bytes(at)))

    h = dict(authors)
    h["__metadata__"] = dict(authors["__metadata__"], time_scale="1e308")
    w("issue14-unet-time-scale-1e308.safetensors", pack(h, ud))


if __name__ == "__main__":
    main()
