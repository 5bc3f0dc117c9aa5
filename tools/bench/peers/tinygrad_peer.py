#!/usr/bin/env python3
"""tinygrad (PyPI, tinygrad.llm) on a GGUF file: load, TTFT, prefill and decode rates.

  /work/venv/bin/python tools/bench/peers/tinygrad_peer.py --model M.gguf --threads 2 \
      --prompt-tokens 512 --new-tokens 64

Uses tinygrad.llm.model.Transformer.from_gguf and its generate() (greedy, prefill in chunks
of --chunk tokens, decode by TinyJit replay) on tinygrad's CPU device with NUM_CPU_THREADS =
--threads, or on the device DEV names (e.g. DEV=CUDA:PTX JIT=2 on an H100 host without NVRTC;
docs/benchmarks.md). tinygrad casts every GGUF weight to float16 at load (quantized files are
dequantized), and it does not apply llama3 RoPE scaling: timings only, not the same numbers.
A warmup request of the same prompt length compiles the kernels first (tinygrad caches them
on disk too); ttft/prefill/decode are the second request. --prompt-ids runs a given prompt
(`kiln bench llm` passes the one Kiln ran). Prints one JSON object; a file tinygrad cannot
load gives {"peer", "model", "threads", "error"} instead (exit status 0).
"""
import importlib.metadata
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_common  # noqa: E402


def install_amd_kernels_shim():
    """tinygrad 0.14.0's wheel and sdist lack tinygrad/llm/kernels/ (a packaging slip), which
    tinygrad.llm.model imports for its RDNA3-only custom kernels. On a CPU those paths are never
    taken (amd_custom_kernels_supported is False), so the module is stood in for with plain
    nn.Linear and a False capability check, as tinygrad does on every non-AMD device."""
    try:
        import tinygrad.llm.kernels.amd  # noqa: F401
        return
    except ModuleNotFoundError:
        pass
    import types
    from tinygrad import nn

    def unavailable(*_args, **_kwargs):
        raise RuntimeError("AMD custom kernels are not available in this tinygrad install")

    pkg = types.ModuleType("tinygrad.llm.kernels")
    amd = types.ModuleType("tinygrad.llm.kernels.amd")
    amd.Linear = nn.Linear
    amd.gated_delta_prefill = unavailable
    amd.flash_attention = unavailable
    amd.amd_custom_kernels_supported = lambda device: False
    pkg.amd = amd
    sys.modules["tinygrad.llm.kernels"] = pkg
    sys.modules["tinygrad.llm.kernels.amd"] = amd


def main():
    args = peer_common.parse_args(__doc__)
    os.environ["NUM_CPU_THREADS"] = str(args.threads)
    os.environ.setdefault("DEV", "CPU")
    os.environ.setdefault("CPU", "1")
    import tinygrad
    install_amd_kernels_shim()
    from tinygrad.llm.model import Transformer

    chunk = int(os.environ.get("TINYGRAD_PREFILL_CHUNK", "32"))
    t0 = time.perf_counter()
    try:
        model, _kv = Transformer.from_gguf(args.model, max_context=args.prompt_tokens + args.new_tokens + 16,
                                           realize=True)
    except Exception as e:  # e.g. a GGUF weight type tinygrad's gguf_load does not decode
        peer_common.error("tinygrad", args, f"tinygrad {importlib.metadata.version('tinygrad')} cannot load "
                          f"{os.path.basename(args.model)}: {type(e).__name__}: {e}"[:400])
        return
    load_s = time.perf_counter() - t0
    vocab = int(model.token_embd.weight.shape[0])
    if args.prompt:
        measured = args.prompt
        warm = [(x + 1) % vocab for x in measured]  # differs at every position: no cached prefix
    else:
        measured = peer_common.prompt_ids(args.prompt_tokens, args.seed)
        warm = peer_common.prompt_ids(args.prompt_tokens, args.seed + 1)

    def run(prompt, new_tokens):
        t_start = time.perf_counter()
        gen = model.generate(list(prompt), chunk_size=chunk, temperature=0.0)
        next(gen)
        t_first = time.perf_counter()
        for _ in range(new_tokens - 1):
            next(gen)
        t_end = time.perf_counter()
        return t_first - t_start, t_end - t_first, t_start

    t_w = time.perf_counter()
    run(warm, 4)
    warmup_s = time.perf_counter() - t_w
    ttft, decode_s, _ = run(measured, args.new_tokens)
    peer_common.report(
        "tinygrad", args, version=importlib.metadata.version("tinygrad"), load_s=load_s, warmup_s=warmup_s,
        ttft_s=ttft, prefill_tok_s=args.prompt_tokens / ttft,
        decode_tok_s=(args.new_tokens - 1) / decode_s if args.new_tokens > 1 else 0.0, prefill_chunk=chunk)


if __name__ == "__main__":
    main()
