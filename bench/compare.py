#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Side-by-side throughput of gaflow-cli bench and the PyTorch reference (bench/torch_reference.py).

Each side runs at 1 and 2 threads; the best setting of each side is compared, metric by metric,
and the ratios engine / PyTorch are printed (this machine is shared and noisy: ratios, not seconds).
--model toy-cnn (default) is the class-scaling CNN at --classes c; --model unet is the image UNet of
docs/method.md §3 (--size, --channels, --mult, --blocks; defaults c = 2, 32 x 32, C = 32, (1,2,2,2), 2 blocks,
batch 32, sample batch 32). Both sides must build the network with the same number of parameters.

--env as-set measures with the environment as it is; --env unset removes OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE from the environment of the measured processes only (OpenBLAS then picks its kernel
for the CPU); --env both does one after the other in the same run. The OpenBLAS kernel each side runs
is printed with its numbers. --attn-check (unet) also measures the engine with attention at half the
image side (--attn 16 at 32 x 32: five more attention blocks) at its best thread count, in --attn-pairs
adjacent pairs of runs with and without it (the order alternating), and prints the median of the pairs'
sampling-rate ratios, once with the engine sampling in float and once in bf16 (--attn-precision; bf16 where
the CPU has AVX-512 BF16). The comparisons with PyTorch are all in float.

If the engine cannot run a configuration, PyTorch is still measured and the engine's error is
reported; the exit status is then 1.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


class EngineFailed(Exception):
    pass


def environment(which):
    env = dict(os.environ)
    if which == "unset":
        for k in OPENBLAS_VARS:
            env.pop(k, None)
    return env


def describe_env(which):
    if which == "unset":
        return "OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset"
    return "environment as set (%s)" % ", ".join(
        "%s=%s" % (k, os.environ[k]) if k in os.environ else "%s unset" % k for k in OPENBLAS_VARS)


def load_average():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def run(cmd, env):
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True, env=env).stdout
    lines = [l for l in out.splitlines() if l.strip().startswith("{")]
    return json.loads(lines[-1])


def run_engine(cmd, env):
    """Like run(), but any failure (missing binary, non-zero exit, no JSON) becomes EngineFailed
    with the engine's own message."""
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
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


def torch_blas_core(env):
    """The OpenBLAS kernel PyTorch's process runs with in this environment: torch is imported in a
    process with the same environment, and openblas_get_corename is called in the OpenBLAS it loaded."""
    probe = ("import ctypes, torch\n"
             "libs = sorted({l.split()[-1] for l in open('/proc/self/maps') if 'libopenblas' in l})\n"
             "f = ctypes.CDLL(libs[0]).openblas_get_corename if libs else None\n"
             "if f: f.restype = ctypes.c_char_p\n"
             "print(f().decode() + ' (' + libs[0].split('/')[-1] + ')' if f else 'no OpenBLAS loaded')\n")
    try:
        lib = subprocess.run(["/usr/bin/python3", "-c", probe], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=env)
        return lib.stdout.strip() or ("unknown: " + lib.stderr.strip().splitlines()[-1])
    except (OSError, IndexError) as e:
        return "unknown (%s)" % e


def check_params(results):
    e = {r["params"] for r in results["gaflow"]}
    p = {r["params"] for r in results["pytorch"]}
    if e and p:
        same = "agree" if e == p else "DIFFER"
        print("  parameters: gaflow %s, pytorch %s (%s)" % (
            ",".join("{:,}".format(x) for x in e), ",".join("{:,}".format(x) for x in p), same))
        return e == p
    return True


