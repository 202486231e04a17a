#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The command-line contract of gaflow-cli export, import and field, as TAP, on a tiny UNet trained here
# (8 x 8 scene maps, 3 classes, attention at 4 x 4) and a tiny toy CNN (make-tiny-checkpoint):
#   - .gafck -> safetensors -> .gafck -> safetensors gives the same tensors bit for bit;
#   - a sample with the same seed from the original and the round-tripped checkpoint is identical;
#   - field gives the same answer on the .gafck, on its export and on the re-imported checkpoint;
#   - the errors a user meets (wrong network, missing tensors, wrong shapes, a foreign dtype, a truncated
#     file): one "gaflow-cli: error:" line each, exit 2, no output file.
# Usage: test-cli-safetensors.sh PATH/TO/gaflow-cli PATH/TO/make-tiny-checkpoint

set -u
cli=${1:?usage: test-cli-safetensors.sh PATH/TO/gaflow-cli PATH/TO/make-tiny-checkpoint}
make_ckpt=${2:?usage: test-cli-safetensors.sh PATH/TO/gaflow-cli PATH/TO/make-tiny-checkpoint}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

n=0
failed=0
ok () { n=$((n + 1)); echo "ok $n - $1"; }
not_ok () { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }

# rejects NAME TEXT COMMAND ARGS...: one error line containing TEXT, exit 2, empty stdout, no $tmp/out.*
rejects () {
  local name=$1 text=$2 rc lines first
  shift 2
  rm -f "$tmp/out.gafck" "$tmp/out.safetensors"
  "$cli" "$@" >"$tmp/stdout" 2>"$tmp/err" </dev/null
  rc=$?
  lines=$(wc -l <"$tmp/err")
  first=$(head -n 1 "$tmp/err")
  if [ "$rc" -eq 2 ] && [ "$lines" -eq 1 ] && [[ $first == "gaflow-cli: error: "*"$text"* ]] && [ ! -s "$tmp/stdout" ] &&
     [ ! -e "$tmp/out.gafck" ] && [ ! -e "$tmp/out.safetensors" ]; then
    ok "rejects $name"
  else
    not_ok "rejects $name" "exit $rc, $lines stderr lines (want one with '$text'):" "$(cat "$tmp/err")"
  fi
}

# The tensor data and names of a safetensors file (without the metadata), for comparing files.
tensors () {
  python3 - "$1" <<'PY'
import json, struct, sys, hashlib
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
h.pop("__metadata__", None)
print(json.dumps(h, sort_keys=True), hashlib.sha256(b[8 + n:]).hexdigest())
PY
}

data=scenes:classes=3,size=8,count=40
"$cli" train --data "$data" --model unet:channels=8,mult=1,2,blocks=1,attn=4,groups=4 --steps 12 \
  --checkpoint "$tmp/a.gafck" >"$tmp/make.out" 2>&1 ||
  { echo "Bail out! train failed: $(cat "$tmp/make.out")"; exit 1; }
"$cli" train --data scenes:classes=3,size=2,count=40 --model toy-cnn:hidden=16,position_bias=false --steps 5 \
  --checkpoint "$tmp/cnn.gafck" >"$tmp/make.out" 2>&1 ||
  { echo "Bail out! train failed: $(cat "$tmp/make.out")"; exit 1; }
"$make_ckpt" "$tmp/pos.gafck" scenes:classes=3,size=2,count=50 5 16 >"$tmp/make.out" 2>&1 ||
  { echo "Bail out! make-tiny-checkpoint failed: $(cat "$tmp/make.out")"; exit 1; }

# round trip
if "$cli" export --checkpoint "$tmp/a.gafck" --out "$tmp/a.safetensors" >"$tmp/stdout" 2>"$tmp/err" &&
   grep -q "exported the averaged weights of a unet" "$tmp/stdout" &&
   "$cli" import "$tmp/a.safetensors" --out "$tmp/b.gafck" >"$tmp/stdout" 2>>"$tmp/err" &&
   "$cli" export --checkpoint "$tmp/b.gafck" --out "$tmp/b.safetensors" >"$tmp/stdout" 2>>"$tmp/err" &&
   [ "$(tensors "$tmp/a.safetensors")" == "$(tensors "$tmp/b.safetensors")" ]; then
  ok "gafck -> safetensors -> gafck -> safetensors: the same tensors bit for bit"
