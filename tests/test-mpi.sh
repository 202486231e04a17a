#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# gaflow-cli under `mpirun -np 2` (docs/scaling-out.md), as TAP:
#  - equivalence: two processes with global batch B train like one process with batch B on the same
#    per-sample data (loss trace and what the weights compute, to float tolerance) for the toy CNN, the
#    MLP and a small UNet on image label maps, and for text sequences (joint train);
#  - two -np 2 runs with the same seed are bit-identical (checkpoint: weights, EMA, moments, RNG);
#  - --resume with another number of processes continues the same run;
#  - `sweep` over two processes writes the one-process sweep's CSV rows (all but the two timing columns);
#  - a batch not divisible by the process count, a command that runs as one process only, and a method other
#    than GAF in data-parallel training (joints and label maps) are refused before any work.
#  - a diverging run (--lr 10) stops on both processes at the same step with one clear error, saving nothing.
#  - the authors' DenseNet (BatchNorm synchronised over the processes): 2 x batch 4 = 1 x batch 8 on label
#    maps (running statistics included) and on a 2-D density (joint train), bit-identical -np 2 runs, and
#    --resume from 1 to 2 to 1 processes.
# Skipped (TAP "1..0 # SKIP") when gaflow-cli was built without MPI or mpirun is missing.
# Usage: test-mpi.sh PATH/TO/gaflow-cli PATH/TO/checkpoint-diff mpi|no-mpi PATH/TO/mpirun

set -u
cli=${1:?usage: test-mpi.sh gaflow-cli checkpoint-diff mpi|no-mpi mpirun}
ckdiff=${2:?}
built=${3:?}
mpirun=${4:-}

if [ "$built" != "mpi" ]; then
  echo "1..0 # SKIP gaflow-cli was built without MPI (meson feature 'mpi' disabled or no MPI found)"
  exit 0
fi
if [ -z "$mpirun" ] || [ ! -x "$mpirun" ]; then
  echo "1..0 # SKIP mpirun not found (Debian: openmpi-bin)"
  exit 0
fi

cli=$(realpath "$cli")
ckdiff=$(realpath "$ckdiff")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

# --oversubscribe: two processes even where fewer cores are free (CI runners, this shared machine).
# --bind-to none: Open MPI pins each of two processes to one core by default; the tests do not care where
#   they run, and pinning both to busy cores only slows them down.
# mpi_yield_when_idle: a process waiting in the reduction yields its core instead of spinning (measured
#   3.5x faster steps with two processes on two loaded cores).
# --allow-run-as-root: CI runs the suite as root inside a throwaway container, and Open MPI refuses to
#   start as root without it. Passed here only, in the test wrapper, and only when we are root: nothing
#   else in the project runs mpirun as root.
mpiflags=(-np 2 --oversubscribe --bind-to none --mca mpi_yield_when_idle 1)
if [ "$(id -u)" -eq 0 ]; then
  mpiflags+=(--allow-run-as-root)
fi
np2 () { timeout 120 "$mpirun" "${mpiflags[@]}" "$cli" "$@"; }
np1 () { timeout 120 "$cli" "$@"; }

n=0
failed=0
ok () { n=$((n + 1)); echo "ok $n - $1"; }
not_ok () { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }

# Largest absolute and relative difference of two loss logs ("step<TAB>loss"); fails unless both have the
# same steps and the relative difference is at most $3.
loss_close () {
  awk -v tol="$3" 'NR == FNR { a[$1] = $2; n1++; next }
    { if (!($1 in a)) bad = 1; d = a[$1] - $2; if (d < 0) d = -d; s = a[$1] < 0 ? -a[$1] : a[$1];
      r = d / (s > 1e-6 ? s : 1e-6); if (d > md) md = d; if (r > mr) mr = r; n2++ }
    END { printf "loss max_abs %.3e max_rel %.3e over %d steps", md, mr, n2; exit (bad || n1 != n2 || n1 == 0 || mr > tol) }' "$1" "$2"
}

# "output max_abs O of max |f| F" of checkpoint-diff: O at most $2 times F.
output_close () {
  awk -v tol="$2" '/^output max_abs/ { o = $3; f = $7; found = 1 } END { exit (!found || o > tol * f) }' <<<"$1"
}

scenes=scenes:classes=3,size=8
nets=("toy-cnn:hidden=8" "mlp:hidden=32" "unet:channels=8,mult=1,2,blocks=1")
names=("toy CNN" "MLP" "UNet")

echo "1..19"

