"""Pillow image plugin for ``.roi``: ``Image.open`` reads the header only; ``load()`` decodes the current level.

Frames are levels: frame 0 is the base layer, frame k adds enhancement layers 1..k inside the ROI. A file opens on
its highest complete level, so programs that never call ``seek`` get the best image in the file.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import IO

from PIL import Image, ImageFile

from roicodec import codec
from roicodec.container import SIGNATURE

FORMAT = "ROI"
MIME = "image/x-roi"
EXTENSION = ".roi"


def _accept(prefix: bytes) -> bool:
    return prefix.startswith(SIGNATURE)


class RoiImageFile(ImageFile.ImageFile):
    format = FORMAT
    format_description = "roicodec region-of-interest image"
    # Levels are decoded from the same file after load(), so Pillow must not close it then.
    _close_exclusive_fp_after_loading = False

    def _open(self) -> None:
        assert self.fp is not None
        self._roi = codec.RoiFile(self.fp)
        self._size = self._roi.size
        self._mode = self._roi.mode
        self.n_frames = self._roi.levels
        self.is_animated = False
        self.info.update(
            qualities=self._roi.qualities,
            model=self._roi.model,
            levels=[asdict(level) for level in self._roi.level_info],
            metadata=self._roi.metadata,
        )
        self._fp = self.fp
        self._frame = -1
        self.seek(self.n_frames - 1)

    def seek(self, frame: int) -> None:
        """Choose the level that ``load()`` decodes: 0 is the base, ``n_frames - 1`` the highest in the file."""
        if not self._seek_check(frame):
            return
        self._frame = frame
        self.fp = self._fp
        self.tile = [ImageFile._Tile("roicodec", (0, 0, *self.size), 0, (self._roi, frame))]

    def tell(self) -> int:
        return self._frame


class _RoiDecoder(ImageFile.PyDecoder):
    _pulls_fd = True

    def decode(self, buffer: bytes | Image.SupportsArrayInterface) -> tuple[int, int]:
        roi, level = self.args
        self.set_as_raw(roi.decode(level).tobytes())
        return -1, 0


def _save(im: Image.Image, fp: IO[bytes], filename: str | bytes) -> None:
    """``im.save(path, "ROI", mask=..., qualities=(75, 90, 100), model=..., tile=1024, metadata={...})``.

    No mask: the whole image is the ROI.
    """
    options = im.encoderinfo
    fp.write(codec.encode(im, options.get("mask"), qualities=options.get("qualities", codec.DEFAULT_QUALITIES),
                          model=options.get("model"), tile=options.get("tile", codec.DEFAULT_TILE),
                          metadata=options.get("metadata")))


def register_pillow() -> None:
    """Teach Pillow to open and save ``.roi`` files (done on ``import roicodec``; repeating it is harmless)."""
    Image.register_open(FORMAT, RoiImageFile, _accept)
    Image.register_save(FORMAT, _save)
    Image.register_extension(FORMAT, EXTENSION)
    Image.register_mime(FORMAT, MIME)
    Image.register_decoder("roicodec", _RoiDecoder)
