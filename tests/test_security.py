"""Nothing on a load path can run code: no pickle anywhere in ganzoo or its plugin packages, hostile data files are
refused in bounded memory, and plugins come only from installed entry points, never from the current folder."""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganzoo.data.common import load_dataset
from ganzoo.errors import DataError
from ganzoo.registry import default_registry
from ganzoo.specs import DataRequest

ROOT = Path(__file__).resolve().parents[1]
# Calls that deserialise with pickle (or can): none may appear in code that loads anything.
UNSAFE = re.compile(r"\bimport pickle\b|\bpickle\.loads?\(|\btorch\.load\(|allow_pickle\s*=\s*True|\bmarshal\.loads?\(|"
                    r"\bdill\b|\bjoblib\.load\(|\bcloudpickle\b|\bshelve\.open\(|\bnp\.load\((?![^)]*allow_pickle=False)")


def test_no_pickle_on_any_load_path_in_ganzoo_or_its_plugins() -> None:
    sources = [*ROOT.joinpath("ganzoo").rglob("*.py"), *ROOT.joinpath("plugins").glob("*/*/*.py")]
    assert len(sources) > 30
    offenders = [f"{p.relative_to(ROOT)}:{n}: {line.strip()}" for p in sources
                 for n, line in enumerate(p.read_text().splitlines(), 1) if UNSAFE.search(line)]
    assert not offenders, offenders


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b""))


def _folder(request_dir: Path):
    return load_dataset(default_registry().get("dataset", "folder"), DataRequest(data_dir=str(request_dir)))


def test_decompression_bomb_zero_length_and_non_utf8_names_in_an_image_folder(tmp_path: Path) -> None:
    (tmp_path / "bomb.png").write_bytes(_png_header_only(100_000, 100_000))  # 10^10 pixels claimed in 200 bytes
    (tmp_path / "empty.png").write_bytes(b"")
    good = (np.random.default_rng(0).random((16, 16)) * 255).astype("uint8")
    Image.fromarray(good).save(tmp_path / "ok.png")
    os.rename(tmp_path / "ok.png", os.path.join(os.fsencode(tmp_path), b"ok\xff\xfe.png"))  # not valid UTF-8
    with pytest.warns(UserWarning, match=r"skipped 2 file\(s\).*bomb\.png \(DecompressionBombError\).*empty\.png"):
        data = _folder(tmp_path)
    assert len(data.x) == 1  # the readable image, found under its undecodable name
    assert Image.MAX_IMAGE_PIXELS is not None  # Pillow's bomb limit is kept, never switched off


def test_a_folder_of_only_hostile_files_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "bomb.png").write_bytes(_png_header_only(100_000, 100_000))
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.warns(UserWarning), pytest.raises(DataError, match="no readable images"):
        _folder(tmp_path)


@pytest.mark.skipif(shutil.which("prlimit") is None, reason="bounds the memory with prlimit")
def test_an_idx_header_claiming_billions_of_images_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    (tmp_path / "train-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 0x803, 3_000_000_000, 28, 28) + bytes(100))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(struct.pack(">II", 0x801, 3_000_000_000) + bytes(100))
    import sys

    # 4 GB of address space cannot hold the claimed 2.3 TB: the loader must refuse before allocating
    proc = subprocess.run(["prlimit", "--as=4000000000", sys.executable, "-m", "ganzoo", "data", "mnist", "--data-dir",
                           str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert "header claims (3000000000, 28, 28)" in proc.stderr and "Traceback" not in proc.stderr


def test_plugins_never_come_from_the_current_folder(tmp_path: Path) -> None:
    import sys

    marker = tmp_path / "imported.txt"
    # modules named like an installed plugin and like ganzoo's own, planted in the folder the command runs in
    for name in ("ganzoo_sngan.py", "ganzoo_evil.py"):
        (tmp_path / name).write_text(f"open({str(marker)!r}, 'w').write('{name}')\n")
    script = Path(sys.executable).parent / "ganzoo"
    proc = subprocess.run([str(script), "list", "--json"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert not marker.exists()
    assert any(row["package"] == "ganzoo-sngan" for row in json.loads(proc.stdout))