# 1-3: equivalence after 100 steps, global batch 8 = 2 x 4
for k in 0 1 2; do
  np1 train --data $scenes --model "${nets[$k]}" --batch 8 --steps 100 --threads 1 --checkpoint one-$k.ck \
    --loss-log one-$k.log >out1 2>err1 </dev/null
  rc1=$?
  np2 train --data $scenes --model "${nets[$k]}" --batch 8 --steps 100 --threads 1 --checkpoint two-$k.ck \
    --loss-log two-$k.log >out2 2>err2 </dev/null
  rc2=$?
  losses=$(loss_close one-$k.log two-$k.log 1e-5)
  lrc=$?
  weights=$("$ckdiff" one-$k.ck two-$k.ck 2>&1)
  if [ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && [ $lrc -eq 0 ] && output_close "$weights" 1e-5 &&
     grep -q "step 100 " <<<"$weights"; then
    ok "${names[$k]}: 2 processes x batch 4 = 1 process x batch 8 after 100 steps ($losses; $(tr '\n' ' ' <<<"$weights"))"
  else
    not_ok "${names[$k]}: 2 processes x batch 4 = 1 process x batch 8 after 100 steps" "exits $rc1 $rc2" \
      "$losses" "$weights" "$(cat err1 err2)"
  fi
done

# 4: one process writes: the log has 100 lines, not 200, and rank 0 alone printed progress
if [ "$(wc -l <two-0.log)" -eq 100 ] && [ "$(grep -c '^train: ' err2)" -eq 1 ] && [ "$(grep -c '^trained to step' out2)" -eq 1 ]; then
  ok "rank 0 alone writes the loss log and reports"
else
  not_ok "rank 0 alone writes the loss log and reports" "$(wc -l <two-0.log) log lines" "$(cat out2 err2)"
fi

# 5: bit-identical between two -np 2 runs with the same seed (UNet: the deepest reduction order)
np2 train --data $scenes --model "${nets[2]}" --batch 8 --steps 30 --threads 1 --checkpoint again-a.ck \
  --loss-log again-a.log >/dev/null 2>err1 </dev/null
np2 train --data $scenes --model "${nets[2]}" --batch 8 --steps 30 --threads 1 --checkpoint again-b.ck \
  --loss-log again-b.log >/dev/null 2>err2 </dev/null
same=$("$ckdiff" again-a.ck again-b.ck 2>&1)
if cmp -s again-a.log again-b.log && grep -q "bitwise YES" <<<"$same"; then
  ok "two -np 2 runs with the same seed are bit-identical (losses, weights, EMA, moments, RNG)"
else
  not_ok "two -np 2 runs with the same seed are bit-identical" "$same" "$(cat err1 err2)"
fi

# 6-7: --resume across process counts: 1 process to step 40, 2 to 70, 1 to 100 = 1 process to 100
np1 train --data $scenes --model "${nets[0]}" --batch 8 --steps 40 --threads 1 --checkpoint mix.ck \
  --loss-log mix.log >/dev/null 2>err1 </dev/null
np2 train --resume --checkpoint mix.ck --steps 70 --threads 1 --loss-log mix.log >/dev/null 2>err2 </dev/null
rc2=$?
np1 train --resume --checkpoint mix.ck --steps 100 --threads 1 --loss-log mix.log >/dev/null 2>>err1 </dev/null
losses=$(loss_close one-0.log mix.log 1e-5)
lrc=$?
weights=$("$ckdiff" one-0.ck mix.ck 2>&1)
if [ $rc2 -eq 0 ] && [ $lrc -eq 0 ] && output_close "$weights" 1e-5 && grep -q "rng SAME step 100 " <<<"$weights"; then
  ok "--resume from 1 to 2 to 1 processes continues the one-process run ($losses)"
else
  not_ok "--resume from 1 to 2 to 1 processes continues the one-process run" "$losses" "$weights" "$(cat err1 err2)"
fi
if grep -q "resuming mix.ck at step 40 of 70" err2 && grep -q "2 processes" err2; then
  ok "the resumed -np 2 run says where it starts"
else
  not_ok "the resumed -np 2 run says where it starts" "$(cat err2)"
fi

# 8: text sequences (joint train): the same loss trace on 1 and 2 processes, and the same report
printf 'abc\nbca\ncab\nabc\nbca\nacb\n' >text.txt
np1 train --data text:text.txt --length 3 --hidden 16 --steps 60 --batch 16 --samples 100 --threads 1 --loss-log text1.log \
  >tout1 2>err1 </dev/null
rc1=$?
np2 train --data text:text.txt --length 3 --hidden 16 --steps 60 --batch 16 --samples 100 --threads 1 --loss-log text2.log \
  >tout2 2>err2 </dev/null
rc2=$?
losses=$(loss_close text1.log text2.log 1e-5)
lrc=$?
if [ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && [ $lrc -eq 0 ] && [ -s tout2 ]; then
  ok "text sequences: 2 processes x batch 8 = 1 process x batch 16 ($losses)"
else
  not_ok "text sequences: 2 processes x batch 8 = 1 process x batch 16" "exits $rc1 $rc2" "$losses" "$(cat err1 err2)"
fi

# 9-10: the distributed sweep writes the one-process rows (method .. kl_floor; the timings differ)
np1 sweep --method gaf,linear --classes 3,4 --steps 3 --samples 100 --threads 1 --csv s1.csv >/dev/null 2>err1 </dev/null
rc1=$?
np2 sweep --method gaf,linear --classes 3,4 --steps 3 --samples 100 --threads 1 --csv s2.csv --plot s2.svg \
  >sout2 2>err2 </dev/null
rc2=$?
if [ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && [ "$(wc -l <s1.csv)" -eq 5 ] &&
   cmp -s <(cut -d, -f1-7 s1.csv) <(cut -d, -f1-7 s2.csv); then
  ok "sweep on 2 processes writes the one-process CSV rows"
else
  not_ok "sweep on 2 processes writes the one-process CSV rows" "exits $rc1 $rc2" "$(cat s1.csv s2.csv err2)"
fi
if [ -s s2.svg ] && grep -q "^process 0: " err2 && grep -q "^process 1: " err2 && [ "$(grep -c '^gaf ' sout2)" -eq 2 ]; then
  ok "both processes ran items; rank 0 alone printed the table and drew the plot"
else
  not_ok "both processes ran items; rank 0 alone printed the table and drew the plot" "$(cat sout2 err2)"
fi

# 11: a batch the processes cannot share is refused before any work
np2 train --data $scenes --model "${nets[0]}" --batch 7 --steps 5 --threads 1 --checkpoint odd.ck >/dev/null 2>err2 </dev/null
rc2=$?
if [ $rc2 -ne 0 ] && grep -q "batch must be a multiple of the number of processes (2)" err2 && [ ! -e odd.ck ]; then
  ok "an odd batch on 2 processes is refused before any work"
else
  not_ok "an odd batch on 2 processes is refused before any work" "exit $rc2" "$(cat err2)"
fi

# 12: a command that runs as one process only says so
np2 eval --data pinwheel --input text.txt >/dev/null 2>err2 </dev/null
rc2=$?
if [ $rc2 -ne 0 ] && grep -q "eval runs as one process, not under MPI" err2; then
  ok "eval under mpirun is refused with a clear message"
else
  not_ok "eval under mpirun is refused with a clear message" "exit $rc2" "$(cat err2)"
fi

# 13-14: the other methods train as one process only: refused under mpirun with one error, before any work
np2 train --data $scenes --model "${nets[0]}" --method masked --batch 8 --steps 5 --threads 1 --checkpoint jump.ck \
  >/dev/null 2>err2 </dev/null
rc2=$?
if [ $rc2 -ne 0 ] && grep -q "method masked: data-parallel training under MPI is implemented for GAF only" err2 &&
   [ ! -e jump.ck ]; then
  ok "label maps: --method masked under mpirun is refused before any work"
else
  not_ok "label maps: --method masked under mpirun is refused before any work" "exit $rc2" "$(cat err2)"
fi
np2 train --data text:text.txt --length 3 --hidden 16 --method uniform --steps 5 --batch 16 --samples 10 --threads 1 \
  >tout2 2>err2 </dev/null
rc2=$?
if [ $rc2 -ne 0 ] && grep -q "method uniform: data-parallel training under MPI is implemented for GAF only" err2 &&
   [ ! -s tout2 ] && ! grep -q "^train" err2; then
  ok "joints: --method uniform under mpirun is refused before any work"
else
  not_ok "joints: --method uniform under mpirun is refused before any work" "exit $rc2" "$(cat tout2 err2)"
fi

# 15: a diverging run stops on both processes at the same step: a clear error, no hang, nothing saved
np2 train --data $scenes --model "${nets[0]}" --batch 8 --lr 10 --steps 40 --threads 1 --checkpoint div.ck \
  >/dev/null 2>err2 </dev/null
rc2=$?
if [ $rc2 -ne 0 ] && [ $rc2 -ne 124 ] && grep -q "training diverged at step [0-9]*.*lower learning rate" err2 &&
   [ ! -e div.ck ]; then
  ok "a diverging run (--lr 10) stops on both processes with one clear error and saves nothing (exit $rc2)"
else
  not_ok "a diverging run (--lr 10) stops on both processes with one clear error and saves nothing" "exit $rc2" \
    "$(cat err2)"
fi

# 16: the DenseNet's BatchNorm normalises over the global batch (synchronised): 2 x 4 = 1 x 8 after 100 steps,
# the running statistics too (checkpoint-diff's params include the buffers, its outputs use them)
dense=dense:hidden=32,32
np1 train --data $scenes --model $dense --batch 8 --steps 100 --threads 1 --checkpoint dense1.ck \
  --loss-log dense1.log >/dev/null 2>err1 </dev/null
rc1=$?
np2 train --data $scenes --model $dense --batch 8 --steps 100 --threads 1 --checkpoint dense2.ck \
  --loss-log dense2.log >/dev/null 2>err2 </dev/null
rc2=$?
losses=$(loss_close dense1.log dense2.log 1e-5)
lrc=$?
weights=$("$ckdiff" dense1.ck dense2.ck 2>&1)
params_abs=$(awk '/^params/ { print $4 }' <<<"$weights")
if [ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && [ $lrc -eq 0 ] && output_close "$weights" 1e-5 &&
   awk -v p="$params_abs" 'BEGIN { exit !(p != "" && p + 0 < 1e-5) }' && grep -q "step 100 " <<<"$weights"; then
  ok "DenseNet (synchronised BatchNorm): 2 processes x batch 4 = 1 process x batch 8 after 100 steps ($losses; $(tr '\n' ' ' <<<"$weights"))"
else
  not_ok "DenseNet (synchronised BatchNorm): 2 processes x batch 4 = 1 process x batch 8 after 100 steps" \
    "exits $rc1 $rc2" "$losses" "$weights" "$(cat err1 err2)"
fi

# 17: the same through the joint trainer (pinwheel, n = 2, c = 91), with rank 0's sampling afterwards
np1 train --data pinwheel --model $dense --steps 60 --batch 16 --samples 200 --threads 1 --loss-log pin1.log \
  >pout1 2>err1 </dev/null
rc1=$?
np2 train --data pinwheel --model $dense --steps 60 --batch 16 --samples 200 --threads 1 --loss-log pin2.log \
  >pout2 2>err2 </dev/null
rc2=$?
losses=$(loss_close pin1.log pin2.log 1e-5)
lrc=$?
if [ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && [ $lrc -eq 0 ] && [ -s pout2 ]; then
  ok "DenseNet on a 2-D density: 2 processes x batch 8 = 1 process x batch 16 ($losses)"
else
  not_ok "DenseNet on a 2-D density: 2 processes x batch 8 = 1 process x batch 16" "exits $rc1 $rc2" "$losses" \
    "$(cat err1 err2)"
fi

# 18: two -np 2 DenseNet runs with the same seed are bit-identical (running statistics and counters too)
np2 train --data $scenes --model $dense --batch 8 --steps 30 --threads 1 --checkpoint dagain-a.ck \
  --loss-log dagain-a.log >/dev/null 2>err1 </dev/null
np2 train --data $scenes --model $dense --batch 8 --steps 30 --threads 1 --checkpoint dagain-b.ck \
  --loss-log dagain-b.log >/dev/null 2>err2 </dev/null
same=$("$ckdiff" dagain-a.ck dagain-b.ck 2>&1)
if cmp -s dagain-a.log dagain-b.log && grep -q "bitwise YES" <<<"$same"; then
  ok "two -np 2 DenseNet runs with the same seed are bit-identical"
else
  not_ok "two -np 2 DenseNet runs with the same seed are bit-identical" "$same" "$(cat err1 err2)"
fi

# 19: DenseNet --resume: 1 process to step 40, 2 to 70, 1 to 100 = 1 process to 100
np1 train --data $scenes --model $dense --batch 8 --steps 40 --threads 1 --checkpoint dmix.ck \
  --loss-log dmix.log >/dev/null 2>err1 </dev/null
np2 train --resume --checkpoint dmix.ck --steps 70 --threads 1 --loss-log dmix.log >/dev/null 2>err2 </dev/null
rc2=$?
np1 train --resume --checkpoint dmix.ck --steps 100 --threads 1 --loss-log dmix.log >/dev/null 2>>err1 </dev/null
losses=$(loss_close dense1.log dmix.log 1e-5)
lrc=$?
weights=$("$ckdiff" dense1.ck dmix.ck 2>&1)
if [ $rc2 -eq 0 ] && [ $lrc -eq 0 ] && output_close "$weights" 1e-5 && grep -q "rng SAME step 100 " <<<"$weights"; then
  ok "DenseNet --resume from 1 to 2 to 1 processes continues the one-process run ($losses)"
else
  not_ok "DenseNet --resume from 1 to 2 to 1 processes continues the one-process run" "$losses" "$weights" \
    "$(cat err1 err2)"
fi

exit $((failed > 0))