else
  not_ok "gafck -> safetensors -> gafck -> safetensors" "$(cat "$tmp/err" "$tmp/stdout")"
fi
if python3 - "$tmp/a.safetensors" <<'PY'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
m = h["__metadata__"]
assert m["network"] == "unet" and m["model_channels"] == "8" and m["channel_mult"] == "[1, 2]", m
assert m["attention_resolutions"] == "[2]" and m["num_classes"] == "3" and m["weights"] == "ema", m
for k in ("time_embed.0.weight", "input_blocks.0.0.weight", "input_blocks.3.1.qkv.weight", "middle_block.1.proj_out.weight",
          "output_blocks.1.2.conv.weight", "out.2.weight"):
    assert k in h, k
assert h["input_blocks.0.0.weight"]["shape"] == [8, 3, 3, 3]
assert h["input_blocks.3.1.qkv.weight"]["shape"] == [48, 16, 1]
PY
then ok "the export has the authors' module names, PyTorch shapes and hyper-parameters"
else not_ok "the export has the authors' module names, PyTorch shapes and hyper-parameters"; fi

mkdir -p "$tmp/la" "$tmp/lb"
if "$cli" sample --checkpoint "$tmp/a.gafck" --count 3 --seed 9 --labels "$tmp/la" >/dev/null 2>"$tmp/err" &&
   "$cli" sample --checkpoint "$tmp/b.gafck" --count 3 --seed 9 --labels "$tmp/lb" >/dev/null 2>>"$tmp/err" &&
   [ "$(ls "$tmp/la" | wc -l)" -eq 3 ] && diff -r "$tmp/la" "$tmp/lb" >/dev/null; then
  ok "the same seed samples the same maps from the original and the round-tripped checkpoint"
else
  not_ok "the same seed samples the same maps" "$(cat "$tmp/err")"
fi

# field: the same numbers from the .gafck, its export and the re-imported checkpoint
python3 - "$tmp/x.safetensors" <<'PY'
import json, struct, sys, random
random.seed(3)
B, c, H, W = 2, 3, 8, 8
vals = []
for b in range(B):
    for p in range(H * W):
        w = [random.random() + 0.05 for _ in range(c)]
        s = sum(w)
        vals.append([x / s for x in w])
# (B, c, H, W): class k of pixel p at [b, k, p]
flat = [vals[b * H * W + p][k] for b in range(B) for k in range(c) for p in range(H * W)]
hdr = {"W": {"dtype": "F32", "shape": [B, c, H, W], "data_offsets": [0, 4 * len(flat)]},
       "t": {"dtype": "F32", "shape": [B], "data_offsets": [4 * len(flat), 4 * len(flat) + 8]}}
j = json.dumps(hdr).encode()
j += b" " * (-len(j) % 8)
open(sys.argv[1], "wb").write(struct.pack("<Q", len(j)) + j + struct.pack("<%df" % len(flat), *flat) + struct.pack("<2f", 0.5, 3.0))
PY
if "$cli" field --checkpoint "$tmp/a.gafck" --input "$tmp/x.safetensors" --out "$tmp/f1.safetensors" >/dev/null 2>"$tmp/err" &&
   "$cli" field --checkpoint "$tmp/a.safetensors" --input "$tmp/x.safetensors" --out "$tmp/f2.safetensors" >/dev/null 2>>"$tmp/err" &&
   "$cli" field --checkpoint "$tmp/b.gafck" --input "$tmp/x.safetensors" --out "$tmp/f3.safetensors" >/dev/null 2>>"$tmp/err" &&
   cmp -s "$tmp/f1.safetensors" "$tmp/f2.safetensors" && cmp -s "$tmp/f1.safetensors" "$tmp/f3.safetensors" &&
   python3 - "$tmp/f1.safetensors" <<'PY'