def measure_unet(args, env):
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
                r = run_engine([args.engine, "bench"] + common + ["--threads", str(t)], env)
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
        r = run(["/usr/bin/python3", os.path.join(HERE, "torch_reference.py")] + common + ["--threads", str(t)], env)
        results["pytorch"].append(r)
        print("%-8s threads %d: %8.2f train samples/s  %8.1f evals/s" % (
            "pytorch", t, r["train_samples_per_s"], r["evals_per_s"]), flush=True)

    print()
    print("best of each side, model unet, c = %d, %d x %d, C = %d, mult %s, %d blocks, batch %d, sample batch %d:" % (
        c, args.size, args.size, args.channels, args.mult, args.blocks, B, S))
    if engine_error is not None:
        results["engine_error"] = engine_error
    results["ratios"] = {}
    for metric in ("train_samples_per_s", "evals_per_s"):
        p = max(results["pytorch"], key=lambda r: r[metric])
        if results["gaflow"] and engine_error is None:
            e = max(results["gaflow"], key=lambda r: r[metric])
            results["ratios"][metric] = e[metric] / p[metric]
            print("  %-20s gaflow %8.2f (%d threads)  pytorch %8.2f (%d threads)  ratio %.2fx" % (
                metric, e[metric], e["threads"], p[metric], p["threads"], e[metric] / p[metric]))
        else:
            print("  %-20s gaflow      n/a               pytorch %8.2f (%d threads)" % (
                metric, p[metric], p["threads"]))
    if engine_error is None:
        if not check_params(results):
            engine_error = "the two sides built networks of different sizes"
        e = max(results["gaflow"], key=lambda r: r["train_samples_per_s"])
        if "gflops" in e and "sgemm_gflops" in e and e["sgemm_gflops"] > 0:
            line = "  engine reaches %.0f%% (training)" % (100 * e["gflops"] / e["sgemm_gflops"])
            if "sample_gflops" in e:
                line += " and %.0f%% (sampling)" % (100 * e["sample_gflops"] / e["sgemm_gflops"])
            print(line + " of the sgemm rate measured in the same run (convolutions counted as direct ones)")
        if "gemm_gflops" in e:
            print("  the products the engine ran: %.1f GFLOP/s (training), %.1f (sampling)" % (
                e["gemm_gflops"], e.get("sample_gemm_gflops", float("nan"))))
    if engine_error is None and args.attn_check:
        # The two networks measured in adjacent pairs at the best sampling thread count, so that the machine's
        # drift between runs cancels within a pair, the order alternating from pair to pair (with attention
        # first, then without it first, ...); the ratio reported is the median of the pairs' ratios, each printed.
        # Both networks of a pair sample in the same precision; bf16 is skipped where the engine refuses it.
        best = max(results["gaflow"], key=lambda r: r["evals_per_s"])
        res = args.size // 2
        for prec in args.attn_precision.split(","):
            plain = [args.engine, "bench"] + common + ["--threads", str(best["threads"])]
            if prec != "float":
                plain += ["--precision", prec]
                probe = subprocess.run(plain + ["--seconds", "0.01", "--json"], env=env, capture_output=True,
                                       text=True)
                if probe.returncode != 0:
                    print("  --attn %d in %s: not measured (%s)" % (res, prec, probe.stderr.strip()))
                    continue
            key = "attn16" if prec == "float" else "attn16_" + prec
            pairs = []
            try:
                for i in range(args.attn_pairs):
                    if i % 2 == 0:
                        a = run_engine(plain + ["--attn", str(res)], env)
                        b = run_engine(plain, env)
                    else:
                        b = run_engine(plain, env)
                        a = run_engine(plain + ["--attn", str(res)], env)
                    pairs.append((a, b))
                    print("  %s pair %d (%d threads, %s first): --attn %d %.1f evals/s, without %.1f: %.2fx" % (
                        prec, i + 1, best["threads"], "attention" if i % 2 == 0 else "without", res,
                        a["evals_per_s"], b["evals_per_s"], a["evals_per_s"] / b["evals_per_s"]), flush=True)
            except EngineFailed as e:
                engine_error = str(e)
                print("  --attn %d: ENGINE FAILED: %s" % (res, engine_error))
                break
            if pairs:
                ratios = sorted(a["evals_per_s"] / b["evals_per_s"] for a, b in pairs)
                median = ratios[len(ratios) // 2] if len(ratios) % 2 else 0.5 * (ratios[len(ratios) // 2 - 1] +
                                                                                     ratios[len(ratios) // 2])
                train = sorted(a["train_samples_per_s"] / b["train_samples_per_s"] for a, b in pairs)
                results[key] = [a for a, b in pairs]
                results[key + "_pairs"] = [[a["evals_per_s"], b["evals_per_s"]] for a, b in pairs]
                results["ratios"][key + "_sampling"] = median
                print("  --attn %d sampling in %s = %.2fx the rate without it (median of %d pairs, %.2f-%.2f; "
                      "training %.2fx)" % (res, prec, median, len(pairs), ratios[0], ratios[-1],
                                           train[len(train) // 2]))
    if engine_error is not None:
        print("  no ratios: the engine failed (%s)" % engine_error)
        results["engine_error"] = engine_error
    return results


def measure_toy(args, env):
    classes = 160 if args.classes is None else args.classes
    batch = 128 if args.batch is None else args.batch
    sample_batch = 4096 if args.sample_batch is None else args.sample_batch
    common = ["--model", "toy-cnn", "--classes", str(classes), "--batch", str(batch),
              "--sample-batch", str(sample_batch), "--seconds", str(args.seconds), "--json"]
    results = {"gaflow": [], "pytorch": []}
    for t in [int(x) for x in args.threads.split(",")]:
        for side, cmd in (("gaflow", [args.engine, "bench"]),
                          ("pytorch", ["/usr/bin/python3", os.path.join(HERE, "torch_reference.py")])):
            r = run(cmd + common + ["--threads", str(t)], env)
            results[side].append(r)
            extra = ""
            if side == "gaflow":
                extra = "  (%.1f GFLOP/s train, %.1f sample, sgemm %.1f)" % (
                    r["gflops"], r["sample_gflops"], r["sgemm_gflops"])
            print("%-8s threads %d: %8.2f train steps/s  %10.0f evals/s%s" % (
                side, t, r["train_steps_per_s"], r["evals_per_s"], extra), flush=True)

    print()
    print("best of each side, model toy-cnn, c = %d, batch %d, sample batch %d:" % (classes, batch, sample_batch))
    results["ratios"] = {}
    for metric in ("train_steps_per_s", "evals_per_s"):
        e = max(results["gaflow"], key=lambda r: r[metric])
        p = max(results["pytorch"], key=lambda r: r[metric])
        results["ratios"][metric] = e[metric] / p[metric]
        print("  %-18s gaflow %10.2f (%d threads)  pytorch %10.2f (%d threads)  ratio %.2fx" % (
            metric, e[metric], e["threads"], p[metric], p["threads"], e[metric] / p[metric]))
    ok = check_params(results)
    e = max(results["gaflow"], key=lambda r: r["train_steps_per_s"])
    results["ratios"]["train_sgemm_fraction"] = e["gflops"] / e["sgemm_gflops"]
    print("  engine reaches %.0f%% (training) and %.0f%% (sampling) of the sgemm rate measured in the same run" % (
        100 * e["gflops"] / e["sgemm_gflops"], 100 * e["sample_gflops"] / e["sgemm_gflops"]))
    if not ok:
        results["engine_error"] = "the two sides built networks of different sizes"
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
    ap.add_argument("--env", default="as-set", choices=["as-set", "unset", "both"],
                    help="OpenBLAS variables as set, unset (in the measured processes only), or both in turn")
    ap.add_argument("--attn-check", action="store_true", help="unet: also the engine with --attn SIZE/2")
    ap.add_argument("--attn-precision", default="float,bf16",
                    help="unet --attn-check: the sampling precisions to measure the pairs in (default float,bf16; "
                         "bf16 is skipped where the engine refuses it)")
    ap.add_argument("--attn-pairs", type=int, default=4,
                    help="unet --attn-check: adjacent pairs of runs with and without attention, the order alternating (default 4)")
    ap.add_argument("--json-out", help="also write all measurements to this file")
    args = ap.parse_args()

    envs = ["as-set", "unset"] if args.env == "both" else [args.env]
    everything = {}
    failed = False
    for which in envs:
        env = environment(which)
        print("== %s: %s; load average %s" % (args.model, describe_env(which), load_average()), flush=True)
        core = run_engine([args.engine, "bench", "--model", "toy-cnn", "--classes", "2", "--batch", "1",
                           "--sample-batch", "1", "--threads", "1", "--seconds", "0.01", "--json"], env)["blas_core"]
        print("   OpenBLAS kernel: gaflow %s; pytorch %s" % (core, torch_blas_core(env)), flush=True)
        res = measure_unet(args, env) if args.model == "unet" else measure_toy(args, env)
        res["environment"] = describe_env(which)
        res["load_average_after"] = load_average()
        print("   load average after: %s" % res["load_average_after"])
        print(flush=True)
        everything[which] = res
        failed = failed or "engine_error" in res
    if len(envs) > 1:
        print("summary, %s (ratios engine / PyTorch, each side's best thread count):" % args.model)
        for which in envs:
            r = everything[which]["ratios"]
            print("  %-8s %s" % (which, "  ".join("%s %.2fx" % (k, v) if "fraction" not in k else
                                                  "%s %.0f%%" % (k, 100 * v) for k, v in r.items())))
    if args.json_out:
        with open(args.json_out + ".tmp", "w") as f:
            json.dump(everything, f, indent=1)
        os.replace(args.json_out + ".tmp", args.json_out)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
