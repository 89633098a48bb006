"""Benchmark: end-to-end ingest of a generated 5,000-note Markdown vault with the real MiniLM embedder.

Reports records/s including embedding and the share of the time spent embedding. Baselines in
the same run: parsing alone, embedding the same texts alone in batches of 64 (a sample of 1,000,
scaled to all), and a second ingest of the unchanged vault (what a re-run or `--watch` start costs).
Run: python bench/notes.py [--quick] [--notes N].
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

WORDS = ("garden river meeting climbing project budget dinner train tomato fern letter camera coffee museum "
         "weekend doctor invoice birthday recipe harbour mountain library bicycle concert ferry cabin laptop "
         "sister neighbour review launch draft market bakery storm holiday lesson tram island").split()
EMBED_SAMPLE = 1000  # texts embedded alone for the baseline (every k-th), scaled to all
TAGS = ("travel", "family", "work", "health", "ideas", "reading")


def _sentence(rng: random.Random, titles: Sequence[str]) -> str:
    words = rng.choices(WORDS, k=rng.randint(8, 18))
    if titles and rng.random() < 0.25:
        words.insert(rng.randrange(len(words)), f"[[{rng.choice(titles)}]]")
    return " ".join(words).capitalize() + "."


def make_vault(folder: Path, notes: int, seed: int = 7, sentences: int = 6) -> list[Path]:
    """`notes` Obsidian-style notes (front matter, headings, paragraphs of up to `sentences` sentences,
    wikilinks, tags) in `folder`."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    titles = [f"Note {n:05d} {rng.choice(WORDS)}" for n in range(notes)]
    paths = []
    for n, title in enumerate(titles):
        lines = ["---", f"date: 20{20 + n % 6}-{1 + n % 12:02d}-{1 + n % 28:02d}",
                 f"tags: [{', '.join(rng.sample(TAGS, 2))}]", "---", f"# {title}", ""]
        for section in range(rng.randint(1, 3)):
            lines += [f"## Part {section + 1}", ""] if section else []
            for _ in range(rng.randint(1, 3)):
                lines += [" ".join(_sentence(rng, titles) for _ in range(rng.randint(1, sentences))), ""]
        path = folder / f"{title}.md"
        path.write_text("\n".join(lines), encoding="utf-8")
        paths.append(path)
    return paths


class TimedEmbedder:
    """The real embedder, with the seconds spent inside it counted."""

    def __init__(self, inner: object) -> None:
        self.inner, self.seconds, self.texts = inner, 0.0, 0
        self.name, self.dimension = inner.name, inner.dimension  # type: ignore[attr-defined]

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        began = time.perf_counter()
        try:
            return self.inner.embed(texts)  # type: ignore[attr-defined]
        finally:
            self.seconds += time.perf_counter() - began
            self.texts += len(texts)


def bench(notes: int) -> dict[str, float]:
    from ingest.notes import parse_note
    from secondme.ingestion import Ingestor
    from secondme.memory.crypto import Cipher
    from secondme.memory.store import MemoryStore
    from secondme.models.embedder import MiniLMEmbedder

    folder = Path(tempfile.mkdtemp(prefix="secondme-bench-notes-"))
    try:
        paths = make_vault(folder / "vault", notes)
        began = time.perf_counter()
        items = [item for path in paths for item in parse_note(path)]
        parse_s = time.perf_counter() - began

        embedder = TimedEmbedder(MiniLMEmbedder())
        embedder.embed(["warm-up"])
        embedder.seconds = embedder.texts = 0
        store = MemoryStore(folder / "home", Cipher(bytes(32)), embedder)  # type: ignore[arg-type]
        began = time.perf_counter()
        report = Ingestor(store).ingest([folder / "vault"])
        ingest_s = time.perf_counter() - began
        embed_in_ingest_s = embedder.seconds

        began = time.perf_counter()
        again = Ingestor(store).ingest([folder / "vault"])
        rerun_s = time.perf_counter() - began
        store.close()

        texts = [f"{i.title}\n{i.text}" for i in items]
        sample = texts[::max(1, len(texts) // EMBED_SAMPLE)]
        began = time.perf_counter()
        for start in range(0, len(sample), 64):
            embedder.inner.embed(sample[start:start + 64])  # type: ignore[attr-defined]
        embed_only_s = (time.perf_counter() - began) * len(texts) / len(sample)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert not report.errors and report.added == len(items) and again.added == 0, (report, again)
    return {
        "notes": notes, "records": report.added, "ingest_s": ingest_s, "records_per_s": report.added / ingest_s,
        "embedding_share": embed_in_ingest_s / ingest_s, "embed_in_ingest_s": embed_in_ingest_s,
        "embed_only_batch64_s": embed_only_s, "parse_only_s": parse_s, "rerun_unchanged_s": rerun_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 notes (CI size)")
    parser.add_argument("--notes", type=int, default=5000)
    args = parser.parse_args()
    r = bench(500 if args.quick else args.notes)
    print(f"{r['notes']:,} notes -> {r['records']:,} records ingested in {r['ingest_s']:.1f} s: "
          f"{r['records_per_s']:.1f} records/s including embedding")
    print(f"  embedding inside the ingest  {r['embed_in_ingest_s']:7.1f} s  ({r['embedding_share']:.0%} of the time)")
    print(f"  baseline: embedding alone    {r['embed_only_batch64_s']:7.1f} s  (same texts, batches of 64, sampled; "
          f"ingest / this = {r['ingest_s'] / r['embed_only_batch64_s']:.2f})")
    print(f"  baseline: parsing alone      {r['parse_only_s']:7.1f} s  "
          f"({r['records'] / r['parse_only_s']:,.0f} records/s)")
    print(f"  re-ingest, nothing changed   {r['rerun_unchanged_s']:7.1f} s  "
          f"({r['notes'] / r['rerun_unchanged_s']:,.0f} files/s)")
    print(json.dumps({"bench": "notes", **{k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()}}))


if __name__ == "__main__":
    main()
