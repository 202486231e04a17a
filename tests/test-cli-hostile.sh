#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Hostile input to gaflow-cli (issue 14), as TAP: each defect's reproducer from tests/corpus/ is refused with
# one "gaflow-cli: error:" line naming the limit, quickly and without a large allocation; FIFOs and devices
# are refused, never waited on; a diverging run exits non-zero and saves nothing; a read-only filesystem is
# reported as such. GAF_CLI_WRAPPER (the valgrind setup) runs gaflow-cli under a tool. Deadlines are multiplied by GAF_TEST_TIME_FACTOR (the sanitizer setups set it).
# Usage: test-cli-hostile.sh PATH/TO/gaflow-cli CORPUS-DIR

set -u
cli=${1:?usage: test-cli-hostile.sh PATH/TO/gaflow-cli CORPUS-DIR}
corpus=${2:?usage: test-cli-hostile.sh PATH/TO/gaflow-cli CORPUS-DIR}
factor=${GAF_TEST_TIME_FACTOR:-1}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

n=0
failed=0
ok () { n=$((n + 1)); echo "ok $n - $1"; }
not_ok () { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }

# rejects NAME PATTERN ARGS...: non-zero exit (not a signal, not the deadline), one error line matching
# PATTERN (the last stderr line; a training run prints its banner first), nothing on stdout. The deadline
# only guards against a hang (a FIFO read): 60 s x factor.
rejects () {
  local name=$1 pattern=$2 rc lines first
  shift 2
  timeout $((60 * factor)) ${GAF_CLI_WRAPPER:-} "$cli" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
  rc=$?
  lines=$(grep -c "error" "$tmp/err")
  first=$(tail -n 1 "$tmp/err")
  if { [ "$rc" -eq 1 ] || [ "$rc" -eq 2 ]; } && [ "$lines" -eq 1 ] && [[ $first == "gaflow-cli: error: "* ]] &&
     [[ $first =~ $pattern ]] && [ ! -s "$tmp/out" ]; then
    ok "rejects $name"
  else
    not_ok "rejects $name" "exit $rc, $lines stderr lines:" "$(head -c 600 "$tmp/err")" "stdout: $(head -c 300 "$tmp/out")"
  fi
}

tiny=(--model toy-cnn:hidden=8 --batch 4 --threads 1)
mkdir "$tmp/big" "$tmp/bomb" "$tmp/fifo-maps"
cp "$corpus/pgm/seed-value-65535.pgm" "$tmp/big/a.pgm"
cp "$corpus/png/issue14-bomb-8192.png" "$tmp/bomb/a.png"
mkfifo "$tmp/fifo.csv" "$tmp/fifo.txt" "$tmp/fifo.ck" "$tmp/fifo-maps/a.pgm" "$tmp/fifo.safetensors"

echo "1..18"

# 1. unbounded allocation from a tiny input
rejects "a 16-bit pixel value as an inferred class count" "pixel value 65535 in .*a.pgm.*at most 256 classes" \
  train --data folder:"$tmp/big" "${tiny[@]}" --steps 2 --checkpoint "$tmp/a.ck"
# (an explicit limit of 4 GiB, so the answer does not depend on the machine: the first needs about 6.6 GB,
# mostly the activations of a tile of 256 sequences of 64 x 65,536 values; the second about 20 GB)
rejects "65,536 classes for the toy CNN beyond the memory limit" "needs .* more than the memory limit .*--max-memory" \
  --max-memory 4G train --data folder:"$tmp/big",classes=65536 --model toy-cnn --steps 2 --checkpoint "$tmp/a.ck"
rejects "text of length 4096 with 256 characters" "toy CNN for 4096 positions of 256 classes .*memory limit" \
  --max-memory 4G train --data text:"$corpus/text/issue14-4096x256.txt",length=4096 --steps 2
rejects "a model above --max-memory" "more than the memory limit of 1.00 MiB" \
  --max-memory 1M train --data scenes:classes=3,size=8 --model toy-cnn:hidden=64 --steps 2 --checkpoint "$tmp/a.ck"
rejects "--max-memory that is not a size" "--max-memory 'lots' is not a size" \
  train --max-memory lots --data scenes:classes=3,size=8 "${tiny[@]}" --steps 2 --checkpoint "$tmp/a.ck"
# 2. a finite but huge option
rejects "unet time_scale=1e308" "time_scale 1e\+308: from 1e-06 to 10000" \
  train --data scenes:classes=3,size=8 --model unet:time_scale=1e308 --steps 2 --checkpoint "$tmp/a.ck"
# 4. FIFOs and devices
rejects "a FIFO as a joint table" "FIFO" train --data table:"$tmp/fifo.csv" --steps 2
rejects "a FIFO as a text file" "FIFO" train --data text:"$tmp/fifo.txt",length=4 --steps 2
rejects "a FIFO as a label map" "FIFO" train --data folder:"$tmp/fifo-maps" "${tiny[@]}" --steps 2 --checkpoint "$tmp/a.ck"
rejects "a FIFO as a checkpoint" "FIFO" sample --checkpoint "$tmp/fifo.ck" --out "$tmp/grid.png"
rejects "a FIFO as a safetensors file" "FIFO" import "$tmp/fifo.safetensors" --out "$tmp/a.gafck"
# a toy CNN of hidden_dim 1600 from safetensors: 800 Fourier frequencies, the configuration holds 512
# (--max-memory: the network passes the budget on any machine, so the import gets to the frequencies)
rejects "a toy CNN with 800 Fourier frequencies" "holds 800 Fourier frequencies.*at most 512" \
  --max-memory 1T import "$corpus/safetensors/issue14-toy-cnn-800-freqs.safetensors" --out "$tmp/a.gafck"
rejects "/dev/zero as a joint table" "character device" train --data table:/dev/zero --steps 2
# 5. a PNG decompression bomb: refused on its header
rejects "an 8192 x 8192 PNG bomb" "8192 x 8192" train --data folder:"$tmp/bomb" "${tiny[@]}" --steps 2 --checkpoint "$tmp/a.ck"
# 7. divergence: non-zero exit, a message naming the step and the learning rate, nothing saved
rejects "a diverging image run (--lr 10)" "training diverged at step [0-9]+: .*lower learning rate" \
  train --data scenes:classes=3,size=8 "${tiny[@]}" --lr 10 --steps 40 --checkpoint "$tmp/div.ck"
if [ ! -e "$tmp/div.ck" ]; then ok "a diverged run saves no checkpoint"; else not_ok "a diverged run saves no checkpoint"; fi
rejects "a diverging joint run (--lr 10)" "training diverged at step [0-9]+" \
  train --data coupled-binary --model toy-cnn --hidden 16 --lr 10 --steps 200 --threads 1 --samples 100
# 8. a read-only filesystem is "Read-only file system", not "Permission denied" (needs a user namespace)
if unshare -rm true 2>/dev/null; then
  mkdir "$tmp/ro"
  unshare -rm sh -c 'mount -t tmpfs -o ro none "$1" && exec "$2" train --data scenes:classes=3,size=8 --model toy-cnn:hidden=8 --steps 2 --checkpoint "$1/a.ck"' \
    sh "$tmp/ro" "$cli" >"$tmp/out" 2>"$tmp/err"
  if grep -q "Read-only file system" "$tmp/err"; then ok "a read-only filesystem is named"; else not_ok "a read-only filesystem is named" "$(cat "$tmp/err")"; fi
else
  ok "a read-only filesystem is named # SKIP no user namespaces"
fi
[ "$failed" -eq 0 ]
