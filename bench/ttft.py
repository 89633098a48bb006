"""Time to first token with a ~1,500-token stable prefix: cold, restored from the disk cache, follow-up turns."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from secondme.core.protocols import ChatMessage, GenerationOptions
from secondme.memory.crypto import Cipher
from secondme.models.bundled import ensure_model
from secondme.models.llama import LlamaChatModel
from secondme.models.prefix_cache import PrefixStore
from secondme.paths import data_dir

PROFILE = "You are Ana's second self: answer as she would, briefly. What you know about her:\n" + "\n".join(
    f"- Memory {i}: on day {i} Ana met friend {i % 23} in city {i % 13}, talked about project {i % 7} "
    f"and noted hobby {i % 11}."
    for i in range(46)
)
QUESTIONS = [
    "Who did Ana meet on day 12?",
    "Which city was that in?",
    "What project did they talk about?",
    "Name one of her hobbies.",
    "Summarise day 30 in one sentence.",
    "Which friend did she meet most often?",
    "What did she do on day 7?",
]


def first_token_seconds(
    model: LlamaChatModel, messages: list[ChatMessage], options: GenerationOptions
) -> tuple[float, str]:
    """Seconds to the first piece, and the whole answer."""
    start = time.perf_counter()
    stream = model.stream(messages, options)
    first = next(stream)
    elapsed = time.perf_counter() - start
    return elapsed, first + "".join(stream)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="small", choices=["small", "answer"])
    parser.add_argument("--models-dir", type=Path, default=None, help="default: <data dir>/models")
    parser.add_argument("--turns", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2, help="cold and restored runs (best is reported)")
    args = parser.parse_args()

    path = ensure_model(args.model, args.models_dir or data_dir() / "models")
    options = GenerationOptions(max_tokens=24, temperature=0.0, stable_prefix=1)
    system: ChatMessage = {"role": "system", "content": PROFILE}
    first_turn: list[ChatMessage] = [system, {"role": "user", "content": QUESTIONS[0]}]

    with tempfile.TemporaryDirectory() as tmp:
        state_dir = Path(tmp)
        sealer = Cipher(os.urandom(32)).sealer("prefix-cache")  # the cache is encrypted, as in the app
        colds = []
        for _ in range(args.repeats):
            cold_model = LlamaChatModel(path, n_threads=args.threads)  # no prefix_store: no disk cache at all
            colds.append(first_token_seconds(cold_model, first_turn, options)[0])
            prefix_tokens = cold_model.count_tokens(PROFILE)
            cold_model.close()

        disk_cache = PrefixStore(state_dir, sealer)
        saving_model = LlamaChatModel(path, n_threads=args.threads, prefix_store=disk_cache)
        cold_and_save, _ = first_token_seconds(saving_model, first_turn, options)
        saving_model.close()
        state_bytes = sum(f.stat().st_size for f in state_dir.iterdir())

        restores = []
        for _ in range(args.repeats):
            chat_model = LlamaChatModel(path, n_threads=args.threads, prefix_store=disk_cache)  # a "new process"
            seconds, answer = first_token_seconds(chat_model, first_turn, options)
            restores.append(seconds)
            if len(restores) < args.repeats:
                chat_model.close()

        history = [*first_turn, {"role": "assistant", "content": answer}]
        follow_ups: list[float] = []
        for question in QUESTIONS[1 : args.turns + 1]:
            history.append({"role": "user", "content": question})
            seconds, answer = first_token_seconds(chat_model, history, options)
            follow_ups.append(seconds)
            history.append({"role": "assistant", "content": answer})
        chat_model.close()

    # best-of-N is the figure least disturbed by other load on the machine
    cold, restored = min(colds), min(restores)
    p50 = statistics.median(follow_ups)
    print(f"model {path.name}, {args.threads} threads, stable prefix {prefix_tokens} tokens")
    print(f"{'case':<44}{'TTFT s':>10}")
    print(f"{'cold (new instance, no disk cache), best':<44}{cold:>10.3f}   " + " ".join(f"{s:.3f}" for s in colds))
    print(f"{'cold + save prefix state':<44}{cold_and_save:>10.3f}")
    print(
        f"{'restored from disk (new instance), best':<44}{restored:>10.3f}   " + " ".join(f"{s:.3f}" for s in restores)
    )
    print(f"{'follow-up turns, same instance (p50)':<44}{p50:>10.3f}   " + " ".join(f"{s:.3f}" for s in follow_ups))
    print(f"prefix state file: {state_bytes / 1e6:.1f} MB; cold/restored = {cold / restored:.1f}x (goal >= 20x)")
    print(
        json.dumps(
            {
                "bench": "ttft",
                "model": args.model,
                "prefix_tokens": prefix_tokens,
                "cold_s": round(cold, 3),
                "restored_s": round(restored, 3),
                "ratio": round(cold / restored, 1),
                "follow_up_p50_s": round(p50, 3),
                "state_file_mb": round(state_bytes / 1e6, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
