#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The command-line contract of gaflow-cli, as TAP: every mistake a user can make is rejected with
# exactly one line on stderr starting "gaflow-cli: error:" and a non-zero exit; `--help` and `help`
# list the command table and every listed command answers --help; train/sample pick their family from
# the data; a tiny sweep runs, prints its table and writes the CSV it promises.
# Usage: test-cli.sh PATH/TO/gaflow-cli

set -u
cli=${1:?usage: test-cli.sh PATH/TO/gaflow-cli}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

n=0
failed=0
ok () { n=$((n + 1)); echo "ok $n - $1"; }
not_ok () { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }

# rejects NAME ARGS...: non-zero exit, nothing on stdout, one stderr line "gaflow-cli: error: ..."
rejects () {
  local name=$1 rc lines first
  shift
  ${GAF_CLI_WRAPPER:-} "$cli" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
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

echo "1..31"
rejects "--classes 1" sweep --classes 1
rejects "--classes 5,x" sweep --classes 5,x
rejects "--steps -5" sweep --steps -5
rejects "--integrator heun" sweep --integrator heun
rejects "--csv in a missing folder" sweep --classes 3 --steps 1 --samples 1 --csv /nonexistent-dir/out.csv
rejects "--csv naming a folder" sweep --classes 3 --steps 1 --samples 1 --csv "$tmp/dir"
rejects "--lr nan" sweep --lr nan
rejects "--samples 0" sweep --samples 0
rejects "an unknown option" sweep --no-such-option
rejects "an unknown command" frobnicate
rejects "no command"
rejects "help of an unknown command" help frobnicate
rejects "an option before the command" --steps 3 sweep
rejects "train without --data" train --steps 1
rejects "--data of no known kind" train --data frobnicate --steps 1
rejects "sample of an image model given --data" sample --data scenes:classes=3,size=8 --checkpoint "$tmp/none.ck"
rejects "train --checkpoint that is not there, without --data" train --resume --checkpoint "$tmp/none.ck"
rejects "bench --model foo" bench --model foo
rejects "bench --model unet --size 20" bench --model unet --size 20
rejects "bench --size without --model unet" bench --size 32
rejects "bench --precision without --model unet" bench --precision bf16
rejects "bench --model unet --precision half" bench --model unet --precision half
# The unknown-command error names the commands there are.
"$cli" frobnicate >/dev/null 2>"$tmp/err" </dev/null
if grep -q "unknown command 'frobnicate' (commands: sweep, .*train, sample" "$tmp/err"; then
  ok "the unknown-command error lists the commands"
else
  not_ok "the unknown-command error lists the commands" "$(cat "$tmp/err")"
fi

# --help and help: the same listing on stdout, exit 0, every command of the table in it.
"$cli" --help >"$tmp/help1" 2>"$tmp/err" </dev/null
rc1=$?
"$cli" help >"$tmp/help2" 2>>"$tmp/err" </dev/null
rc2=$?
listed=$(awk '/^Commands:/ { on = 1; next } on && /^$/ { on = 0 } on { print $1 }' "$tmp/help1")
missing=""
for c in sweep plot bench train sample eval likelihood export import field; do
  grep -qx "$c" <<<"$listed" || missing="$missing $c"
done
if [ "$rc1" -eq 0 ] && [ "$rc2" -eq 0 ] && [ ! -s "$tmp/err" ] && cmp -s "$tmp/help1" "$tmp/help2" && [ -z "$missing" ]; then
  ok "--help and help list the commands"
else
  not_ok "--help and help list the commands" "exit $rc1 / $rc2, missing:$missing" "$(cat "$tmp/help1" "$tmp/err")"
fi

# Every listed command answers COMMAND --help (exit 0, a usage on stdout), and help COMMAND says the same.
bad=""
for c in $listed; do
  "$cli" "$c" --help >"$tmp/h1" 2>/dev/null </dev/null || bad="$bad $c(exit)"
  grep -q "^Usage:" "$tmp/h1" || bad="$bad $c(usage)"
  "$cli" help "$c" >"$tmp/h2" 2>/dev/null </dev/null
  cmp -s "$tmp/h1" "$tmp/h2" || bad="$bad $c(help)"
done
if [ -n "$listed" ] && [ -z "$bad" ]; then
  ok "every listed command answers --help"
else
  not_ok "every listed command answers --help" "bad:$bad" "listed: $listed"
fi

# train and sample: the kind of --data picks the family whose options --help shows.
"$cli" train --data pinwheel --help >"$tmp/joint" 2>&1 </dev/null
"$cli" train --data scenes:classes=3 --help >"$tmp/image" 2>&1 </dev/null
"$cli" sample --data coupled-binary --help >"$tmp/joint2" 2>&1 </dev/null
if grep -q -- "--hidden" "$tmp/joint" && ! grep -q -- "--resume" "$tmp/joint" &&
   grep -q -- "--resume" "$tmp/image" && ! grep -q -- "--hidden" "$tmp/image" && grep -q -- "--output" "$tmp/joint2"; then
  ok "train/sample --help follow the kind of --data"
else
  not_ok "train/sample --help follow the kind of --data" "$(head -3 "$tmp/joint" "$tmp/image" "$tmp/joint2")"
fi

# The rejected --csv runs must not have created anything.
if [ -z "$(ls -A "$tmp/dir")" ] && [ ! -e /nonexistent-dir ]; then
  ok "rejected runs write nothing"
else
  not_ok "rejected runs write nothing" "$(ls -A "$tmp/dir")"
fi

# A tiny sweep: exit 0, a table on stdout, a CSV with the documented header and one row per class count.
"$cli" sweep --classes 3,4 --steps 30 --samples 500 --csv "$tmp/out.csv" >"$tmp/out" 2>"$tmp/err" </dev/null
rc=$?
if [ "$rc" -eq 0 ] && ! grep -q "error" "$tmp/err"; then
  ok "sweep --classes 3,4 --steps 30 --samples 500 exits 0"
else
  not_ok "sweep --classes 3,4 --steps 30 --samples 500 exits 0" "exit $rc" "$(cat "$tmp/err")"
fi

# stdout: a header line naming the columns, then a row per class count starting "gaf 3" / "gaf 4".
if head -n 1 "$tmp/out" | grep -q "classes" && head -n 1 "$tmp/out" | grep -q "kl" &&
   [ "$(awk '$1 == "gaf" && ($2 == 3 || $2 == 4)' "$tmp/out" | wc -l)" -eq 2 ]; then
  ok "sweep prints a table on stdout"
else
  not_ok "sweep prints a table on stdout" "$(cat "$tmp/out")"
fi

header="method,classes,steps,samples,kl,kl_uniform,kl_floor,train_seconds,sample_seconds"
csv_ok=1
msg=()
if [ ! -f "$tmp/out.csv" ]; then
  csv_ok=0
  msg+=("no CSV written")
else
  [ "$(head -n 1 "$tmp/out.csv")" = "$header" ] || { csv_ok=0; msg+=("header: $(head -n 1 "$tmp/out.csv")"); }
  [ "$(wc -l <"$tmp/out.csv")" -eq 3 ] || { csv_ok=0; msg+=("$(wc -l <"$tmp/out.csv") lines"); }
  # rows: gaf, classes 3 then 4, steps 30, samples 500, finite non-negative KL values below 1,
  # kl_floor = (c - 1) / (2 N), non-negative times
  bad=$(awk -F, 'NR > 1 {
      c = NR == 2 ? 3 : 4
      fin = 1
      for (i = 5; i <= 9; i++) if ($i !~ /^[0-9.]+([eE][-+]?[0-9]+)?$/) fin = 0
      if (NF != 9 || $1 != "gaf" || $2 != c || $3 != 30 || $4 != 500 || !fin || $5 + 0 >= 1 ||
          $6 + 0 <= 0 || $6 + 0 >= 1 || ($7 - (c - 1) / 1000) ^ 2 > 1e-12)
        print "row " NR - 1 ": " $0
    }' "$tmp/out.csv")
  [ -z "$bad" ] || { csv_ok=0; msg+=("$bad"); }
fi
if [ "$csv_ok" -eq 1 ]; then
  ok "CSV has the header and one finite row per class count"
else
  not_ok "CSV has the header and one finite row per class count" "${msg[@]}" "$(cat "$tmp/out.csv" 2>/dev/null)"
fi

# A tiny UNet bench: one JSON object with the rates compare.py reads, all positive and finite.
"$cli" bench --model unet --classes 3 --size 8 --channels 8 --mult 1,2 --blocks 1 --attn 4 --batch 2 \
  --sample-batch 2 --threads 2 --seconds 0.05 --json --profile >"$tmp/out" 2>"$tmp/err" </dev/null
rc=$?
bad=$(python3 -c '
import json, math, sys
d = json.loads(open(sys.argv[1]).read())
keys = ["train_steps_per_s", "train_samples_per_s", "evals_per_s", "train_samples_per_cpu_s", "evals_per_cpu_s",
        "gflops", "sample_gflops", "sgemm_gflops"]
bad = [k for k in keys if not (isinstance(d.get(k), (int, float)) and math.isfinite(d[k]) and d[k] > 0)]
if d.get("model") != "unet" or d.get("threads") != 2 or d.get("spec") != "channels=8,mult=1,2,blocks=1,attn=4":
    bad.append("model/threads/spec")
for part in ("profile_train", "profile_sample"):   # --profile: [ms, GFLOP/s] per layer kind, and all
    p = d.get(part, {})
    if len(p) != 10 or "all" not in p or not all(len(v) == 2 and all(math.isfinite(x) and x >= 0 for x in v)
                                                 for v in p.values()) or p["Winograd 3x3 products"][1] <= 0:
        bad.append(part)
print(" ".join(bad))' "$tmp/out" 2>&1)
if [ "$rc" -eq 0 ] && [ -z "$bad" ]; then
  ok "bench --model unet --json --profile prints the rates and the profile"
else
  not_ok "bench --model unet --json --profile prints the rates and the profile" "exit $rc: $bad" "$(cat "$tmp/out" "$tmp/err")"
fi

[ "$n" -eq 29 ] || echo "# planned 29 tests, ran $n"
[ "$failed" -eq 0 ]
