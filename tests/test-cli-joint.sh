#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The command-line contract of gaflow-cli train / sample / eval on joint distributions, as TAP: every
# mistake is rejected with exactly one "gaflow-cli: error:" line and a non-zero exit, nothing on stdout
# and no file written; tiny runs print the metrics table, write the PNG, CSV and samples they promise,
# and `eval` of the samples `sample` wrote reproduces the numbers `train` printed for the same seed.
# Usage: test-cli-joint.sh PATH/TO/gaflow-cli

set -u
cli=${1:?usage: test-cli-joint.sh PATH/TO/gaflow-cli}
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
    not_ok "rejects $name" "exit $rc, $lines stderr lines:" "$(cat "$tmp/err")" "stdout: $(head -c 300 "$tmp/out")"
  fi
}

mkdir "$tmp/dir"
printf '1,2\n3\n' >"$tmp/ragged.csv"
printf '1,0\n0,-1\n' >"$tmp/negative.csv"
printf '4,1\n1,4\n' >"$tmp/good.csv"
printf 'abc\nabd\nab\nbca\nabcd\ncab\n' >"$tmp/words.txt"
printf '0,1\n1,2\n' >"$tmp/bad-samples.txt"
tiny=(--steps 20 --hidden 16 --samples 500 --step-size 1 --threads 1)

echo "1..33"
rejects "train without --data" train "${tiny[@]}"
rejects "--data foo" train --data foo "${tiny[@]}"
rejects "a missing table" train --data table:"$tmp/missing.csv" "${tiny[@]}"
rejects "a ragged table" train --data table:"$tmp/ragged.csv" "${tiny[@]}"
rejects "a negative weight" train --data table:"$tmp/negative.csv" "${tiny[@]}"
rejects "text without a length" train --data text:"$tmp/words.txt" "${tiny[@]}"
rejects "text with length 0" train --data text:"$tmp/words.txt",length=0 "${tiny[@]}"
rejects "text with no line of the length" train --data text:"$tmp/words.txt",length=7 "${tiny[@]}"
rejects "--plot for text" train --data text:"$tmp/words.txt",length=3 --plot "$tmp/dir/x.png" "${tiny[@]}"
rejects "--plot in a missing folder" train --data coupled-binary --plot /nonexistent-dir/x.png "${tiny[@]}"
rejects "--model foo" train --data coupled-binary --model foo "${tiny[@]}"
rejects "--hidden 1" train --data coupled-binary --steps 1 --hidden 1
rejects "sample without --output" sample --data coupled-binary "${tiny[@]}"
rejects "eval without --input" eval --data coupled-binary
rejects "eval of a file with a class out of range" eval --data coupled-binary --input "$tmp/bad-samples.txt"
if [ -z "$(ls -A "$tmp/dir")" ]; then
  ok "rejected runs write nothing"
else
  not_ok "rejected runs write nothing" "$(ls -A "$tmp/dir")"
fi

# train: exit 0, a table with the GAF row and the reference rows, a PNG and a CSV
"$cli" train --data table:"$tmp/good.csv" "${tiny[@]}" --seed 3 --plot "$tmp/dir/t.png" --csv "$tmp/dir/t.csv" \
  >"$tmp/train.out" 2>"$tmp/train.err" </dev/null
rc=$?
if [ "$rc" -eq 0 ] && grep -q "^gaf  *500 " "$tmp/train.out" && grep -q "^product of marginals  *exact " "$tmp/train.out" &&
   grep -q "^target sampled (floor)  *500 " "$tmp/train.out"; then
  ok "train prints the metrics table"
else
  not_ok "train prints the metrics table" "exit $rc" "$(cat "$tmp/train.err")" "$(cat "$tmp/train.out")"
fi
if [ "$(head -c 8 "$tmp/dir/t.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ]; then
  ok "--plot writes a PNG"
else
  not_ok "--plot writes a PNG" "$(ls -l "$tmp/dir")"
