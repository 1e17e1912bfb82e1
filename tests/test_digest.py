import hashlib
import os

from roicodec import digest
from roicodec.models import registry


def test_sha256_streams_the_file(tmp_path) -> None:
    data = os.urandom(3 * (1 << 20) + 7)  # more than one read block
    (tmp_path / "f").write_bytes(data)
    assert digest.sha256(tmp_path / "f") == hashlib.sha256(data).digest()


def test_cached_until_size_or_mtime_change(tmp_path, monkeypatch) -> None:
    path = tmp_path / "w.npz"
    path.write_bytes(b"one")
    calls = []
    real = digest.sha256
    monkeypatch.setattr(digest, "sha256", lambda p: calls.append(p) or real(p))
    first = digest.cached_sha256(path)
    assert digest.cached_sha256(path) == first and len(calls) == 1
    path.write_bytes(b"other")
    os.utime(path, ns=(1, 1))
    assert digest.cached_sha256(path) == hashlib.sha256(b"other").digest() and len(calls) == 2


def test_registry_hashes_each_weight_file_once(monkeypatch) -> None:
    registry.available()  # whatever earlier tests left in the cache
    calls = []
    real = digest.sha256
    monkeypatch.setattr(digest, "sha256", lambda p: calls.append(p) or real(p))
    for _ in range(5):
        registry.info()
        registry.available()
    assert calls == []
