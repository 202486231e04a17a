#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Side-by-side throughput of gaflow-cli bench and the PyTorch reference (bench/torch_reference.py).

Each side runs at 1 and 2 threads; the best setting of each side is compared, metric by metric,
and the ratios engine / PyTorch are printed (this machine is shared and noisy: ratios, not seconds).
--model toy-cnn (default) is the class-scaling CNN at --classes c; --model unet is the image UNet of
docs/method.md §3 (--size, --channels, --mult, --blocks; defaults c = 2, 32 x 32, C = 32, (1,2,2,2), 2 blocks,
batch 32, sample batch 32). If the engine cannot run a configuration, PyTorch is still measured and the
engine's error is reported; the exit status is then 1.
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


class EngineFailed(Exception):
    pass


def run_engine(cmd):
    """Like run(), but any failure (missing binary, non-zero exit, no JSON) becomes EngineFailed
    with the engine's own message."""
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    except OSError as e:
        raise EngineFailed("cannot run %s: %s" % (cmd[0], e))
    if proc.returncode != 0:
        msg = (proc.stderr.strip() or proc.stdout.strip() or "(no output)").splitlines()
        raise EngineFailed("`%s` exited with status %d: %s" % (" ".join(cmd), proc.returncode, " | ".join(msg[-3:])))
    lines = [l for l in proc.stdout.splitlines() if l.strip().startswith("{")]
    try:
        return json.loads(lines[-1])
    except (IndexError, ValueError):
        raise EngineFailed("`%s` printed no JSON object" % " ".join(cmd))


def main_unet(args):
    """UNet: like the toy CNN path, but training is compared in samples/s and the engine's
    sgemm fraction is printed only if it reports gflops and sgemm_gflops."""
    c = 2 if args.classes is None else args.classes
    B = 32 if args.batch is None else args.batch
    S = 32 if args.sample_batch is None else args.sample_batch
    common = ["--model", "unet", "--classes", str(c), "--size", str(args.size), "--channels", str(args.channels),
              "--mult", args.mult, "--blocks", str(args.blocks), "--batch", str(B), "--sample-batch", str(S),
              "--seconds", str(args.seconds), "--json"]
    results = {"gaflow": [], "pytorch": []}
    engine_error = None
    for t in [int(x) for x in args.threads.split(",")]:
        if engine_error is None:
            try:
                r = run_engine([args.engine, "bench"] + common + ["--threads", str(t)])
                results["gaflow"].append(r)
                extra = ""
                if "gflops" in r and "sgemm_gflops" in r:
                    extra = "  (%.1f GFLOP/s train, %.1f sample, sgemm %.1f)" % (
                        r["gflops"], r.get("sample_gflops", float("nan")), r["sgemm_gflops"])
                print("%-8s threads %d: %8.2f train samples/s  %8.1f evals/s%s" % (
                    "gaflow", t, r["train_samples_per_s"], r["evals_per_s"], extra), flush=True)
            except EngineFailed as e:
                engine_error = str(e)
                print("gaflow   threads %d: ENGINE FAILED: %s" % (t, engine_error), flush=True)
                print("         (does this gaflow-cli have `bench --model unet`? PyTorch is still measured)",
                      flush=True)
        r = run(["/usr/bin/python3", os.path.join(HERE, "torch_reference.py")] + common + ["--threads", str(t)])
        results["pytorch"].append(r)
        print("%-8s threads %d: %8.2f train samples/s  %8.1f evals/s" % (
            "pytorch", t, r["train_samples_per_s"], r["evals_per_s"]), flush=True)

    print()
    print("best of each side, model unet, c = %d, %d x %d, C = %d, mult %s, %d blocks, batch %d, sample batch %d:" % (
        c, args.size, args.size, args.channels, args.mult, args.blocks, B, S))
    if engine_error is not None:
        results["engine_error"] = engine_error
    for metric in ("train_samples_per_s", "evals_per_s"):
        p = max(results["pytorch"], key=lambda r: r[metric])
        if results["gaflow"] and engine_error is None:
            e = max(results["gaflow"], key=lambda r: r[metric])
            print("  %-20s gaflow %8.2f (%d threads)  pytorch %8.2f (%d threads)  ratio %.2fx" % (
                metric, e[metric], e["threads"], p[metric], p["threads"], e[metric] / p[metric]))
        else:
            print("  %-20s gaflow      n/a               pytorch %8.2f (%d threads)" % (
                metric, p[metric], p["threads"]))
    if engine_error is None:
        e = max(results["gaflow"], key=lambda r: r["train_samples_per_s"])
        if "gflops" in e and "sgemm_gflops" in e and e["sgemm_gflops"] > 0:
            line = "  engine reaches %.0f%% (training)" % (100 * e["gflops"] / e["sgemm_gflops"])
            if "sample_gflops" in e:
                line += " and %.0f%% (sampling)" % (100 * e["sample_gflops"] / e["sgemm_gflops"])
            print(line + " of the sgemm rate measured in the same run")
    else:
        print("  no ratios: the engine failed (%s)" % engine_error)
    if args.json_out:
        with open(args.json_out + ".tmp", "w") as f:
            json.dump(results, f, indent=1)
        os.replace(args.json_out + ".tmp", args.json_out)
    return 0 if engine_error is None else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--engine", required=True, help="path to gaflow-cli")
    ap.add_argument("--model", default="toy-cnn", choices=["toy-cnn", "unet"])
    ap.add_argument("--classes", type=int, help="classes c (default 160; unet 2)")
    ap.add_argument("--batch", type=int, help="training batch (default 128; unet 32)")
    ap.add_argument("--sample-batch", type=int, help="sampling batch (default 4096; unet 32)")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--size", type=int, default=32, help="unet: image side")
    ap.add_argument("--channels", type=int, default=32, help="unet: base channels C")
    ap.add_argument("--mult", default="1,2,2,2", help="unet: channel multipliers")
    ap.add_argument("--blocks", type=int, default=2, help="unet: residual blocks per level")
    ap.add_argument("--json-out", help="also write all measurements to this file")
    args = ap.parse_args()
    if args.model == "unet":
        return main_unet(args)
    if args.classes is None:
        args.classes = 160
    if args.batch is None:
        args.batch = 128
    if args.sample_batch is None:
        args.sample_batch = 4096

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
