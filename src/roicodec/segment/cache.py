"""Where downloaded checkpoints live, and the one function that puts them there.

The cache directory is ``$ROICODEC_CACHE`` when set, else ``$XDG_CACHE_HOME/roicodec`` (``~/.cache/roicodec``).
A file is named after the last part of its URL; one that is already there is used without touching the network.
"""

from __future__ import annotations

import os
import re
import shutil
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from roicodec import atomic, digest
from roicodec.errors import RoiError

ENV_VAR = "ROICODEC_CACHE"
# OpenMMLab (like torch.hub) ends checkpoint names with the first hex digits of the file's SHA-256.
_HASH_IN_NAME = re.compile(r"-([0-9a-f]{8,64})\.[A-Za-z0-9]+$")


def cache_dir() -> Path:
    """The checkpoint cache directory (not created here)."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "roicodec"


def is_url(location: str | Path) -> bool:
    return isinstance(location, str) and urllib.parse.urlsplit(location).scheme in ("http", "https", "file")


def cached_path(url: str) -> Path:
    """Where ``url`` is, or will be, cached."""
    name = Path(urllib.parse.unquote(urllib.parse.urlsplit(url).path)).name
    if not name:
        raise RoiError(f"cannot name a cache file after {url!r}: the URL must end in a file name")
    return cache_dir() / name


def hash_verified(path: Path, name: str | None = None) -> bool:
    """Whether ``name`` (default: the file's own) carries a SHA-256 prefix that the file's bytes match."""
    match = _HASH_IN_NAME.search(name or path.name)
    if match is None:
        return False
    return digest.sha256(path).hex().startswith(match.group(1))


def fetch(url: str) -> Path:
    """The cached copy of ``url``, downloaded first if it is not in the cache yet."""
    path = cached_path(url)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(url, timeout=60) as response, atomic.replacing(path) as out:
            shutil.copyfileobj(response, out, 1 << 20)
            out.flush()
            # Checked before the rename: a corrupt download never takes the cached name.
            if _HASH_IN_NAME.search(path.name) and not hash_verified(Path(out.name), path.name):
                raise _WrongHash
    except _WrongHash:
        raise RoiError(f"{url} downloaded with the wrong SHA-256 (its name says otherwise); try again") from None
    except (urllib.error.URLError, OSError) as exc:
        raise RoiError(f"cannot download {url} into {path.parent} ({exc}); without a network, put the file there "
                       f"yourself or set {ENV_VAR} to a folder that holds it") from exc
    return path


class _WrongHash(Exception):
    pass
