"""Decode speed of LlamaChatModel.stream against raw llama_cpp create_completion on the same model and prompt."""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Iterable
from pathlib import Path

from secondme.core.protocols import ChatMessage, GenerationOptions
from secondme.models.bundled import ensure_model
from secondme.models.llama import LlamaChatModel
from secondme.paths import data_dir

MESSAGES: list[ChatMessage] = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Write a long, detailed story about a lighthouse keeper and a storm."},
]


def decode_rate(pieces: Iterable[object]) -> tuple[float, int]:
    """Tokens per second after the first piece (prompt time excluded), and the number of pieces."""
    stamps = [time.perf_counter() for _ in pieces]
    if len(stamps) < 2:
        return 0.0, len(stamps)
    return (len(stamps) - 1) / (stamps[-1] - stamps[0]), len(stamps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="small", choices=["small", "answer"])
    parser.add_argument("--models-dir", type=Path, default=None, help="default: <data dir>/models")
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    path = ensure_model(args.model, args.models_dir or data_dir() / "models")
    model = LlamaChatModel(path, n_ctx=2048, n_threads=args.threads)
    llama = model._llama  # the same loaded weights for both sides
    prompt = model._render(model._formatters[1], MESSAGES) if model._formatters else MESSAGES[1]["content"]
    options = GenerationOptions(max_tokens=args.tokens, temperature=0.0, seed=0)

    rows: dict[str, list[float]] = {"raw create_completion": [], "LlamaChatModel.stream": []}
    counts: dict[str, int] = {}
    for _ in range(args.runs):
        raw = llama.create_completion(prompt, max_tokens=args.tokens, temperature=0.0, seed=0, stream=True)
        rate, counts["raw create_completion"] = decode_rate(raw)
        rows["raw create_completion"].append(rate)
        rate, counts["LlamaChatModel.stream"] = decode_rate(model.stream(MESSAGES, options))
        rows["LlamaChatModel.stream"].append(rate)

    # best-of-N is the figure least disturbed by other load on the machine; medians are shown too
    best = {name: max(rates) for name, rates in rows.items()}
    medians = {name: statistics.median(rates) for name, rates in rows.items()}
    ratio = best["LlamaChatModel.stream"] / best["raw create_completion"]
    print(f"model {path.name}, {args.threads} threads, {args.runs} runs, up to {args.tokens} tokens")
    print(f"{'path':<24}{'tokens':>8}{'best tok/s':>12}{'median tok/s':>14}   runs tok/s")
    for name, rates in rows.items():
        runs = " ".join(f"{r:.1f}" for r in rates)
        print(f"{name:<24}{counts[name]:>8}{best[name]:>12.1f}{medians[name]:>14.1f}   {runs}")
    print(f"ratio stream/raw (best of {args.runs}): {ratio:.3f} (goal >= 0.95)")
    model.close()
    print(
        json.dumps(
            {
                "bench": "decode",
                "model": args.model,
                "raw_tok_s": round(best["raw create_completion"], 2),
                "stream_tok_s": round(best["LlamaChatModel.stream"], 2),
                "ratio": round(ratio, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
