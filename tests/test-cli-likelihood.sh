#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The command-line contract of gaflow-cli likelihood, as TAP, on tiny trained checkpoints (a toy CNN on
# 4 x 4 scene maps with 2 classes, D = n (c - 1) = 16, and 3 classes on 6 x 6, D = 72): finite bits/dim
# with a standard error, one line and one CSV row per map, the same numbers again for the same seed,
# an ROC AUC in [0, 1] against pixel-shuffled maps, a PNG and an SVG histogram, the divergence chosen by
# D, and every mistake rejected with exactly one "gaflow-cli: error:" line, exit status 2, nothing on
# stdout and no file written.
# Usage: test-cli-likelihood.sh PATH/TO/gaflow-cli PATH/TO/make-tiny-checkpoint

set -u
cli=${1:?usage: test-cli-likelihood.sh PATH/TO/gaflow-cli PATH/TO/make-tiny-checkpoint}
make_ckpt=${2:?usage: test-cli-likelihood.sh PATH/TO/gaflow-cli PATH/TO/make-tiny-checkpoint}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

n=0
failed=0
ok () { n=$((n + 1)); echo "ok $n - $1"; }
not_ok () { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
# verdict NAME: ok when the command just before it succeeded; $details goes into the diagnostics
verdict () { local rc=$?; if [ "$rc" -eq 0 ]; then ok "$1"; else not_ok "$1" "${details:-}"; fi; details=; }

# rejects NAME TEXT ARGS...: one error line containing TEXT, exit 2, empty stdout
rejects () {
  local name=$1 text=$2 rc lines first
  shift 2
  "$cli" likelihood "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
  rc=$?
  lines=$(wc -l <"$tmp/err")
  first=$(head -n 1 "$tmp/err")
  if [ "$rc" -eq 2 ] && [ "$lines" -eq 1 ] && [[ $first == "gaflow-cli: error: "*"$text"* ]] && [ ! -s "$tmp/out" ]; then
    ok "rejects $name"
  else
    not_ok "rejects $name" "exit $rc, $lines stderr lines (want one with '$text'):" "$(cat "$tmp/err")" \
      "stdout: $(head -c 300 "$tmp/out")"
  fi
}

# field VALUE-OF "  bits/dim: X +- Y" etc.: the first number after a label in a file
number_after () { sed -n "s/^ *$1 \([-+0-9.eEinfa]*\).*/\1/p" "$2" | head -n "${3:-1}" | tail -n 1; }
is_finite () { [[ $1 =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]; }

"$make_ckpt" "$tmp/tiny.gafck" scenes:classes=2,size=4,count=200 200 16 >"$tmp/make.out" 2>&1 ||
  { echo "Bail out! make-tiny-checkpoint failed: $(cat "$tmp/make.out")"; exit 1; }
"$make_ckpt" "$tmp/wide.gafck" scenes:classes=3,size=6,count=50 5 8 >"$tmp/make.out" 2>&1 ||
  { echo "Bail out! make-tiny-checkpoint failed: $(cat "$tmp/make.out")"; exit 1; }
ck="$tmp/tiny.gafck"
data=scenes:classes=2,size=4
ood=scenes:classes=2,size=4,shuffle=1
fast=(--proposals 8 --threads 1)
mkdir "$tmp/dir"

# damaged checkpoints: one byte changed (checksum), cut short, a text file
cp "$ck" "$tmp/flipped.gafck"
printf '\xff' | dd of="$tmp/flipped.gafck" bs=1 seek=2000 conv=notrunc status=none
head -c 3000 "$ck" >"$tmp/short.gafck"
echo "not a checkpoint" >"$tmp/text.gafck"

echo "1..50"

rejects "no --checkpoint" "--checkpoint FILE is required" --data "$data"
rejects "no --data" "--data SPEC is required" --checkpoint "$ck"
rejects "a missing checkpoint" "cannot open checkpoint" --checkpoint "$tmp/missing.gafck" --data "$data"
rejects "a corrupted checkpoint" "checksum mismatch" --checkpoint "$tmp/flipped.gafck" --data "$data"
rejects "a truncated checkpoint" "truncated" --checkpoint "$tmp/short.gafck" --data "$data"
rejects "a file that is no checkpoint" "is not a gaflow checkpoint" --checkpoint "$tmp/text.gafck" --data "$data"
rejects "data with other classes" "has 3 classes but the model in" --checkpoint "$ck" --data scenes:classes=3,size=4
rejects "data of another size" "has maps of 8 x 8 pixels but the model in" --checkpoint "$ck" --data scenes:classes=2,size=8
rejects "--ood of another size" "--ood: 'scenes:classes=2,size=5,count=100,seed=1,split=test' has maps of 5 x 5" --checkpoint "$ck" --data "$data" \
  --ood scenes:classes=2,size=5
rejects "a bad data spec, in the user's words" "dataset 'scenes:colours=2': unknown option 'colours'" \
  --checkpoint "$ck" --data scenes:colours=2
rejects "--limit 0" "--limit: expected an integer from 1" --checkpoint "$ck" --data "$data" --limit 0
rejects "--proposals 0" "--proposals: expected an integer from 1" --checkpoint "$ck" --data "$data" --proposals 0
rejects "--divergence foo" "unknown estimator 'foo'" --checkpoint "$ck" --data "$data" --divergence foo
rejects "--probe foo" "unknown probe 'foo'" --checkpoint "$ck" --data "$data" --probe foo
rejects "--probes 0" "--probes: expected an integer from 1" --checkpoint "$ck" --data "$data" --probes 0
rejects "--probes with exact divergence" "are for --divergence hutchinson" --checkpoint "$ck" --data "$data" \
  --divergence exact --probes 3
rejects "--rtol -1" "--rtol: expected a number" --checkpoint "$ck" --data "$data" --rtol -1
rejects "--t-end 0" "--t-end: expected a number" --checkpoint "$ck" --data "$data" --t-end 0
rejects "--seed x" "--seed: expected an integer" --checkpoint "$ck" --data "$data" --seed x
rejects "--no-rounding with --divergence" "are for the rounding model" --checkpoint "$ck" --data "$data" \
  --no-rounding --divergence exact
rejects "--plot x.pdf" "must end in .svg or .png" --checkpoint "$ck" --data "$data" --plot "$tmp/dir/x.pdf"
rejects "--plot in a missing folder" "does not exist" --checkpoint "$ck" --data "$data" --plot /nonexistent-dir/x.png
rejects "--csv in a missing folder" "does not exist" --checkpoint "$ck" --data "$data" --csv /nonexistent-dir/x.csv
rejects "an unknown option" "Unknown option --colour" --checkpoint "$ck" --data "$data" --colour
rejects "an extra argument" "unexpected argument 'extra'" --checkpoint "$ck" --data "$data" extra
details="$(ls -A "$tmp/dir")"
[ -z "$(ls -A "$tmp/dir")" ]
verdict "rejected runs write nothing"

# The main run: 4 maps and 4 shuffled maps, CSV and PNG.
"$cli" likelihood --checkpoint "$ck" --data "$data" --ood "$ood" --limit 4 "${fast[@]}" --csv "$tmp/dir/r.csv" \
  --plot "$tmp/dir/r.png" >"$tmp/run.out" 2>"$tmp/run.err" </dev/null
rc=$?
details="exit $rc: $(cat "$tmp/run.err") $(cat "$tmp/run.out")"
[ "$rc" -eq 0 ] && [ ! -s "$tmp/run.err" ]
verdict "a run with --ood exits 0 with nothing on stderr"
bpd=$(number_after "bits\/dim:" "$tmp/run.out")
se=$(sed -n 's/^  bits\/dim: [-0-9.e]* +- \([-0-9.einfa]*\).*/\1/p' "$tmp/run.out" | head -n 1)
details="bits/dim '$bpd' +- '$se'"
is_finite "$bpd" && is_finite "$se"
verdict "finite bits/dim with a finite standard error"
details="$(grep -c '^data [0-9]*/4: log p' "$tmp/run.out") data lines, $(grep -c '^ood [0-9]*/4: log p' "$tmp/run.out") ood lines"
\
  [ "$(grep -c '^data [0-9]/4: log p [-0-9.]* +- [0-9.]* nats, [0-9.]* bits/dim, hit fraction' "$tmp/run.out")" -eq 4 ] &&
  [ "$(grep -c '^ood [0-9]/4: log p' "$tmp/run.out")" -eq 4 ]
verdict "one line per map of each set (stdout is not a terminal)"
auc=$(sed -n 's/^ROC AUC: \([0-9.]*\) .*/\1/p' "$tmp/run.out")
details="AUC '$auc'"
awk -v a="$auc" 'BEGIN { exit !(a != "" && a + 0 >= 0 && a + 0 <= 1) }'
verdict "--ood prints an ROC AUC in [0, 1]"
# a flow trained on scenes gives scenes a higher likelihood than the same pixels shuffled
obpd=$(number_after "bits\/dim:" "$tmp/run.out" 2)
details="data $bpd, shuffled $obpd bits/dim, AUC $auc"
awk -v a="$bpd" -v b="$obpd" 'BEGIN { exit !(a + 0 < b + 0) }'
verdict "shuffled maps cost more bits/dim than scenes"
details="$(head -n 1 "$tmp/dir/r.csv" 2>&1)"
[ "$(head -n 1 "$tmp/dir/r.csv")" = "set,index,log_p,log_p_se,bits_per_dim,hit_fraction" ]
verdict "the CSV has the documented header"
details="$(cat "$tmp/dir/r.csv" 2>&1)"
[ "$(grep -c '^data,[0-3],' "$tmp/dir/r.csv")" -eq 4 ] &&
  [ "$(grep -c '^ood,[0-3],' "$tmp/dir/r.csv")" -eq 4 ] && [ "$(wc -l <"$tmp/dir/r.csv")" -eq 9 ]
verdict "the CSV has N rows of each set"
# the mean of the CSV's data rows is the printed mean
details="CSV mean vs printed $bpd"
awk -F, -v p="$bpd" \
  '$1 == "data" { s += $5; k++ } END { d = s / k - p; exit !(k == 4 && d < 1e-4 && d > -1e-4) }' "$tmp/dir/r.csv"
verdict "the printed mean is the mean of the CSV rows"
details="$(od -An -tx1 -N8 "$tmp/dir/r.png" 2>&1)"
[ "$(head -c 8 "$tmp/dir/r.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ]
verdict "--plot writes a PNG"
details="$(grep '^model:\|^settings:' "$tmp/run.out")"
\
  grep -q "^model: .*step 200, EMA weights" "$tmp/run.out" &&
  grep -q "^settings: rounding model, T = 10, K = 8 proposals, .*divergence exact for D = 16, rtol 0.01, atol 0.01, seed 1, 1 threads" "$tmp/run.out"
verdict "the report names the weights, T from the checkpoint and the exact divergence for D = 16"
details="$(grep 'time:' "$tmp/run.out")"
\
  [ "$(grep -c '^  time: [0-9.]* s (.* per map), [0-9]* network evaluations, [0-9]* CNF solves, [0-9]* Dormand-Prince steps' "$tmp/run.out")" -eq 2 ]
verdict "the report gives run time and solver counts"

# The same seed gives the same numbers; the first maps do not depend on --limit.
"$cli" likelihood --checkpoint "$ck" --data "$data" --limit 2 "${fast[@]}" --csv "$tmp/dir/r2.csv" \
  >"$tmp/run2.out" 2>&1 </dev/null
details="$(diff <(sed -n 2,3p "$tmp/dir/r.csv") <(sed -n 2,3p "$tmp/dir/r2.csv") 2>&1)"
[ "$(sed -n 2,3p "$tmp/dir/r.csv")" = "$(sed -n 2,3p "$tmp/dir/r2.csv")" ] &&
  [ "$(wc -l <"$tmp/dir/r2.csv")" -eq 3 ]
verdict "the same seed reproduces the first maps' rows"
"$cli" likelihood --checkpoint "$ck" --data "$data" --limit 2 "${fast[@]}" --seed 2 --csv "$tmp/dir/r3.csv" \
  >"$tmp/run3.out" 2>&1 </dev/null
[ "$(sed -n 2,3p "$tmp/dir/r.csv")" != "$(sed -n 2,3p "$tmp/dir/r3.csv")" ]
verdict "another seed gives other estimates"

# Hutchinson, the last weights, another T, an SVG plot without --ood.
"$cli" likelihood --checkpoint "$ck" --data "$data" --limit 2 "${fast[@]}" --divergence hutchinson --probes 2 \
  --probe gaussian --no-ema --t-end 5 --plot "$tmp/dir/h.svg" >"$tmp/hut.out" 2>"$tmp/hut.err" </dev/null
rc=$?
b=$(number_after "bits\/dim:" "$tmp/hut.out")
details="exit $rc, bits/dim '$b': $(cat "$tmp/hut.err")"
[ "$rc" -eq 0 ] && is_finite "$b"
verdict "Hutchinson divergence: finite bits/dim"
details="$(grep '^model:\|^settings:' "$tmp/hut.out")"
\
  grep -q "divergence hutchinson (2 gaussian probes per solve) for D = 16" "$tmp/hut.out" &&
  grep -q "^settings: rounding model, T = 5," "$tmp/hut.out" && grep -q "step 200, last weights" "$tmp/hut.out"
verdict "the report says hutchinson, the probes, T = 5 and the last weights"
details="$(head -c 200 "$tmp/dir/h.svg" 2>&1)"
grep -q "<svg" "$tmp/dir/h.svg"
verdict "--plot FILE.svg writes an SVG"

# The non-rounding model.
"$cli" likelihood --checkpoint "$ck" --data "$data" --limit 3 "${fast[@]}" --no-rounding --ood "$ood" \
  >"$tmp/nr.out" 2>"$tmp/nr.err" </dev/null
rc=$?
b=$(number_after "bits\/dim:" "$tmp/nr.out")
auc=$(sed -n 's/^ROC AUC: \([0-9.]*\) .*/\1/p' "$tmp/nr.out")
details="exit $rc, bits/dim '$b', AUC '$auc': $(cat "$tmp/nr.err")"
[ "$rc" -eq 0 ] && is_finite "$b" &&
  grep -q "^  hit fraction: 1.0000" "$tmp/nr.out" && grep -q "^settings: non-rounding model, T = 10, K = 8 forward samples, rk4 h = 0.2" "$tmp/nr.out" &&
  awk -v a="$auc" 'BEGIN { exit !(a != "" && a + 0 >= 0 && a + 0 <= 1) }'
verdict "the non-rounding model: finite bits/dim, hit fraction 1, an AUC"

# D = 72 > 64: Hutchinson by default.
"$cli" likelihood --checkpoint "$tmp/wide.gafck" --data scenes:classes=3,size=6 --limit 1 --proposals 4 --threads 1 \
  >"$tmp/wide.out" 2>"$tmp/wide.err" </dev/null
rc=$?
details="exit $rc: $(cat "$tmp/wide.err") $(grep settings "$tmp/wide.out")"
[ "$rc" -eq 0 ] &&
  grep -q "divergence hutchinson (1 rademacher probe per solve) for D = 72" "$tmp/wide.out"
verdict "the default divergence is Hutchinson for D = 72"

# Fewer maps than --limit: all of them, said so.
"$cli" likelihood --checkpoint "$ck" --data scenes:classes=2,size=4,count=2 --limit 5 "${fast[@]}" \
  >"$tmp/few.out" 2>&1 </dev/null
details="$(grep 'maps:' "$tmp/few.out")"
grep -q "^  maps: 2 of 2, 4 x 4 pixels, 2 classes" "$tmp/few.out"
verdict "a set smaller than --limit is scored whole"

# The training split on request; the test split by default.
details="$(grep '^data:' "$tmp/run.out" "$tmp/few.out")"
grep -q "^data: scenes:classes=2,size=4,count=4,seed=1,split=test$" "$tmp/run.out"
verdict "the test split by default"
"$cli" likelihood --checkpoint "$ck" --data scenes:classes=2,size=4,split=train --limit 1 "${fast[@]}" \
  >"$tmp/train.out" 2>&1 </dev/null
details="$(grep '^data:' "$tmp/train.out")"
grep -q "^data: scenes:classes=2,size=4,count=1,seed=1,split=train$" "$tmp/train.out"
verdict "split=train when the spec says so"

# A folder of two hand-made 4 x 4 label maps (binary PGM): two horizontal bands, a checkerboard.
mkdir "$tmp/maps"
printf 'P5\n4 4\n1\n\x00\x00\x00\x00\x00\x00\x00\x00\x01\x01\x01\x01\x01\x01\x01\x01' >"$tmp/maps/a.pgm"
printf 'P5\n4 4\n1\n\x00\x01\x00\x01\x01\x00\x01\x00\x00\x01\x00\x01\x01\x00\x01\x00' >"$tmp/maps/b.pgm"
"$cli" likelihood --checkpoint "$ck" --data folder:"$tmp/maps",classes=2 "${fast[@]}" --csv "$tmp/folder.csv" \
  >"$tmp/folder.out" 2>"$tmp/folder.err" </dev/null
rc=$?
details="exit $rc: $(cat "$tmp/folder.err") $(cat "$tmp/folder.out")"
[ "$rc" -eq 0 ] && [ "$(grep -c '^data,' "$tmp/folder.csv")" -eq 2 ]
verdict "a folder of maps is scored"
# a sky-over-ground map is likelier than a checkerboard under a flow trained on scenes
details="$(cat "$tmp/folder.csv")"
awk -F, '$1 == "data" { b[$2] = $5 } END { exit !(b[0] < b[1]) }' \
  "$tmp/folder.csv"
verdict "two horizontal bands beat a checkerboard"

# The help lists the command.
"$cli" --help >"$tmp/help.out" 2>&1
grep -q "^  likelihood " "$tmp/help.out"
verdict "gaflow-cli --help lists likelihood"

[ "$failed" -eq 0 ]
