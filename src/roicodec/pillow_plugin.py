"""Pillow image plugin for ``.roi``: ``Image.open`` reads the header only; ``load()`` decodes the current level.

Frames are levels: frame 0 is the base layer, frame k adds enhancement layers 1..k inside the ROI. A file opens on
its highest complete level, so programs that never call ``seek`` get the best image in the file. A 16-bit file
opens as mode ``I;16``; its channels (a ``C`` axis) are planes like any other, one gray frame each. A stack of planes
(``info["planes"]`` gives its leading axes) has ``levels`` frames per plane, plane after plane: frame
``plane * levels + level``, with ``plane`` the flat (row-major) index over the leading axes.

``draft()`` (and so ``thumbnail()``) asking for a quarter of the size or less switches to the base layer's preview
at 1/4 size, which skips the full decoder and every enhancement layer: their detail does not survive such a
reduction.

Saving codes one image. ``save_all=True`` (which generic programs pass for every format) saves a single frame like a
plain save and refuses several: a ``.roi`` file's frames are its levels when read, so frames given to it as a stack
would come back as something else; stacks are coded with ``roicodec.encode`` from an array.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from typing import IO, Any

from PIL import Image, ImageFile

from roicodec import codec
from roicodec.container import SIGNATURE, icc_fits
from roicodec.errors import OutputError, RoiError
from roicodec.models import PREVIEW_SCALE

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
        self._levels = self._roi.levels
        self.n_frames = self._levels * self._roi.header.plane_count
        self.is_animated = False
        self.info.update(
            planes=self._roi.planes,
            qualities=self._roi.qualities,
            layers=self._roi.layers,
            model=self._roi.model,
            levels=[asdict(level) for level in self._roi.level_info],
            metadata=self._roi.metadata,
        )
        icc = self._roi.icc_profile
        if icc and icc_fits(icc, self.mode):
            # Where Pillow's own readers put it: ImageCms and the PNG, JPEG, WebP, TIFF writers take it from here.
            self.info["icc_profile"] = icc
        self._fp = self.fp
        self._frame = -1
        self._full_size = self._size
        self.seek(self._levels - 1)

    def save(self, fp: str | bytes | os.PathLike[str] | IO[bytes], format: str | None = None,
             **params: Any) -> None:
        """As Pillow's ``save``, but never over the ``.roi`` file this image was opened from: Pillow truncates the
        target before any plugin runs, so the file's levels and ROI would be lost to a re-encoding of one level."""
        if isinstance(fp, (str, bytes, os.PathLike)) and self.filename:
            try:
                same = os.path.samefile(fp, self.filename)
            except OSError:  # the target does not exist yet
                same = False
            if same:
                raise OutputError(f"cannot save {os.fsdecode(fp)} over the .roi file it was opened from: its levels "
                                  "and ROI would be lost; save to another file (roicodec.redescribe changes only a "
                                  "file's description)")
        super().save(fp, format, **params)

    def seek(self, frame: int) -> None:
        """Choose what ``load()`` decodes: frame ``plane * levels + level``; level 0 is the base."""
        if not self._seek_check(frame):
            return
        self._frame = frame
        self.fp = self._fp
        self._size = self._full_size
        plane, level = divmod(frame, self._levels)
        self.tile = [_tile(self.size, (self._roi, plane, level))]

    def tell(self) -> int:
        return self._frame

    def draft(self, mode: str | None, size: tuple[int, int] | None) -> tuple[str, tuple[int, int, float, float]] | None:
        """For a requested size of 1/4 or less, decode the base layer's 1/4-size preview instead of a level."""
        if not size or not self.tile or self.size != self._full_size or not self._roi.has_preview:
            return None
        if min(self.size[0] // max(size[0], 1), self.size[1] // max(size[1], 1)) < PREVIEW_SCALE:
            return None
        width, height = self.size
        self._size = (-(-width // PREVIEW_SCALE), -(-height // PREVIEW_SCALE))
        plane = self._frame // self._levels
        self.tile = [_tile(self.size, (self._roi, plane, None))]
        return self.mode, (0, 0, width / PREVIEW_SCALE, height / PREVIEW_SCALE)


def _tile(size: tuple[int, int], args: tuple[Any, ...]) -> Any:
    """The one tile ``load()`` decodes. Pillow 11 made tiles a named tuple, ``ImageFile._Tile``; Pillow 10 has none and
    takes the plain tuple, whose fields Pillow unpacks in the same order."""
    fields = ("roicodec", (0, 0, *size), 0, args)
    return ImageFile._Tile(*fields) if hasattr(ImageFile, "_Tile") else fields


class _RoiDecoder(ImageFile.PyDecoder):
    _pulls_fd = True

    def decode(self, buffer: bytes | Image.SupportsArrayInterface) -> tuple[int, int]:
        roi, plane, level = self.args
        pixels = roi.preview(plane) if level is None else roi.decode(level, plane)
        # Pillow's I;16 is little-endian whatever the machine's order.
        self.set_as_raw(pixels.astype(pixels.dtype.newbyteorder("<"), copy=False).tobytes())
        return -1, 0


def _save(im: Image.Image, fp: IO[bytes], filename: str | bytes) -> None:
    """``im.save(path, "ROI", mask=..., ladder="default", max_error=None, model=..., tile=1024, metadata={...},
    icc_profile=...)`` (the profile defaults to the image's own ``info["icc_profile"]``, as Pillow's writers take it);
    ``qualities=(75, 90, 100)`` instead of ``ladder`` gives the paper's JPEG ladder at those qualities.

    No mask: the whole image is the ROI.
    """
    options = im.encoderinfo
    fp.write(codec.encode(im, options.get("mask"), qualities=options.get("qualities"), ladder=options.get("ladder"),
                          max_error=options.get("max_error"),
                          model=options.get("model"), tile=options.get("tile", codec.DEFAULT_TILE),
                          metadata=options.get("metadata"),
                          icc_profile=options.get("icc_profile")))


def _save_all(im: Image.Image, fp: IO[bytes], filename: str | bytes) -> None:
    """``im.save(path, save_all=True)``: a single frame saves as :func:`_save` does; more than one is refused."""
    appended = list(im.encoderinfo.get("append_images") or ())
    frames = getattr(im, "n_frames", 1) + sum(getattr(extra, "n_frames", 1) for extra in appended)
    if frames > 1:
        raise RoiError(f"cannot save {frames} frames as one .roi: a .roi's frames are its levels when read, not a "
                       "stack's planes; code a stack with roicodec.encode(array) from a (Z, Y, X) gray or "
                       "(Z, Y, X, 3) RGB uint8 array, or save one frame without save_all")
    _save(im, fp, filename)


def register_pillow() -> None:
    """Teach Pillow to open and save ``.roi`` files (done on ``import roicodec``; repeating it is harmless)."""
    Image.register_open(FORMAT, RoiImageFile, _accept)
    Image.register_save(FORMAT, _save)
    Image.register_save_all(FORMAT, _save_all)
    Image.register_extension(FORMAT, EXTENSION)
    Image.register_mime(FORMAT, MIME)
    Image.register_decoder("roicodec", _RoiDecoder)
