#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# gaflow-cli sweep with several methods and a plot, as TAP: bad --method and --plot values are rejected
# with one error line before any work; a tiny six-method sweep keeps the documented CSV columns (one row
# per method and class count), states each method's decoding rule and network evaluations in the table (all
# equal with --evals), and writes SVG and PNG
# plots of the expected size (--plot given twice); `plot` draws the figure again from the CSV.
# Usage: test-cli-sweep.sh PATH/TO/gaflow-cli

set -u
cli=${1:?usage: test-cli-sweep.sh PATH/TO/gaflow-cli}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

n=0
failed=0
ok () { n=$((n + 1)); echo "ok $n - $1"; }
not_ok () { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }

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
    not_ok "rejects $name" "exit $rc, $lines stderr lines:" "$(cat "$tmp/err")"
  fi
}

echo "1..17"
rejects "--method foo" sweep --method foo
rejects "--head foo" sweep --head foo
rejects "--method gaf,gaf" sweep --method gaf,gaf
rejects "--method ''" sweep --method ""
rejects "--evals 0" sweep --evals 0
rejects "--evals 6 with RK4 (4 evaluations a step)" sweep --evals 6 --integrator rk4
rejects "--kappa foo" sweep --kappa foo
rejects "--plot with an unknown extension" sweep --classes 3 --steps 1 --samples 1 --plot "$tmp/plot.pdf"
rejects "--plot in a missing folder" sweep --classes 3 --steps 1 --samples 1 --plot /nonexistent-dir/plot.svg
if [ -z "$(ls -A "$tmp" | grep -v '^out$\|^err$')" ]; then
  ok "rejected runs write nothing"
else
  not_ok "rejected runs write nothing" "$(ls -A "$tmp")"
fi

"$cli" sweep --method gaf,dirichlet,linear,sphere,masked,uniform --classes 3 --steps 5 --samples 200 --evals 4 \
  --csv "$tmp/out.csv" --plot "$tmp/plot.svg" --plot "$tmp/plot.png" >"$tmp/out" 2>"$tmp/err" </dev/null
rc=$?
if [ "$rc" -eq 0 ]; then
  ok "six-method sweep exits 0"
else
  not_ok "six-method sweep exits 0" "exit $rc" "$(cat "$tmp/err")"
fi

header="method,classes,steps,samples,kl,kl_uniform,kl_floor,train_seconds,sample_seconds"
bad=""
[ "$(head -n 1 "$tmp/out.csv" 2>/dev/null)" = "$header" ] || bad="header: $(head -n 1 "$tmp/out.csv" 2>/dev/null)"
methods=$(awk -F, 'NR > 1 && NF == 9 && $2 == 3 && $5 + 0 >= 0 { printf "%s ", $1 }' "$tmp/out.csv" 2>/dev/null)
[ "$methods" = "gaf dirichlet linear sphere masked uniform " ] || bad="$bad rows: '$methods'"
if [ -z "$bad" ]; then
  ok "CSV keeps its columns, one row per method in the order given"
else
  not_ok "CSV keeps its columns, one row per method in the order given" "$bad" "$(cat "$tmp/out.csv" 2>/dev/null)"
fi

if grep -q "^decoding (network evaluations per sample):" "$tmp/out" &&
   grep -q "^  dirichlet  *4  .*last predicted class probabilities" "$tmp/out" &&
   [ "$(grep -c "^  \(gaf\|dirichlet\|linear\|sphere\)  *4  .*argmax" "$tmp/out")" -eq 4 ] &&
   [ "$(grep -c "^  \(masked\|uniform\)  *4  .*final state of the jump process" "$tmp/out")" -eq 2 ]; then
  ok "the table states each method's decoding rule and its network evaluations (4 for every method)"
else
  not_ok "the table states each method's decoding rule and its network evaluations (4 for every method)" "$(cat "$tmp/out")"
fi

if head -c 5 "$tmp/plot.svg" 2>/dev/null | grep -q "<?xml" && grep -q '<svg[^>]*width="960px" height="640px"' "$tmp/plot.svg"; then
  ok "--plot FILE.svg writes a 960 x 640 SVG"
else
  not_ok "--plot FILE.svg writes a 960 x 640 SVG" "$(head -c 300 "$tmp/plot.svg" 2>/dev/null)"
fi

# PNG signature, then the IHDR chunk: width and height as big-endian 32-bit integers at bytes 16..23
sig=$(od -An -tx1 -N8 "$tmp/plot.png" 2>/dev/null | tr -d ' \n')
size=$(od -An -tu1 -j16 -N8 "$tmp/plot.png" 2>/dev/null | awk '{ print $1*16777216 + $2*65536 + $3*256 + $4 "x" $5*16777216 + $6*65536 + $7*256 + $8 }')
if [ "$sig" = "89504e470d0a1a0a" ] && [ "$size" = "960x640" ]; then
  ok "--plot FILE.png writes a 960 x 640 PNG"
else
  not_ok "--plot FILE.png writes a 960 x 640 PNG" "signature $sig, size $size" "$(cat "$tmp/err")"
fi

# `plot` draws the same figure again from the CSV; a file that is not a sweep CSV is one error line.
"$cli" plot --csv "$tmp/out.csv" --plot "$tmp/again.png" --width 700 --height 500 >"$tmp/out" 2>"$tmp/err" </dev/null
rc=$?
size=$(od -An -tu1 -j16 -N8 "$tmp/again.png" 2>/dev/null | awk '{ print $1*16777216 + $2*65536 + $3*256 + $4 "x" $5*16777216 + $6*65536 + $7*256 + $8 }')
if [ "$rc" -eq 0 ] && [ "$size" = "700x500" ] && [ ! -s "$tmp/err" ]; then
  ok "plot --csv draws the sweep's figure again"
else
  not_ok "plot --csv draws the sweep's figure again" "exit $rc, size $size" "$(cat "$tmp/err")"
fi
printf 'method,classes\ngaf,5\n' >"$tmp/bad.csv"
rejects "plot --csv with a file that is not a sweep CSV" plot --csv "$tmp/bad.csv" --plot "$tmp/bad.svg"

[ "$n" -eq 17 ] || echo "# planned 17 tests, ran $n"
[ "$failed" -eq 0 ]