import json, struct, sys, math
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
assert h["field"]["shape"] == [2, 3, 8, 8], h
v = struct.unpack("<%df" % (2 * 3 * 64), b[8 + n:])
# a tangent vector at every pixel: the classes sum to zero; not all zero
for bb in range(2):
    for p in range(64):
        s = sum(v[(bb * 3 + k) * 64 + p] for k in range(3))
        assert abs(s) < 1e-5, s
assert max(abs(x) for x in v) > 1e-4
PY
then
  ok "field: the same vector field (tangent at every pixel) from the .gafck, its export and the re-import"
else
  not_ok "field from .gafck, export and re-import" "$(cat "$tmp/err")"
fi
if "$cli" field --checkpoint "$tmp/a.gafck" --input "$tmp/x.safetensors" --time 2 --raw-output --out "$tmp/f4.safetensors" \
     >/dev/null 2>"$tmp/err" && grep -q '"output"' "$tmp/f4.safetensors"; then
  ok "field --raw-output --time writes the network output"
else
  not_ok "field --raw-output --time" "$(cat "$tmp/err")"
fi

# the toy CNN round trip too (its Fourier frequencies travel as time_embedder.0.W)
if "$cli" export --checkpoint "$tmp/cnn.gafck" --out "$tmp/cnn.safetensors" >/dev/null 2>"$tmp/err" &&
   "$cli" import "$tmp/cnn.safetensors" --out "$tmp/cnn2.gafck" >/dev/null 2>>"$tmp/err" &&
   "$cli" export --checkpoint "$tmp/cnn2.gafck" --out "$tmp/cnn2.safetensors" >/dev/null 2>>"$tmp/err" &&
   [ "$(tensors "$tmp/cnn.safetensors")" == "$(tensors "$tmp/cnn2.safetensors")" ] &&
   grep -q "time_embedder.0.W" "$tmp/cnn.safetensors"; then
  ok "toy CNN: gafck -> safetensors -> gafck -> safetensors, the same tensors"
else
  not_ok "toy CNN round trip" "$(cat "$tmp/err")"
fi

# the dense network (the authors' DenseNet): BatchNorm's running statistics and num_batches_tracked (an I64
# scalar, counting the 5 training forwards) travel with the weights
"$cli" train --data scenes:classes=3,size=2,count=40 --model dense:hidden=8,6 --steps 5 \
  --checkpoint "$tmp/d.gafck" >"$tmp/make.out" 2>&1 ||
  { echo "Bail out! train failed: $(cat "$tmp/make.out")"; exit 1; }
if "$cli" export --checkpoint "$tmp/d.gafck" --out "$tmp/d.safetensors" >/dev/null 2>"$tmp/err" &&
   "$cli" import "$tmp/d.safetensors" --out "$tmp/d2.gafck" >/dev/null 2>>"$tmp/err" &&
   "$cli" export --checkpoint "$tmp/d2.gafck" --out "$tmp/d2.safetensors" >/dev/null 2>>"$tmp/err" &&
   [ "$(tensors "$tmp/d.safetensors")" == "$(tensors "$tmp/d2.safetensors")" ] &&
   python3 - "$tmp/d.safetensors" 2>>"$tmp/err" <<'PY'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
m = h["__metadata__"]
assert m["network"] == "dense" and m["c"] == "3" and m["n"] == "4" and m["hidden_dims"] == "[8, 6]", m
assert h["layers.0.1.weight"]["shape"] == [8, 13] and h["layers.2.1.weight"]["shape"] == [12, 6]
e = h["layers.1.0.num_batches_tracked"]
assert e["dtype"] == "I64" and e["shape"] == [], e
begin, end = e["data_offsets"]
assert struct.unpack("<q", b[8 + n + begin:8 + n + end])[0] == 5
PY
then
  ok "dense: gafck -> safetensors -> gafck -> safetensors, the same tensors; num_batches_tracked an I64 5"
else
  not_ok "dense round trip" "$(cat "$tmp/err")"