fi
header="data,model,samples,joint_kl,joint_kl_support,outside,marginal_kl,marginal_kl_max,mi,mi_target,p_equal,train_seconds,sample_seconds"
if [ "$(head -n 1 "$tmp/dir/t.csv" 2>/dev/null)" = "$header" ] && [ "$(wc -l <"$tmp/dir/t.csv")" -eq 5 ]; then
  ok "--csv writes the header and four rows"
else
  not_ok "--csv writes the header and four rows" "$(cat "$tmp/dir/t.csv" 2>/dev/null)"
fi

# sample with the same seed draws the same samples; eval of them prints the same joint KL
"$cli" sample --data table:"$tmp/good.csv" "${tiny[@]}" --seed 3 --output "$tmp/dir/s.txt" \
  >"$tmp/sample.out" 2>"$tmp/sample.err" </dev/null
rc=$?
if [ "$rc" -eq 0 ] && [ "$(wc -l <"$tmp/dir/s.txt")" -eq 500 ] && ! grep -qv '^[01],[01]$' "$tmp/dir/s.txt"; then
  ok "sample writes 500 lines of two classes"
else
  not_ok "sample writes 500 lines of two classes" "exit $rc" "$(cat "$tmp/sample.err")" "$(head -n 3 "$tmp/dir/s.txt" 2>/dev/null)"
fi
"$cli" eval --data table:"$tmp/good.csv" --input "$tmp/dir/s.txt" --seed 3 >"$tmp/eval.out" 2>"$tmp/eval.err" </dev/null
rc=$?
kl_train=$(awk '$1 == "gaf" { print $3 }' "$tmp/train.out")
kl_eval=$(awk '$1 == "samples" { print $3 }' "$tmp/eval.out")
if [ "$rc" -eq 0 ] && [ -n "$kl_train" ] && [ "$kl_train" = "$kl_eval" ]; then
  ok "eval of the samples reproduces train's joint KL ($kl_eval)"
else
  not_ok "eval of the samples reproduces train's joint KL" "exit $rc, train '$kl_train', eval '$kl_eval'" \
    "$(cat "$tmp/eval.err")"
fi

# text: the skipped lines give one warning; the samples are words of the file's alphabet
"$cli" sample --data text:"$tmp/words.txt",length=3 --model mlp "${tiny[@]}" --output "$tmp/dir/w.txt" \
  >"$tmp/text.out" 2>"$tmp/text.err" </dev/null
rc=$?
if [ "$rc" -eq 0 ] && grep -q "^gaflow-cli: warning: .*skipped 2 of 6 lines (2 of another length than 3" "$tmp/text.err"; then
  ok "text data: skipped lines are counted in a warning"
else
  not_ok "text data: skipped lines are counted in a warning" "exit $rc" "$(cat "$tmp/text.err")"
fi
if [ "$(wc -l <"$tmp/dir/w.txt" 2>/dev/null)" -eq 500 ] && ! grep -qv '^[abcd]\{3\}$' "$tmp/dir/w.txt"; then
  ok "text samples are words of length 3 over the file's alphabet"
else
  not_ok "text samples are words of length 3 over the file's alphabet" "$(head -n 3 "$tmp/dir/w.txt" 2>/dev/null)"
fi
# the toy CNN on text, evaluated: a finite marginal KL and a row per reference
"$cli" train --data text:"$tmp/words.txt" --length 3 --model toy-cnn --steps 5 --hidden 8 --samples 200 --step-size 3 \
  --threads 1 >"$tmp/cnn.out" 2>"$tmp/cnn.err" </dev/null
rc=$?
if [ "$rc" -eq 0 ] && grep -q "^gaf  *200 " "$tmp/cnn.out" && grep -q "^product of marginals  *200 " "$tmp/cnn.out"; then
  ok "train --model toy-cnn on text"
else
  not_ok "train --model toy-cnn on text" "exit $rc" "$(cat "$tmp/cnn.err")" "$(cat "$tmp/cnn.out")"
fi

