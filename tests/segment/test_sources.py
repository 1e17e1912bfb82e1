"""Model sources: the zoo by name with a checkpoint the test saved itself, URLs through the cache, local pairs."""

import hashlib
import shutil

import numpy as np
import pytest

from roicodec.errors import RoiError
from roicodec.segment import EMBEDDED, NUCLEI, SALIENT, load_segmenter, model_names, resolve
from roicodec.segment.build import build_model
from roicodec.segment.checkpoints import read_checkpoint

torch = pytest.importorskip("torch")
pytest.importorskip("mmseg")


class NotATensor:
    """Stands for anything a checkpoint may pickle besides tensors."""


@pytest.fixture(autouse=True)
def fresh_segmenters(monkeypatch, tmp_path):
    monkeypatch.setenv("ROICODEC_CACHE", str(tmp_path / "cache"))
    load_segmenter.cache_clear()
    yield
    load_segmenter.cache_clear()


@pytest.mark.parametrize("name", ["upernet-swin-t-ade20k", "upernet-swin-s-ade20k", "upernet-swin-b-ade20k"])
def test_zoo_names_point_at_configs_in_the_wheel_and_checkpoints_in_its_metafile(name) -> None:
    source = resolve(name)
    assert source.config.is_file() and source.config.parent.name == "swin" and ".mim" in source.config.parts
    assert source.checkpoint.startswith("https://") and source.checkpoint.endswith(".pth")
    assert "person" in source.roi_classes and source.short_side == 512
    assert resolve(source.config.stem).checkpoint == source.checkpoint


def test_zoo_model_builds_by_name_and_loads_a_checkpoint_saved_here(tmp_path) -> None:
    name = "upernet-swin-t-ade20k"
    net = build_model(resolve(name).config)
    torch.manual_seed(0)
    with torch.no_grad():
        net.decode_head.conv_seg.bias.normal_()
    path = tmp_path / "swin-t.pth"
    torch.save({"state_dict": net.state_dict(), "meta": {"note": "saved by the test"}}, path)
    segmenter = load_segmenter(name, str(path))
    assert torch.equal(segmenter.model.decode_head.conv_seg.bias, net.decode_head.conv_seg.bias)
    assert len(segmenter.classes) == 150 and segmenter.classes[7] == "bed" and "car" in segmenter.classes
    segmenter.short_side = None  # a 64x64 input keeps the test quick
    seg = segmenter(np.random.default_rng(0).integers(0, 256, (64, 64, 3), np.uint8))
    assert seg.labels.shape == (64, 64) and seg.labels.max() < 150


def test_url_checkpoints_load_through_the_cache(tmp_path) -> None:
    shipped = resolve(EMBEDDED).checkpoint
    cache = tmp_path / "cache"
    cache.mkdir()
    shutil.copy(shipped, cache / "pico.npz")
    reference = load_segmenter(EMBEDDED).model.state_dict()
    # Pre-populated cache: the URL's host is never contacted.
    from_cache = load_segmenter(EMBEDDED, "https://example.invalid/models/pico.npz")
    assert torch.equal(from_cache.model.backbone.patch_embed.projection.weight,
                       reference["backbone.patch_embed.projection.weight"])
    # A file:// URL goes through the download path into the cache.
    served = tmp_path / "served"
    served.mkdir()
    torch.save(reference, served / "pico.pth")
    assert load_segmenter(EMBEDDED, (served / "pico.pth").as_uri()).name == EMBEDDED
    assert (cache / "pico.pth").is_file()


def test_local_config_and_checkpoint_pair(tmp_path) -> None:
    config = tmp_path / "my_swin.py"
    shutil.copy(resolve(EMBEDDED).config, config)
    torch.save(build_model(config).state_dict(), tmp_path / "my_swin.pth")
    segmenter = load_segmenter(str(config), str(tmp_path / "my_swin.pth"))
    assert segmenter.name == "my_swin" and segmenter.classes[8] == "Car" and "Car" in segmenter.roi_classes
    with pytest.raises(RoiError, match="needs its checkpoint"):
        resolve(str(config))


def test_pickled_objects_load_only_from_a_hash_named_file(tmp_path) -> None:
    state = {"w": torch.ones(2)}
    plain = tmp_path / "model.pth"
    torch.save({"state_dict": state, "meta": {"obj": NotATensor()}}, plain)
    with pytest.raises(RoiError, match="other than tensors"):
        read_checkpoint(plain)
    named = tmp_path / f"model-{hashlib.sha256(plain.read_bytes()).hexdigest()[:8]}.pth"
    shutil.copy(plain, named)
    meta, loaded = read_checkpoint(named)
    assert torch.equal(loaded["w"], state["w"]) and isinstance(meta["obj"], NotATensor)


def test_wrong_names_and_mismatched_checkpoints_are_clear_errors(tmp_path) -> None:
    with pytest.raises(RoiError, match="unknown segmentation model 'nope'.*swin-pico-camvid"):
        resolve("nope")
    assert model_names()[:3] == [SALIENT, NUCLEI, EMBEDDED] and resolve("camvid").name == EMBEDDED
    torch.save({"unrelated": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(RoiError, match="does not fit"):
        load_segmenter(EMBEDDED, str(tmp_path / "other.pth"))
    with pytest.raises(RoiError, match="not found"):
        load_segmenter(EMBEDDED, str(tmp_path / "absent.pth"))