fi
mkdir -p "$tmp/da" "$tmp/db"
if "$cli" sample --checkpoint "$tmp/d.gafck" --count 3 --seed 9 --labels "$tmp/da" >/dev/null 2>"$tmp/err" &&
   "$cli" sample --checkpoint "$tmp/d2.gafck" --count 3 --seed 9 --labels "$tmp/db" >/dev/null 2>>"$tmp/err" &&
   [ "$(ls "$tmp/da" | wc -l)" -eq 3 ] && diff -r "$tmp/da" "$tmp/db" >/dev/null; then
  ok "dense: the same seed samples the same maps from the original and the round-tripped checkpoint"
else
  not_ok "dense: the same seed samples the same maps" "$(cat "$tmp/err")"
fi

# the errors a user meets
rejects "another network" "not a unet: the file holds none of its" \
  import "$tmp/cnn.safetensors" --model unet:channels=8,mult=1,2,blocks=1,groups=4 --data "$data" --out "$tmp/out.gafck"
rejects "missing tensors" "missing tensor 'input_blocks.2.0.in_layers.0.weight'" \
  import "$tmp/a.safetensors" --model unet:channels=8,mult=1,2,blocks=2,attn=4,groups=4 --data "$data" --out "$tmp/out.gafck"
rejects "wrong shapes" "tensor 'time_embed.0.weight' has shape (32, 8), the model needs (64, 16)" \
  import "$tmp/a.safetensors" --model unet:channels=16,mult=1,2,blocks=1,attn=4,groups=4 --data "$data" --out "$tmp/out.gafck"
python3 - "$tmp/a.safetensors" "$tmp/i32.safetensors" <<'PY'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
h["out.2.bias"]["dtype"] = "I32"
j = json.dumps(h).encode()
j += b" " * (-len(j) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(j)) + j + b[8 + n:])
PY
rejects "a foreign dtype" "tensor 'out.2.bias' has dtype I32; gaflow reads F32, F16 and BF16" \
  import "$tmp/i32.safetensors" --out "$tmp/out.gafck"
head -c $(( $(stat -c %s "$tmp/a.safetensors") - 100 )) "$tmp/a.safetensors" >"$tmp/cut.safetensors"
rejects "a truncated file" "outside the" import "$tmp/cut.safetensors" --out "$tmp/out.gafck"
head -c 4000 "$tmp/a.safetensors" >"$tmp/cut2.safetensors"
rejects "a file cut in its header" "is truncated or not safetensors" import "$tmp/cut2.safetensors" --out "$tmp/out.gafck"
rejects "a toy CNN with a position bias" "the toy CNN's position bias has no counterpart in the authors' CNNModel" \
  export --checkpoint "$tmp/pos.gafck" --out "$tmp/out.safetensors"
rejects "a missing --out" "--out FILE.gafck is required" import "$tmp/a.safetensors"
python3 - "$tmp/x.safetensors" "$tmp/xnot.safetensors" <<'PY'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
end = h.pop("t")["data_offsets"][0]
j = json.dumps(h).encode()
j += b" " * (-len(j) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(j)) + j + b[8 + n:8 + n + end])
PY
rejects "no time" "give --time T or a tensor 't'" field --checkpoint "$tmp/a.gafck" --input "$tmp/xnot.safetensors" \
  --out "$tmp/out.safetensors"
rejects "input of another size" "--input: tensor 'W' must be (B, n, c)" field --checkpoint "$tmp/cnn.gafck" \
  --input "$tmp/x.safetensors" --out "$tmp/out.safetensors"
python3 - "$tmp/x.safetensors" "$tmp/xhuge.safetensors" <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
b[-4:] = struct.pack("<f", 1e30)   # the second time of tensor 't': finite, far outside [0, 1e6]
open(sys.argv[2], "wb").write(bytes(b))
PY
rejects "a time far out of range" "tensor 't' holds the time 1e+30 at element 1 (times are from 0 to 1e+06)" \
  field --checkpoint "$tmp/a.gafck" --input "$tmp/xhuge.safetensors" --out "$tmp/out.safetensors"

rejects "dense input in the toy CNN's layout" "--input: tensor 'W' must be (B, c, n)" field --checkpoint "$tmp/d.gafck" \
  --input "$tmp/x.safetensors" --out "$tmp/out.safetensors"

echo "1..$n"
[ "$failed" -eq 0 ]
