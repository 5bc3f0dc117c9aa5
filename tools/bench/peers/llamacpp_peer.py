#!/usr/bin/env python3
"""llama.cpp (through llama-cpp-python) on a GGUF file: load, TTFT, prefill and decode rates.

  /work/venv/bin/python tools/bench/peers/llamacpp_peer.py --model M.gguf --threads 2 \
      --prompt-tokens 512 --new-tokens 64

Prefill is one llama_decode per 512-token batch (llama.cpp's default n_batch/n_ubatch);
decode feeds one token at a time and picks the argmax of the last logits (greedy).
Prints one JSON object (see peer_common.py).
"""
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_common  # noqa: E402


def main():
    args = peer_common.parse_args(__doc__)
    from llama_cpp import Llama
    import llama_cpp

    t0 = time.perf_counter()
    llm = Llama(model_path=args.model, n_ctx=args.prompt_tokens + args.new_tokens + 16, n_batch=512, n_ubatch=512,
                n_threads=args.threads, n_threads_batch=args.threads, verbose=False)
    load_s = time.perf_counter() - t0
    n_vocab = llm.n_vocab()

    def last_logits():
        return np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(n_vocab,))

    def run(prompt, new_tokens):
        llm.reset()
        llm._ctx.kv_cache_clear() if hasattr(llm._ctx, "kv_cache_clear") else None
        t_start = time.perf_counter()
        llm.eval(prompt)
        tok = int(np.argmax(last_logits()))
        t_first = time.perf_counter()
        for _ in range(new_tokens - 1):
            llm.eval([tok])
            tok = int(np.argmax(last_logits()))
        t_end = time.perf_counter()
        return t_first - t_start, t_end - t_first

    # warmup: first touch of the mapped weights, thread pool start
    run(peer_common.prompt_ids(args.prompt_tokens, args.seed + 1), 4)
    ttft, decode_s = run(peer_common.prompt_ids(args.prompt_tokens, args.seed), args.new_tokens)
    peer_common.report(
        "llama.cpp", args, version=llama_cpp.__version__, load_s=load_s, ttft_s=ttft,
        prefill_tok_s=args.prompt_tokens / ttft,
        decode_tok_s=(args.new_tokens - 1) / decode_s if args.new_tokens > 1 else 0.0)


if __name__ == "__main__":
    main()
