# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading and writing the safetensors format with the standard library (no safetensors package here).

File: u64 little-endian N, an N-byte JSON header {"name": {"dtype", "shape", "data_offsets": [begin, end]},
..., "__metadata__": {str: str}}, then the raw little-endian tensor bytes in C order. The header is padded
with spaces to a multiple of 8. Tensors come in and go out as (dtype name, shape, bytes); to_torch /
from_torch convert when PyTorch is at hand (imported lazily, so gaflow's tests need only this file)."""
import json
import struct

ELEMENT_SIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "U64": 8, "I32": 4, "U32": 4,
                "I16": 2, "U16": 2, "I8": 1, "U8": 1, "BOOL": 1, "F8_E5M2": 1, "F8_E4M3": 1}


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def write(path, tensors, metadata=None):
    """tensors: {name: (dtype, shape, bytes)} in the order to write; metadata: {str: str}."""
    header, chunks, at = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, (dtype, shape, data) in tensors.items():
        assert len(data) == numel(shape) * ELEMENT_SIZE[dtype], (name, dtype, shape, len(data))
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [at, at + len(data)]}
        chunks.append(data)
        at += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)


def read(path):
    """-> ({name: (dtype, shape, bytes)}, metadata)"""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        out[name] = (e["dtype"], tuple(e["shape"]), raw[base + b:base + end])
    return out, meta


def floats(entry):
    """An F32 tensor's values as a list."""
    dtype, shape, data = entry
    assert dtype == "F32", dtype
    return list(struct.unpack("<%df" % numel(shape), data))


def f32(shape, values):
    return ("F32", tuple(shape), struct.pack("<%df" % len(values), *values))


def from_torch(t):
    """A torch tensor -> (dtype, shape, bytes); floating point as F32 (F16 and BF16 convert exactly)."""
    import torch
    t = t.detach().cpu().contiguous()
    if t.is_floating_point():
        t = t.to(torch.float32)
        return ("F32", tuple(t.shape), t.numpy().astype("<f4").tobytes())
    names = {torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
             torch.bool: "BOOL"}
    if t.dtype not in names:
        raise ValueError(f"no safetensors dtype for {t.dtype}")
    a = t.numpy()
    return (names[t.dtype], tuple(t.shape), a.astype(a.dtype.newbyteorder("<")).tobytes())


def to_torch(entry):
    import numpy as np
    import torch
    dtype, shape, data = entry
    np_types = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
                "U8": "u1", "BOOL": "?"}
    if dtype == "BF16":
        bits = np.frombuffer(data, dtype="<u2").astype(np.uint32) << 16
        return torch.from_numpy(bits.view(np.float32).reshape(shape).copy())
    return torch.from_numpy(np.frombuffer(data, dtype=np_types[dtype]).reshape(shape).copy())