# the jump flows on the same commands: a row named after the method, samples without a mask
rejects "--method foo" train --data coupled-binary --method foo "${tiny[@]}"
rejects "--evals for GAF" train --data coupled-binary --evals 4 "${tiny[@]}"
for m in masked uniform; do
  "$cli" sample --data text:"$tmp/words.txt",length=3 --model mlp --method $m --evals 3 "${tiny[@]}" \
    --output "$tmp/dir/$m.txt" --csv "$tmp/dir/$m.csv" >"$tmp/$m.out" 2>"$tmp/$m.err" </dev/null
  rc=$?
  if [ "$rc" -eq 0 ] && grep -q "^text:.*,$m,500," "$tmp/dir/$m.csv" && grep -q "$m DFM, 3 network evaluations" "$tmp/$m.err" &&
     [ "$(wc -l <"$tmp/dir/$m.txt")" -eq 500 ] && ! grep -qv '^[abcd]\{3\}$' "$tmp/dir/$m.txt"; then
    ok "sample --method $m writes 500 words over the alphabet, 3 network evaluations"
  else
    not_ok "sample --method $m writes 500 words over the alphabet, 3 network evaluations" "exit $rc" \
      "$(cat "$tmp/$m.err")" "$(cat "$tmp/dir/$m.csv" 2>/dev/null)"
  fi
done

# --checkpoint: the trained model for the app, export and field; the data's spec in it reads the same data back
"$cli" train --data coupled-binary --model dense:hidden=8,8 --steps 20 --samples 500 --step-size 1 --threads 1 --checkpoint "$tmp/dir/pair.gafck" \
  >"$tmp/ck.out" 2>"$tmp/ck.err" </dev/null
rc=$?
"$cli" export --checkpoint "$tmp/dir/pair.gafck" --out "$tmp/dir/pair.safetensors" >"$tmp/ex.out" 2>"$tmp/ex.err" </dev/null
rc2=$?
if [ "$rc" -eq 0 ] && [ "$rc2" -eq 0 ] && grep -q "^spec=coupled-binary$" "$tmp/dir/pair.gafck" &&
   grep -q "^kind=dense$" "$tmp/dir/pair.gafck" &&
   grep -q "layers.0.0.running_mean" "$tmp/dir/pair.safetensors" && grep -q "spec=coupled-binary" "$tmp/dir/pair.safetensors"; then
  ok "train --checkpoint writes the DenseNet with its data (coupled-binary), and export takes it"
else
  not_ok "train --checkpoint writes the DenseNet with its data (coupled-binary), and export takes it" "exits $rc $rc2" \
    "$(cat "$tmp/ck.err" "$tmp/ex.err")" "$(grep -a '^[a-z_]*=' "$tmp/dir/pair.gafck" | head -20)"
fi
"$cli" train --data text:"$tmp/words.txt" --length 3 --alphabet abcd --model mlp "${tiny[@]}" \
  --checkpoint "$tmp/dir/words.gafck" >/dev/null 2>"$tmp/ck.err" </dev/null
rc=$?
if [ "$rc" -eq 0 ] && grep -q "^spec=text:$tmp/words.txt,length=3,alphabet=abcd$" "$tmp/dir/words.gafck"; then
  ok "train --checkpoint records --length and --alphabet in the data's spec"
else
  not_ok "train --checkpoint records --length and --alphabet in the data's spec" "exit $rc" "$(cat "$tmp/ck.err")" \
    "$(grep -a '^spec=' "$tmp/dir/words.gafck")"
fi
rejects "sample --checkpoint" sample --data coupled-binary "${tiny[@]}" --output "$tmp/dir/s.txt" --checkpoint "$tmp/dir/s.gafck"
rejects "--checkpoint in a missing folder" train --data coupled-binary "${tiny[@]}" --checkpoint /nonexistent-dir/x.gafck
rejects "pinwheel:bins=1" train --data pinwheel:bins=1 "${tiny[@]}"

[ "$n" -eq 33 ] || echo "# planned 33 tests, ran $n"
[ "$failed" -eq 0 ]
