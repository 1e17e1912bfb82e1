"""The graphs the package runs its models with: what ships is what the exporter makes from the torch modules, they
compute what torch computes (within a grey level where float order differs), and they refuse weights of another
shape."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from shared_data import kodak

from roicodec import weights
from roicodec.errors import ModelMismatchError
from roicodec.models import registry, runtime, store
from roicodec.models.base_model import BaseModel


@pytest.mark.read_only
def test_threads_follow_the_environment(monkeypatch) -> None:
    monkeypatch.delenv("ROICODEC_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert runtime.threads() == 0
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert runtime.threads() == 1
    monkeypatch.setenv("ROICODEC_THREADS", "3")
    assert runtime.threads() == 3
    monkeypatch.setenv("ROICODEC_THREADS", "many")
    with pytest.raises(ValueError, match="ROICODEC_THREADS"):
        runtime.threads()


@pytest.mark.read_only
def test_every_shipped_model_has_its_graphs() -> None:
    for name, info in registry.available().items():
        meta = weights.read_meta(info.path)
        config = meta.get("config", {"latent_channels": meta["latent_channels"]})
        for part in runtime.PARTS[meta["architecture"]]:
            assert (runtime.GRAPHS / runtime.graph_name(meta["architecture"], config, part)).is_file(), (name, part)


@pytest.mark.read_only
def test_graph_metadata_is_read_without_onnx() -> None:
    path = next(runtime.GRAPHS.glob("FactorizedAutoencoder-*.g_s.onnx"))
    meta = runtime._metadata(path.read_bytes())
    assert meta["architecture"] == "FactorizedAutoencoder" and meta["part"] == "g_s"
    assert "g_s.1.gamma" in json.loads(meta["parameters"])


@pytest.mark.read_only
def test_a_decoder_graph_that_cannot_be_made_fails_the_decode_in_one_line(astronaut, tmp_path, monkeypatch) -> None:
    """The synthesis graph is made in another thread while the latent is entropy decoded: its failure still reaches
    the caller, with the message of the thread that needed it."""
    import roicodec

    data = roicodec.encode(astronaut[:64, :64], model="rd-q2")
    monkeypatch.setattr(runtime, "GRAPHS", tmp_path)  # no graphs there
    registry._load.cache_clear()
    try:
        with pytest.raises(ModelMismatchError, match="no g_s graph"):
            roicodec.decode(data)
    finally:
        monkeypatch.undo()
        registry._load.cache_clear()
    assert roicodec.decode(data).shape == (64, 64, 3)


@pytest.mark.read_only
def test_a_graph_for_other_weights_is_refused(tmp_path) -> None:
    meta, arrays = weights.read(registry.info("rd-q1").path)
    params = runtime.parameters(arrays)
    config = meta["config"]
    with pytest.raises(ModelMismatchError, match="no g_s graph"):
        runtime.Graph("FactorizedAutoencoder", dict(config, channels=32), "g_s", params)
    # A graph renamed to claim another part says what it was made for.
    real = runtime.GRAPHS / runtime.graph_name("FactorizedAutoencoder", config, "g_s")
    (tmp_path / runtime.graph_name("FactorizedAutoencoder", config, "g_a")).write_bytes(real.read_bytes())
    with pytest.raises(ModelMismatchError, match="was made for"):
        runtime.Graph("FactorizedAutoencoder", config, "g_a", params, tmp_path)
    # Parameters of another shape: ONNX Runtime's own check, in our words.
    wrong = dict(params, **{"g_s.0.weight": params["g_s.0.weight"][:, :32]})
    with pytest.raises(ModelMismatchError, match="does not fit these weights"):
        runtime.Graph("FactorizedAutoencoder", config, "g_s", wrong)
    del params["g_s.1.beta"]
    with pytest.raises(ModelMismatchError, match="lack: g_s.1.beta"):
        runtime.Graph("FactorizedAutoencoder", config, "g_s", params)


@pytest.mark.read_only
def test_decoding_is_the_same_at_any_thread_count(small_file) -> None:
    """ONNX Runtime's convolutions split work by output, never a sum: unlike torch, the thread count does not move a
    pixel (batch workers run on one thread)."""
    code = "import hashlib, sys, roicodec; print(hashlib.sha256(roicodec.decode(sys.stdin.buffer.read(), 0)).hexdigest())"
    out = set()
    for threads in ("1", "2"):
        run = subprocess.run([sys.executable, "-c", code], input=small_file, capture_output=True, check=True,
                             env={**os.environ, "ROICODEC_THREADS": threads})
        out.add(run.stdout)
    assert len(out) == 1


# ------------------------------------------------------------------------- against torch and the exporter (full install)


def test_shipped_graphs_equal_a_fresh_export() -> None:
    export_onnx = pytest.importorskip("training.export_onnx")
    fresh: dict[str, bytes] = {}
    for path in sorted(registry.WEIGHTS.glob("*.npz")):
        fresh.update(export_onnx.graphs_for(*weights.read(path)))
    shipped = {p.name: p.read_bytes() for p in runtime.GRAPHS.glob("*.onnx")}
    assert sorted(shipped) == sorted(fresh), "graphs without a weight file, or weights without graphs"
    assert [name for name in fresh if shipped[name] != fresh[name]] == []


def _kodak_images(step: int) -> list[np.ndarray]:
    return [np.asarray(Image.open(p).convert("RGB")) for p in kodak()[::step]]


@pytest.mark.parametrize("name", sorted(registry.available()))
def test_graphs_compute_what_torch_computes(name: str) -> None:
    """On Kodak: the latent of g_a and the pixels of g_s (and of the preview head) against the torch modules that
    were trained. Pixels may differ by one grey level where the sums run in another order, rarely."""
    torch = pytest.importorskip("torch")
    from roicodec.models import nets

    info = registry.info(name)
    meta, arrays = store.read(info.path)  # with borrowed transforms filled in
    model = BaseModel(meta, arrays)
    net = nets.build(meta, arrays)
    preview_path = registry._preview_of(info.path, meta)[0]
    head = nets.build_preview(weights.read(preview_path)[1]) if preview_path.exists() else None
    if head is not None:
        model.attach_preview(weights.read(preview_path)[1])
    differing = cells = pixels = 0
    for image in _kodak_images(8):
        h, w = image.shape[:2]
        latent = model.analyse(image, 1024)
        with torch.inference_mode():
            x = torch.from_numpy(image.copy()).permute(2, 0, 1)[None].float().div_(255.0)
            reference = torch.round(net.g_a(x))[0].numpy()
            # Cells that round the other way sit on a .5 boundary: at most one step off.
            assert np.abs(reference - latent).max() <= 1
            cells += int((reference != latent).sum())
            data, latent = model.code(latent)
            y = torch.from_numpy(latent.astype(np.float32))[None]
            want = net.g_s(y)[0].mul_(255.0).round_().clamp_(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
        (tile,) = model.tiles(h, w, 1024)
        got = model.synthesise_tile(latent, tile)
        diff = np.abs(got.astype(int) - want[:h, :w].astype(int))
        assert diff.max() <= 1
        differing += int((diff > 0).sum())
        pixels += diff.size
        if head is not None:
            with torch.inference_mode():
                want = head(y)[0].mul_(255.0).round_().clamp_(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
            got = model.preview(data, h, w, 1024)
            assert np.abs(got.astype(int) - want.astype(int)).max() <= 1
    assert differing / pixels < 1e-3, f"{differing} of {pixels} channel values differ by one"
    assert cells / latent.size < 1e-3
