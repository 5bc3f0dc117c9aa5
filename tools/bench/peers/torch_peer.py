#!/usr/bin/env python3
"""PyTorch + transformers on a Hugging Face folder: TTFT, prefill and decode rates (eager).

  python tools/bench/peers/torch_peer.py --model DIR/hf --device cuda --prompt-tokens 128 \
      --new-tokens 256 [--dtype bf16] [--prefill-tokens 512]

Greedy `generate` (batch 1, KV cache, eager attention as transformers picks it). One warmup
request first. ttft_s: `generate` of 1 token for the prompt; decode_tok_s: (N - 1) / (time of a
`generate` of N tokens minus that TTFT). prefill_tok_s: one forward of --prefill-tokens ids
(synchronized). Prints one JSON object in the peer_common format.
"""
import argparse
import importlib.metadata
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_common  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", required=True, help="a Hugging Face folder")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--dtype", choices=["bf16", "f16", "f32"], default="bf16")
    ap.add_argument("--prompt-tokens", type=int, default=128)
    ap.add_argument("--new-tokens", type=int, default=256)
    ap.add_argument("--prefill-tokens", type=int, default=512)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0, help="unused (peer_common's field)")
    args = ap.parse_args()
    import torch
    from transformers import AutoModelForCausalLM

    dt = {"bf16": torch.bfloat16, "f16": torch.float16, "f32": torch.float32}[args.dtype]
    dev = torch.device(args.device)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    t0 = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(args.model, torch_dtype=dt).to(dev).eval()
    sync()
    load_s = time.perf_counter() - t0

    def ids(n, seed):
        return torch.tensor([peer_common.prompt_ids(n, seed)], device=dev)

    def gen(prompt, n):
        sync()
        t = time.perf_counter()
        with torch.no_grad():
            out = model.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=n,
                                 min_new_tokens=n, do_sample=False, pad_token_id=0)
        sync()
        assert out.shape[1] == prompt.shape[1] + n
        return time.perf_counter() - t

    gen(ids(args.prompt_tokens, args.seed + 1), 8)  # warmup
    prompt = ids(args.prompt_tokens, args.seed)
    ttft = gen(prompt, 1)
    total = gen(prompt, args.new_tokens)
    decode = (args.new_tokens - 1) / max(total - ttft, 1e-9)

    long = ids(args.prefill_tokens, args.seed + 2)
    with torch.no_grad():
        model(long)  # warmup at this length
        sync()
        t = time.perf_counter()
        model(long)
        sync()
        prefill_s = time.perf_counter() - t
    peer_common.report("pytorch+transformers", args, version=torch.__version__,
                       transformers=importlib.metadata.version("transformers"), device=str(dev),
                       dtype=args.dtype, attn=getattr(model.config, "_attn_implementation", "?"),
                       load_s=load_s, ttft_s=ttft, prefill_tokens=args.prefill_tokens,
                       prefill_tok_s=args.prefill_tokens / prefill_s, decode_tok_s=decode)


if __name__ == "__main__":
    main()
