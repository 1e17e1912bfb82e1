"""Decoding and encoding from many threads at once gives exactly what one thread gives."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

import roicodec


@pytest.fixture(scope="module")
def files(astronaut, tmp_path_factory) -> list:
    folder = tmp_path_factory.mktemp("concurrency")
    paths = []
    for i, (y, x) in enumerate([(0, 0), (100, 200), (250, 60), (300, 300)]):
        image = np.ascontiguousarray(astronaut[y:y + 96 + 8 * i, x:x + 128])
        mask = np.zeros(image.shape[:2], bool)
        mask[20:70, 30:100] = True
        paths.append(folder / f"{i}.roi")
        roicodec.encode(image, mask, paths[-1])
    return paths


def _pillow_levels(path) -> list[np.ndarray]:
    with Image.open(path) as im:
        out = []
        for k in range(im.n_frames):
            im.seek(k)
            out.append(np.asarray(im))
        return out


def test_parallel_decoding_matches_serial(files) -> None:
    serial = {}
    for p in files:
        with roicodec.open(p) as f:
            serial[p] = f.decode_all()
    work = [files[0]] * 8 + files * 4  # the same file from 8 threads, then different files
    with ThreadPoolExecutor(8) as pool:
        api = list(pool.map(lambda p: roicodec.decode(p, 2), work))
        pillow = list(pool.map(_pillow_levels, work))
    for path, a, levels in zip(work, api, pillow):
        assert np.array_equal(a, serial[path][2])
        assert all(np.array_equal(x, y) for x, y in zip(levels, serial[path]))


def test_parallel_encoding_matches_serial(astronaut) -> None:
    crops = [np.ascontiguousarray(astronaut[i * 40:i * 40 + 80, i * 30:i * 30 + 112]) for i in range(8)]
    serial = [roicodec.encode(c) for c in crops]
    with ThreadPoolExecutor(8) as pool:
        parallel = list(pool.map(roicodec.encode, crops + crops))
    assert parallel == serial + serial
