"""Answer quality and speed of the built-in chat models on the sample notes, in one run.

For each question: does the answer contain the expected words, and does it cite the note that
holds them? Prints a table per model and ends with one JSON line.
Run: SECONDME_HOME=$(mktemp -d) .venv/bin/python bench/answer_quality.py [--models small answer]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import replace

from secondme import config as config_module
from secondme.app import build
from secondme.assets import sample_notes_dir
from secondme.demo import DEMO_OWNER
from secondme.ingestion import Ingestor
from secondme.paths import data_dir

# (question, words that must all appear in the answer, file name of the note that holds them)
CASES = [
    ("What is the name of the climbing gym I go to?", ["Blockhaus"], "Climbing.md"),
    ("When is Tomas's birthday?", ["14 June"], "Tomas.md"),
    ("What gift did I plan for Tomas?", ["chalk bag"], "Gift ideas.md"),
    ("Where am I flying in May?", ["Lisbon"], "Trip to Lisbon.md"),
    ("What does my sister Ines do for work?", ["nurse"], "Family.md"),
    ("Who is my manager?", ["Priya"], "Project Heron.md"),
    ("When is the public launch of Heron?", ["15 September"], "Project Heron.md"),
    ("What is my cat called?", ["Pixel"], "About me.md"),
    ("Which evening is my climbing night?", ["Thursday"], "Climbing.md"),
    ("What is Tomas allergic to?", ["peanut"], "Tomas.md"),
    ("When did I send my first 6A?", ["9 April"], "Climbing.md"),
    ("Where are Ines and I staying in Lisbon?", ["Alfama"], "Trip to Lisbon.md"),
]


def evaluate(model_name: str) -> dict[str, float]:
    home = data_dir()
    config = replace(config_module.load(home), owner=DEMO_OWNER)
    config = replace(config, model=replace(config.model, bundled=model_name, path="", endpoint=""))
    services = build(config, home)
    Ingestor(services.store).ingest([sample_notes_dir()])
    assistant = services.assistant()
    correct = cited = 0
    seconds: list[float] = []
    print(f"\nmodel: {model_name}")
    for question, words, note in CASES:
        start = time.perf_counter()
        answer = assistant.ask(question)
        seconds.append(time.perf_counter() - start)
        ok = all(w.lower() in answer.text.lower() for w in words)
        cite = any(c.record.origin.endswith(note) for c in answer.citations)
        correct += ok
        cited += cite
        print(f"  {'ok ' if ok else 'BAD'} {'cite' if cite else '----'} {seconds[-1]:5.1f}s  {question} -> "
              f"{' '.join(answer.text.split())[:90]}")
    services.close()
    n = len(CASES)
    return {"correct": round(correct / n, 3), "cites_source": round(cited / n, 3),
            "median_s": round(statistics.median(seconds), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", nargs="+", default=["small", "answer"], choices=["small", "answer"])
    args = parser.parse_args()
    results = {name: evaluate(name) for name in args.models}
    print("\nmodel    correct  cites source  median s/answer")
    for name, r in results.items():
        print(f"{name:8} {r['correct']:7.2f}  {r['cites_source']:12.2f}  {r['median_s']:15.2f}")
    print(json.dumps({"bench": "answer_quality", "questions": len(CASES), **results}))


if __name__ == "__main__":
    main()
