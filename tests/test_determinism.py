"""A file written in one process decodes in another, whatever thread count each used: for every shipped base model.

With a hyperprior model (``hp-*``) the decoder recomputes each latent cell's coding table from the hyper-latent; if it
computed one index differently from the encoder, the range decoder would desynchronise and the rest of the plane
would be noise. The encoder runs in a fresh interpreter at 1 runtime thread (``ROICODEC_THREADS``), the decoder here
at the default (2 on this machine) and in a fresh one at 4, and the decoded latent must be the encoder's, symbol for
symbol.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

import roicodec
from roicodec import container
from roicodec.models import registry

ENCODE = """
import sys
import numpy as np
import roicodec
from roicodec.models import registry
image = np.load(sys.argv[1])
roicodec.encode(image, None, sys.argv[2], model=sys.argv[3], ladder="exact")
model = registry.load(sys.argv[3])
latent = model.code(model.analyse(image, 1024))[1]
np.save(sys.argv[4], latent)
"""
DECODE = """
import sys
import numpy as np
import roicodec
with roicodec.open(sys.argv[1]) as f:
    np.save(sys.argv[2], f.decode(0))
"""


def _threads(n: int) -> dict[str, str]:
    # The runtime reads its thread count once per process, from the environment.
    return dict(os.environ, ROICODEC_THREADS=str(n))


def _one_per_family() -> list[str]:
    # The members of a family share their architecture and code path; one each keeps the subprocesses few.
    families: dict[str, str] = {}
    for name in sorted(registry.available()):
        families.setdefault(name.split("-q")[0], name)
    return sorted(families.values())


@pytest.mark.parametrize("model", _one_per_family())
def test_a_file_from_another_process_and_thread_count_decodes_to_the_same_latent(model, astronaut, tmp_path) -> None:
    image = np.ascontiguousarray(astronaut[40:200, 100:340])
    np.save(tmp_path / "image.npy", image)
    path = tmp_path / "x.roi"
    subprocess.run([sys.executable, "-c", ENCODE, str(tmp_path / "image.npy"), str(path), model,
                    str(tmp_path / "latent.npy")], check=True, env=_threads(1))
    encoder_latent = np.load(tmp_path / "latent.npy")
    with roicodec.open(path) as f:
        assert f.model[0] == model
        assert np.array_equal(f.decode(), image)  # the exact level, whatever the base
        base_here = f.decode(0)
        payload = container.read_payloads(f._fp, f.layout, 0, 0)[container.BASE][0]
    h, w = image.shape[:2]
    assert np.array_equal(registry.load(model).uncode(payload, h, w), encoder_latent)
    subprocess.run([sys.executable, "-c", DECODE, str(path), str(tmp_path / "base4.npy")], check=True,
                   env=_threads(4))
    base_four = np.load(tmp_path / "base4.npy")
    # The synthesis is floating point: other thread counts may move a pixel by a grey level, never more.
    assert np.abs(base_four.astype(int) - base_here).max() <= 1
    assert np.mean(np.abs(base_here.astype(int) - image)) < 30  # a base of the image, not desynchronised noise


def test_encoding_gives_the_same_bytes_at_one_and_two_threads(astronaut, tmp_path) -> None:
    # The stretch of issue 17: encode-many's single-threaded workers and a two-thread `roicodec encode` must write
    # the same file. Each runs in a fresh process, since the runtime reads its thread count once.
    image = np.ascontiguousarray(astronaut[:192, :256])
    np.save(tmp_path / "image.npy", image)
    script = ("import sys, numpy as np, roicodec; "
              "roicodec.encode(np.load(sys.argv[1]), None, sys.argv[2], ladder='avif:50,exact')")
    for threads in (1, 2):
        subprocess.run([sys.executable, "-c", script, str(tmp_path / "image.npy"), str(tmp_path / f"{threads}.roi")],
                       check=True, env=_threads(threads))
    assert (tmp_path / "1.roi").read_bytes() == (tmp_path / "2.roi").read_bytes()
