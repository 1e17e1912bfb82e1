import hashlib

import pytest

from roicodec.errors import RoiError
from roicodec.segment import cache


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("ROICODEC_CACHE", str(tmp_path / "c"))
    assert cache.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("ROICODEC_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_dir() == tmp_path / "xdg" / "roicodec"


def test_a_cached_file_is_used_without_the_network(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("ROICODEC_CACHE", str(tmp_path))
    (tmp_path / "model.pth").write_bytes(b"x")
    # .invalid never resolves: reaching the network would fail the test.
    assert cache.fetch("https://example.invalid/zoo/model.pth") == tmp_path / "model.pth"


def test_file_url_is_downloaded_once_and_hash_checked(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("ROICODEC_CACHE", str(tmp_path / "cache"))
    payload = b"weights"
    good = tmp_path / f"m-{hashlib.sha256(payload).hexdigest()[:8]}.pth"
    good.write_bytes(payload)
    path = cache.fetch(good.as_uri())
    assert path.parent == tmp_path / "cache" and path.read_bytes() == payload and cache.hash_verified(path)
    good.unlink()
    assert cache.fetch(good.as_uri()) == path

    bad = tmp_path / "m-00000000.pth"
    bad.write_bytes(payload)
    with pytest.raises(RoiError, match="wrong SHA-256"):
        cache.fetch(bad.as_uri())
    assert not (tmp_path / "cache" / bad.name).exists()
    with pytest.raises(RoiError, match="cannot download"):
        cache.fetch((tmp_path / "absent.pth").as_uri())
