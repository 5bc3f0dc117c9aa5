"""Shared by the LLM peer benchmarks: arguments, the prompt, peak RSS and the JSON line.

Every peer prints one JSON object on stdout:
  {"peer", "model", "threads", "prompt_tokens", "new_tokens",
   "load_s", "ttft_s", "prefill_tok_s", "decode_tok_s", "peak_rss_mb", ...}
load_s: opening the model until it can run (weights read/mapped, no generation).
ttft_s: a prompt of --prompt-tokens ids in, first token out (after one warmup request, so
compilation/first-touch is not counted). prefill_tok_s = prompt_tokens / (prefill time).
decode_tok_s: greedy tokens after the first, one at a time, batch 1.
peak_rss_mb: the process's peak resident set (getrusage ru_maxrss; mapped weights count once read).
"""
import argparse
import json
import resource
import sys

import numpy as np


def parse_args(description):
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--model", required=True, help="a GGUF file")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--prompt-tokens", type=int, default=512)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0, help="for the prompt's random token ids")
    ap.add_argument("--prompt-ids", default="",
                    help="comma-separated prompt ids (e.g. the prompt `kiln bench llm` ran); overrides "
                         "--prompt-tokens and --seed")
    args = ap.parse_args()
    args.prompt = [int(x) for x in args.prompt_ids.split(",") if x.strip()]
    if args.prompt:
        args.prompt_tokens = len(args.prompt)
    return args


def error(peer, args, message):
    """The one JSON line of a peer that could not run this file (e.g. a weight type it cannot load)."""
    json.dump({"peer": peer, "model": args.model, "threads": args.threads, "error": message}, sys.stdout)
    sys.stdout.write("\n")


def prompt_ids(n, seed, bos=128000, low=1000, high=100000):
    """BOS and n-1 random ordinary token ids (the same for every peer with the same seed)."""
    rng = np.random.default_rng(seed)
    return [bos] + [int(x) for x in rng.integers(low, high, size=n - 1)]


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def report(peer, args, **fields):
    out = {"peer": peer, "model": args.model, "threads": args.threads, "prompt_tokens": args.prompt_tokens,
           "new_tokens": args.new_tokens}
    out.update({k: (round(v, 4) if isinstance(v, float) else v) for k, v in fields.items()})
    out["peak_rss_mb"] = round(peak_rss_mb(), 1)
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
