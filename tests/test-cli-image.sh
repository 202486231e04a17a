#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The command-line contract of gaflow-cli train / sample on image label maps, as TAP: tiny toy-CNN runs on
# procedural scenes and on a folder of PGM label maps write checkpoints; a resumed run (after a normal end
# and after SIGINT) continues the loss trace exactly as an uninterrupted run; sample writes a grid PNG of
# the promised size, soft frames, label maps and the statistics table; every mistake is rejected with one
# "gaflow-cli: error:" line, a non-zero exit and nothing on stdout.
# Usage: test-cli-image.sh PATH/TO/gaflow-cli

set -u
cli=${1:?usage: test-cli-image.sh PATH/TO/gaflow-cli}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

n=0
failed=0
ok () { n=$((n + 1)); echo "ok $n - $1"; }
not_ok () { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
check () { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name" "$(cat "$tmp/err" 2>/dev/null)"; fi; }

rejects () {
  local name=$1 rc lines first
  shift
  "$cli" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
  rc=$?
  lines=$(wc -l <"$tmp/err")
  first=$(head -n 1 "$tmp/err")
  if [ "$rc" -ne 0 ] && [ "$rc" -lt 128 ] && [ "$lines" -eq 1 ] && [[ $first == "gaflow-cli: error: "?* ]] &&
     [ ! -s "$tmp/out" ]; then
    ok "rejects $name"
  else
    not_ok "rejects $name" "exit $rc, $lines stderr lines:" "$(cat "$tmp/err")" "stdout: $(head -c 300 "$tmp/out")"
  fi
}

run () { "$cli" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null; }

# width and height of a PNG from its IHDR (bytes 16..23, big-endian)
png_size () {
  [ "$(head -c 8 "$1" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || { echo "not-png"; return; }
  od -An -tu1 -j16 -N8 "$1" | awk '{ printf "%dx%d\n", (($1 * 256 + $2) * 256 + $3) * 256 + $4, (($5 * 256 + $6) * 256 + $7) * 256 + $8 }'
}

scenes=scenes:classes=3,size=8
tiny=(--model toy-cnn:hidden=8 --batch 4 --threads 1)
fast=(--step-size 2 --t-end 4 --threads 1)
out=$tmp/out.d
mkdir "$out" "$tmp/dir"

# A folder of 6 label maps, 8 x 8, classes 0..3: bands whose position depends on the map.
mkdir "$tmp/maps"
for k in 0 1 2 3 4 5; do
  { printf 'P5\n8 8\n3\n'
    for y in 0 1 2 3 4 5 6 7; do
      for x in 0 1 2 3 4 5 6 7; do printf "\\$(printf %03o $(( (x + y + k) / 4 % 4 )))"; done
    done; } >"$tmp/maps/m$k.pgm"
done

echo "1..58"

# ---- train: mistakes --------------------------------------------------------------------------------
rejects "a bad data spec" train --data scenes:classes=1,size=8 "${tiny[@]}" --steps 2 --checkpoint "$out/a.ck"
rejects "an unknown data key" train --data scenes:colour=3 "${tiny[@]}" --steps 2 --checkpoint "$out/a.ck"
rejects "a missing folder" train --data folder:"$tmp/nope" "${tiny[@]}" --steps 2 --checkpoint "$out/a.ck"
rejects "an unknown model key" train --data $scenes --model toy-cnn:depth=3 --steps 2 --checkpoint "$out/a.ck"
rejects "a model key the data sets" train --data $scenes --model toy-cnn:classes=4 --steps 2 --checkpoint "$out/a.ck"
rejects "an unknown network" train --data $scenes --model resnet --steps 2 --checkpoint "$out/a.ck"
rejects "train without --checkpoint" train --data $scenes "${tiny[@]}" --steps 2
rejects "a UNet (the default) whose levels do not divide the size" train --data scenes:classes=3,size=12 --steps 2 \
  --checkpoint "$out/a.ck"
rejects "a UNet key the data sets" train --data $scenes --model unet:size=16 --steps 2 --checkpoint "$out/a.ck"
rejects "--steps 0" train --data $scenes "${tiny[@]}" --steps 0 --checkpoint "$out/a.ck"
rejects "a checkpoint in a missing folder" train --data $scenes "${tiny[@]}" --steps 2 --checkpoint /nonexistent-dir/a.ck
rejects "--resume of a missing checkpoint" train --resume --checkpoint "$out/missing.ck"
check "rejected training runs write nothing" [ -z "$(ls -A "$out")" ]

# ---- train on scenes ----------------------------------------------------------------------------------
run train --data $scenes "${tiny[@]}" --steps 6 --checkpoint-every 2 --checkpoint "$tmp/full.ck" --loss-log "$tmp/full.log"
rc=$?
if [ "$rc" -eq 0 ] && [ -s "$tmp/full.ck" ] && [ "$(head -c 8 "$tmp/full.ck")" = "GAFLOWCK" ] &&
   grep -q "^trained to step 6 " "$tmp/out" && [ "$(wc -l <"$tmp/full.log")" -eq 6 ] &&
   ! grep -qvE '^[1-6]	[0-9]+(\.[0-9]+)?(e[-+][0-9]+)?$' "$tmp/full.log"; then
  ok "train writes the checkpoint and one loss line per step"
else
  not_ok "train writes the checkpoint and one loss line per step" "exit $rc" "$(cat "$tmp/err")" "$(cat "$tmp/full.log")"
fi
rejects "train over an existing checkpoint without --resume" train --data $scenes "${tiny[@]}" --steps 2 --checkpoint "$tmp/full.ck"

# 3 steps, then --resume to 6 (data and model from the file): steps 4 to 6 alone, with the same losses, bit
# for bit; the resumed run keeps --checkpoint-every from the file (issue 14: it fell back to 1000)
run train --data $scenes "${tiny[@]}" --steps 3 --checkpoint-every 2 --checkpoint "$tmp/part.ck" --loss-log "$tmp/part.log" &&
  run train --resume --steps 6 --threads 1 --checkpoint "$tmp/part.ck" --loss-log "$tmp/part2.log"
rc=$?
if [ "$rc" -eq 0 ] && [ "$(cut -f 1 "$tmp/part2.log" | tr '\n' ' ')" = "4 5 6 " ] &&
   grep -q "^train: resuming .*part.ck at step 3 of 6$" "$tmp/err" && grep -q "checkpoint every 2 steps" "$tmp/err" &&
   [ "$(cat "$tmp/part.log" "$tmp/part2.log")" = "$(cat "$tmp/full.log")" ]; then
  ok "a resumed run continues the loss trace exactly"
else
  not_ok "a resumed run continues the loss trace exactly" "exit $rc" "$(cat "$tmp/err")" \
    "$(paste "$tmp/full.log" "$tmp/part.log" "$tmp/part2.log" 2>&1)"
fi
if cmp -s "$tmp/full.ck" "$tmp/part.ck"; then
  ok "the resumed checkpoint equals the uninterrupted one byte for byte"
else
  not_ok "the resumed checkpoint equals the uninterrupted one byte for byte" "$(ls -l "$tmp"/*.ck)"
fi
run train --resume --checkpoint "$tmp/part.ck" "${tiny[@]}" --data $scenes
rc=$?
check "--resume of a finished run has nothing to train" [ "$rc" -eq 0 -a -n "$(grep 'nothing to train' "$tmp/out")" ]
rejects "--resume with another model" train --resume --checkpoint "$tmp/part.ck" --model toy-cnn:hidden=16 --steps 8
rejects "--resume with other data" train --resume --checkpoint "$tmp/part.ck" --data scenes:classes=4,size=8 --steps 8
rejects "--resume with another learning rate" train --resume --checkpoint "$tmp/part.ck" --lr 1e-3 --steps 8
head -c 700 "$tmp/full.ck" >"$tmp/truncated.ck"
rejects "--resume of a truncated checkpoint" train --resume --checkpoint "$tmp/truncated.ck" --steps 8

# SIGINT: the run saves its step and exits 130; resumed, its cosine schedule ends as an uninterrupted run's
steps=400
"$cli" train --data $scenes "${tiny[@]}" --schedule cosine --steps $steps --checkpoint "$tmp/int.ck" \
  --loss-log "$tmp/int.log" >"$tmp/int.out" 2>"$tmp/int.err" </dev/null &
pid=$!
for _ in $(seq 400); do
  [ "$(wc -l 2>/dev/null <"$tmp/int.log" || echo 0)" -ge 3 ] && break
  sleep 0.02
done
kill -INT $pid
wait $pid
rc=$?
done_steps=$(wc -l <"$tmp/int.log")
if [ "$rc" -eq 130 ] && grep -q "^gaflow-cli: interrupted at step $done_steps of $steps; checkpoint saved" "$tmp/int.err" &&
   [ "$done_steps" -lt "$steps" ]; then
  ok "SIGINT saves a checkpoint at the current step ($done_steps) and exits 130"
else
  not_ok "SIGINT saves a checkpoint at the current step and exits 130" "exit $rc, $done_steps steps" "$(cat "$tmp/int.err")"
fi
run train --resume --threads 1 --checkpoint "$tmp/int.ck" --loss-log "$tmp/int.log" && cp "$tmp/err" "$tmp/resume.err" &&
  run train --data $scenes "${tiny[@]}" --schedule cosine --steps $steps --checkpoint "$tmp/cos.ck" --loss-log "$tmp/cos.log"
rc=$?
resumed_at=$(sed -n 's/^train: resuming .* at step \([0-9]*\) of [0-9]*$/\1/p' "$tmp/resume.err" 2>/dev/null)
if [ "$rc" -eq 0 ] && [ "$(wc -l <"$tmp/cos.log")" -eq $steps ] && cmp -s "$tmp/int.log" "$tmp/cos.log" &&
   [ "$resumed_at" = "$done_steps" ]; then
  ok "after SIGINT, --resume finishes the cosine schedule with the uninterrupted losses"
else
  not_ok "after SIGINT, --resume finishes the cosine schedule with the uninterrupted losses" "exit $rc" \
    "$(cat "$tmp/err")" "$(diff "$tmp/int.log" "$tmp/cos.log" | head -n 6)"
fi

# the UNet: 2 steps and --resume to 4 give the losses and the checkpoint of 4 steps
unet=(--model unet:channels=8,mult=1,2,blocks=1 --batch 4 --threads 1)
run train --data $scenes "${unet[@]}" --steps 4 --checkpoint "$tmp/u4.ck" --loss-log "$tmp/u4.log" &&
  run train --data $scenes "${unet[@]}" --steps 2 --checkpoint "$tmp/u2.ck" --loss-log "$tmp/u2.log" &&
  run train --resume --steps 4 --threads 1 --checkpoint "$tmp/u2.ck" --loss-log "$tmp/u2.log"
rc=$?
if [ "$rc" -eq 0 ] && [ "$(wc -l <"$tmp/u4.log")" -eq 4 ] && cmp -s "$tmp/u4.log" "$tmp/u2.log" &&
   cmp -s "$tmp/u4.ck" "$tmp/u2.ck" && grep -q "^kind=unet$" "$tmp/u4.ck"; then
  ok "a resumed UNet run continues its losses and checkpoint exactly"
else
  not_ok "a resumed UNet run continues its losses and checkpoint exactly" "exit $rc" "$(cat "$tmp/err")" \
    "$(paste "$tmp/u4.log" "$tmp/u2.log" 2>&1)"
fi
run sample --checkpoint "$tmp/u4.ck" --count 2 --out "$tmp/u.png" "${fast[@]}"
check "sample a UNet checkpoint (a grid of 2 maps: 70 x 36)" [ "$(png_size "$tmp/u.png")" = "70x36" ]
# bf16 products where the CPU has AVX-512 BF16 (the flags of /proc/cpuinfo), else one clear error
if grep -qw avx512_bf16 /proc/cpuinfo 2>/dev/null; then
  run sample --checkpoint "$tmp/u4.ck" --count 2 --out "$tmp/u16.png" --precision bf16 "${fast[@]}"
  check "sample a UNet checkpoint with --precision bf16" [ "$(png_size "$tmp/u16.png")" = "70x36" ]
else
  rejects "--precision bf16 on a CPU without AVX-512 BF16" sample --checkpoint "$tmp/u4.ck" --count 2 \
    --out "$out/g.png" --precision bf16 "${fast[@]}"
fi

# ---- train on a folder of label maps ----------------------------------------------------------------
run train --data folder:"$tmp/maps" "${tiny[@]}" --steps 3 --ema 0 --checkpoint "$tmp/folder.ck"
rc=$?
if [ "$rc" -eq 0 ] && grep -q "^trained to step 3 " "$tmp/out" && grep -q "6 label maps of 8 x 8 pixels" "$tmp/err"; then
  ok "train on a folder of PGM label maps"
else
  not_ok "train on a folder of PGM label maps" "exit $rc" "$(cat "$tmp/err")"
fi

# ---- sample: mistakes ---------------------------------------------------------------------------------
printf 'not a checkpoint at all, just some text\n' >"$tmp/garbage.ck"
rejects "sample of a missing checkpoint" sample --checkpoint "$tmp/missing.ck" --out "$out/g.png"
rejects "sample of a file that is not a checkpoint" sample --checkpoint "$tmp/garbage.ck" --out "$out/g.png"
rejects "sample of a truncated checkpoint" sample --checkpoint "$tmp/truncated.ck" --out "$out/g.png"
rejects "--count 0" sample --checkpoint "$tmp/full.ck" --count 0 --out "$out/g.png"
rejects "--precision of an unknown name" sample --checkpoint "$tmp/full.ck" --precision half --out "$out/g.png"
rejects "--precision bf16 of a toy CNN (no bf16 path)" sample --checkpoint "$tmp/full.ck" --precision bf16 \
  --out "$out/g.png"
rejects "--out in a missing folder" sample --checkpoint "$tmp/full.ck" --out /nonexistent-dir/g.png
rejects "--out that is a folder" sample --checkpoint "$tmp/full.ck" --out "$tmp/dir"
rejects "--frames in a missing folder" sample --checkpoint "$tmp/full.ck" --frames /nonexistent-dir/frames
rejects "sample with nothing to do" sample --checkpoint "$tmp/full.ck"
rejects "--held-out maps of another size" sample --checkpoint "$tmp/full.ck" --stats 10 --held-out scenes:classes=3,size=16
rejects "--stats of folder data without --held-out" sample --checkpoint "$tmp/folder.ck" --stats 10
rejects "--ema of a checkpoint without averaged weights" sample --checkpoint "$tmp/folder.ck" --ema --out "$out/g.png"
# a valid checkpoint whose configuration has no [data] group (not written by the image `train`)
if command -v python3 >/dev/null; then
  python3 - "$tmp/full.ck" "$tmp/nodata.ck" <<'EOF'
import hashlib, re, struct, sys
d = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', d[28:36])[0]            # CONF is the first section: tag at 24, length at 28
conf = re.sub(r'\[data\][^\[]*', '', d[36:36 + n].decode()).encode()
body = d[:28] + struct.pack('<Q', len(conf)) + conf + d[36 + n:-32]
body = body[:16] + struct.pack('<Q', len(body) + 32) + body[24:]
open(sys.argv[2], 'wb').write(body + hashlib.sha256(body).digest())
EOF
  rejects "sample of a checkpoint of a non-image model" sample --checkpoint "$tmp/nodata.ck" --out "$out/g.png"
else
  ok "sample of a checkpoint of a non-image model # SKIP no python3"
fi
check "rejected sample runs write nothing" [ -z "$(ls -A "$out")" ]

# ---- sample: grid, frames, label maps, statistics ----------------------------------------------------------
run sample --checkpoint "$tmp/full.ck" --count 10 --out "$tmp/g.png" --frames "$tmp/frames" --frame-count 3 \
  --labels "$tmp/labels" "${fast[@]}"
rc=$?
# 10 maps: 4 columns, 3 rows of 8 x 8 pixels scaled by 4 with gutters of 2: 2 + 4 (32 + 2) by 2 + 3 (32 + 2)
size=$(png_size "$tmp/g.png")
if [ "$rc" -eq 0 ] && [ "$size" = "138x104" ]; then
  ok "sample writes the grid PNG (138 x 104 for 10 maps of 8 x 8)"
else
  not_ok "sample writes the grid PNG (138 x 104 for 10 maps of 8 x 8)" "exit $rc, size $size" "$(cat "$tmp/err")"
fi
# h = 2, T = 4: two steps, frames at t = 0, 2, 4
if [ "$(ls "$tmp/frames" 2>/dev/null | tr '\n' ' ')" = "0000.png 0001.png 0002.png " ] &&
   [ "$(png_size "$tmp/frames/0000.png")" = "138x104" ] && [ "$(png_size "$tmp/frames/0002.png")" = "138x104" ] &&
   ! cmp -s "$tmp/frames/0000.png" "$tmp/frames/0002.png"; then
  ok "--frames writes 0000.png to 0002.png, from noise to labels"
else
  not_ok "--frames writes 0000.png to 0002.png, from noise to labels" "$(ls -l "$tmp/frames" 2>&1)"
fi
if [ "$(ls "$tmp/labels" | wc -l)" -eq 10 ] && [ "$(head -c 9 "$tmp/labels/0009.pgm" | tr '\n' ' ')" = "P5 8 8 2 " ]; then
  ok "--labels writes 10 PGM label maps"
else
  not_ok "--labels writes 10 PGM label maps" "$(ls "$tmp/labels" 2>&1)" "$(head -c 9 "$tmp/labels/0009.pgm" 2>&1)"
fi
run sample --checkpoint "$tmp/full.ck" --count 10 --out "$tmp/g2.png" "${fast[@]}"
check "the same seed draws the same grid" cmp -s "$tmp/g.png" "$tmp/g2.png"
run sample --checkpoint "$tmp/full.ck" --count 10 --out "$tmp/g3.png" --seed 2 "${fast[@]}"
check "another seed draws another grid" test -s "$tmp/g3.png" -a -n "$(cmp "$tmp/g.png" "$tmp/g3.png" 2>&1)"

run sample --checkpoint "$tmp/full.ck" --stats 50 --csv "$tmp/s.csv" "${fast[@]}"
rc=$?
num='[0-9]+\.[0-9]+'
if [ "$rc" -eq 0 ] && grep -qE "^generated +50 +$num +$num +$num$" "$tmp/out" &&
   grep -qE "^held-out +50 +- +$num +$num$" "$tmp/out" &&
   grep -qE "^independent pixels +50 +$num +$num +$num$" "$tmp/out" &&
   grep -qE "^train \(floor\) +50 +$num +$num +$num$" "$tmp/out" &&
   grep -q "against 50 held-out maps of scenes:classes=3,size=8,count=50,seed=1,split=test" "$tmp/out"; then
  ok "--stats prints generated, held-out, independent-pixel and train rows"
else
  not_ok "--stats prints generated, held-out, independent-pixel and train rows" "exit $rc" "$(cat "$tmp/err")" \
    "$(cat "$tmp/out")"
fi
if [ "$(head -n 1 "$tmp/s.csv" 2>/dev/null)" = "data,held_out,model,maps,marginal_kl,neighbour_agreement,mean_regions" ] &&
   [ "$(wc -l <"$tmp/s.csv")" -eq 5 ] && grep -q ',held-out,50,,' "$tmp/s.csv"; then
  ok "--csv writes the header and four rows"
else
  not_ok "--csv writes the header and four rows" "$(cat "$tmp/s.csv" 2>&1)"
fi
# independent pixels keep the marginals but lose the coupling: agreement well below the held-out maps'
agree_held=$(awk '$1 == "held-out" { print $4 }' "$tmp/out")
agree_ind=$(awk '$1 == "independent" { print $5 }' "$tmp/out")
check "independent pixels agree less with their neighbours ($agree_ind) than held-out maps ($agree_held)" \
  awk -v a="$agree_ind" -v b="$agree_held" 'BEGIN { exit !(a + 0.05 < b) }'
run sample --checkpoint "$tmp/folder.ck" --count 6 --stats 6 --held-out folder:"$tmp/maps" --out "$tmp/f.png" "${fast[@]}"
rc=$?
check "a folder model samples and compares against a folder" [ "$rc" -eq 0 -a "$(png_size "$tmp/f.png")" = "104x70" \
  -a -n "$(grep -E '^generated +6 ' "$tmp/out")" ]
run sample --checkpoint "$tmp/full.ck" --stats --count 4 --out "$tmp/g4.png" "${fast[@]}"
check "--stats alone draws 1000 maps" grep -qE "^generated +1000 " "$tmp/out"

# The model shipped in data/ (docs/images.md) loads, and its samples are label maps with the coupling of
# the data (an untrained or broken model gives neighbour agreement far below the held-out maps' 0.9).
shipped="${G_TEST_SRCDIR:-$(dirname "$0")}/../data/fashion16.gafck"
run sample --checkpoint "$shipped" --count 4 --out "$tmp/shipped.png" --stats 100 --threads 1
rc=$?
agree=$(awk '$1 == "generated" { print $4 }' "$tmp/out")
if [ "$rc" -eq 0 ] && grep -q 'at step 20000' "$tmp/out" "$tmp/err" &&
   grep -q '16 x 16 maps of 2 classes' "$tmp/out" "$tmp/err" && awk -v a="${agree:-0}" 'BEGIN { exit !(a > 0.85) }'; then
  ok "the shipped model samples 16 x 16 binary maps whose neighbours agree like the data's ($agree)"
else
  not_ok "the shipped model samples 16 x 16 binary maps whose neighbours agree like the data's" "exit $rc" \
    "$(cat "$tmp/err")" "$(cat "$tmp/out")"
fi

# the masked jump flow on label maps: the method in the checkpoint, the mask channel in the UNet's input,
# sampling from the chain's final state, no W(t) frames
run train --data $scenes --model unet:channels=8,mult=1,2,blocks=1,groups=4 --batch 4 --threads 1 --method masked \
  --steps 3 --checkpoint "$tmp/masked.ck"
check "train --method masked writes a checkpoint" [ -s "$tmp/masked.ck" ]
check "the checkpoint records the method and the mask channel" \
  sh -c "head -c 4000 '$tmp/masked.ck' | grep -a -q '^method=masked' && head -c 4000 '$tmp/masked.ck' | grep -a -q '^in_channels=4'"
run sample --checkpoint "$tmp/masked.ck" --count 4 --stats 4 --evals 5 --out "$tmp/m.png" --threads 1
check "sample of a masked model: a grid and statistics, 5 network evaluations" [ "$(png_size "$tmp/m.png")" != "not-png" \
  -a -n "$(grep -E '^generated +4 ' "$tmp/out")" -a -n "$(grep 'masked DFM, 5 network evaluations' "$tmp/err")" ]
rejects "--frames of a masked model" sample --checkpoint "$tmp/masked.ck" --frames "$tmp/mf" --threads 1

[ "$n" -eq 55 ] || echo "# planned 55 tests, ran $n"
[ "$failed" -eq 0 ]
