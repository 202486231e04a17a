#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Side-by-side throughput of gaflow-cli bench and the PyTorch reference (bench/torch_reference.py).

Each side runs at 1 and 2 threads; the best setting of each side is compared, metric by metric,
and the ratios engine / PyTorch are printed (this machine is shared and noisy: ratios, not seconds).
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd):
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    lines = [l for l in out.splitlines() if l.strip().startswith("{")]
    return json.loads(lines[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--engine", required=True, help="path to gaflow-cli")
    ap.add_argument("--model", default="toy-cnn")
    ap.add_argument("--classes", type=int, default=160)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--sample-batch", type=int, default=4096)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--json-out", help="also write all measurements to this file")
    args = ap.parse_args()

    common = ["--model", args.model, "--classes", str(args.classes), "--batch", str(args.batch),
              "--sample-batch", str(args.sample_batch), "--seconds", str(args.seconds), "--json"]
    results = {"gaflow": [], "pytorch": []}
    for t in [int(x) for x in args.threads.split(",")]:
        for side, cmd in (("gaflow", [args.engine, "bench"]),
                          ("pytorch", ["/usr/bin/python3", os.path.join(HERE, "torch_reference.py")])):
            r = run(cmd + common + ["--threads", str(t)])
            results[side].append(r)
            extra = ""
            if side == "gaflow":
                extra = "  (%.1f GFLOP/s train, %.1f sample, sgemm %.1f)" % (
                    r["gflops"], r["sample_gflops"], r["sgemm_gflops"])
            print("%-8s threads %d: %8.2f train steps/s  %10.0f evals/s%s" % (
                side, t, r["train_steps_per_s"], r["evals_per_s"], extra), flush=True)

    print()
    print("best of each side, model %s, c = %d, batch %d, sample batch %d:" % (
        args.model, args.classes, args.batch, args.sample_batch))
    for metric in ("train_steps_per_s", "evals_per_s"):
        e = max(results["gaflow"], key=lambda r: r[metric])
        p = max(results["pytorch"], key=lambda r: r[metric])
        print("  %-18s gaflow %10.2f (%d threads)  pytorch %10.2f (%d threads)  ratio %.2fx" % (
            metric, e[metric], e["threads"], p[metric], p["threads"], e[metric] / p[metric]))
    e = max(results["gaflow"], key=lambda r: r["train_steps_per_s"])
    print("  engine reaches %.0f%% (training) and %.0f%% (sampling) of the sgemm rate measured in the same run" % (
        100 * e["gflops"] / e["sgemm_gflops"], 100 * e["sample_gflops"] / e["sgemm_gflops"]))
    if args.json_out:
        with open(args.json_out + ".tmp", "w") as f:
            json.dump(results, f, indent=1)
        os.replace(args.json_out + ".tmp", args.json_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
