"""One small adapter per codec in the sweep: encode an image to byte streams, decode a stream to pixels.

``encode`` returns one :class:`Stream` per operating point it makes: a layered codec (roicodec, the paper's scalable
JPEG, JPEG 2000 with quality layers) makes several from one encoding, each holding exactly the bytes a reader of that
point needs, so that rate is counted from real bytes and ``decode`` reads nothing else.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from PIL import Image

import roicodec
from roicodec import container, ladder
from roicodec import mask as roimask
from roicodec.bench.j2k import layer_prefixes
from roicodec.codec import DEFAULT_TILE
from roicodec.models import registry

JPEG_QUALITIES = (2, 3, 4, 5, 10, 20, 35, 50, 75, 90, 100)
"""q2-q4 reach down to the base layers' PSNR (the paper's autoencoder sits between q3 and q4 on Kodak), so that JPEG's
rate at a base layer's quality is read off the curve, not extrapolated."""
WEBP_QUALITIES = (0, 5, 20, 40, 60, 80, 90, 100)
AVIF_QUALITIES = (0, 15, 30, 45, 60, 75, 85, 95)
J2K_BPP = (0.05, 0.1, 0.2, 0.4, 0.8, 1.5, 3.0, 6.0)
SCALABLE_BASE_QUALITIES = (2, 3, 4, 5, 6, 8, 10, 15, 25, 50, 75, 90, 100)
"""Dense where the JPEG base meets roicodec's base PSNR (q3-q5 on Kodak), sparse up to q100 so that the ratio's
dependence on the match shows."""
WEBP_METHOD = 6
AVIF_SPEED = 6


@dataclass(frozen=True)
class Stream:
    """The bytes of one operating point, and what the rows call it."""

    data: bytes
    setting: float | int | None
    """The sweep's knob: quality, JPEG base quality, target bpp of a JPEG 2000 layer; None for roicodec."""
    level: int | None
    """ROI level (0 = base) for the ROI codecs; None for whole-image codecs."""


class Codec(Protocol):
    name: str
    description: str
    jobs: Sequence[Any]
    """One encoding per job; each gives one or several streams."""

    def encode(self, rgb: np.ndarray, mask: np.ndarray, job: Any) -> list[Stream]: ...

    def decode(self, stream: Stream) -> np.ndarray: ...


def _rgb(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


def _level_prefixes(data: bytes) -> list[bytes]:
    """The prefix of a ``.roi`` file that each level needs (docs/format.md: levels end on chunk boundaries)."""
    return [data[:end] for end in container.read_layout(io.BytesIO(data)).level_ends]


@dataclass
class Roicodec:
    """roicodec itself, through its public API: one file per image, each level a prefix of it."""

    qualities: tuple[int, ...] = roicodec.DEFAULT_QUALITIES
    name: str = "roicodec"
    jobs: Sequence[Any] = (None,)

    @property
    def description(self) -> str:
        return (f"`roicodec.encode(image, mask)`: base model `{registry.info().name}`, enhancement layers at JPEG "
                f"qualities {', '.join(map(str, self.qualities))}; level k is the file's prefix up to layer k")

    def encode(self, rgb: np.ndarray, mask: np.ndarray, job: Any) -> list[Stream]:
        data = roicodec.encode(rgb, mask, qualities=self.qualities)
        return [Stream(prefix, None, k) for k, prefix in enumerate(_level_prefixes(data))]

    def decode(self, stream: Stream) -> np.ndarray:
        return roicodec.decode(stream.data, stream.level)


@dataclass
class BaseLayers:
    """The base layer alone, one job per installed base model: the base-only ``.roi`` file of each.

    ``roicodec.encode(image, qualities=(), model=name)`` makes a file with no enhancement layer; its rate counts
    every byte of it (signature, header, base), and it is decoded from those bytes with ``roicodec.decode(data, 0)``.
    The ROI plays no part. The row's setting is the model's name.
    """

    models: tuple[str, ...] = field(default_factory=lambda: tuple(registry.available()))
    name: str = "base"

    @property
    def jobs(self) -> Sequence[Any]:
        return self.models

    @property
    def description(self) -> str:
        identities = registry.available()
        named = ", ".join(f"`{m}` (hash `{identities[m].hash.hex()}`)" for m in self.models)
        return (f"the base layer alone: `roicodec.encode(image, qualities=(), model=name)`, every byte of the "
                f"base-only `.roi` file, decoded with `roicodec.decode(data, 0)`; models {named}")

    def encode(self, rgb: np.ndarray, mask: np.ndarray, job: Any) -> list[Stream]:
        return [Stream(roicodec.encode(rgb, qualities=(), model=job), job, 0)]

    def decode(self, stream: Stream) -> np.ndarray:
        return roicodec.decode(stream.data, 0)


@dataclass
class ScalableJpeg:
    """The paper's baseline: a JPEG base layer, then roicodec's own residual ladder over it, in the same container.

    The base is Pillow's JPEG with optimised Huffman tables, as the ladder's layers are; the file is framed by
    ``container.pack`` with the real mask and layers and a header of the same size as roicodec's (it names the same
    model), so both sides pay the same overhead and only the base layer differs. The layers cover the image as one
    tile, as roicodec's do on images up to its 1024-pixel tile (all of Kodak).
    """

    base_qualities: tuple[int, ...] = SCALABLE_BASE_QUALITIES
    qualities: tuple[int, ...] = roicodec.DEFAULT_QUALITIES
    name: str = "scalable-jpeg"

    @property
    def jobs(self) -> Sequence[Any]:
        return self.base_qualities

    @property
    def description(self) -> str:
        return (f"JPEG base layer (Pillow, `optimize=True`, 4:2:0) at qualities "
                f"{', '.join(map(str, self.base_qualities))}, then `roicodec.ladder.encode_tile` at qualities "
                f"{', '.join(map(str, self.qualities))} with the same mask, framed by `roicodec.container.pack`")

    def encode(self, rgb: np.ndarray, mask: np.ndarray, job: Any) -> list[Stream]:
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, "JPEG", quality=job, optimize=True)
        base_data = buf.getvalue()
        recon = np.array(_rgb(base_data))  # encode_tile refines it in place
        jpeg = [container.Layer("jpeg", q) for q in self.qualities]
        layers = [ladder.pack_tiles([tile]) for tile in ladder.encode_tile(rgb, recon, mask, jpeg)]
        identity = registry.info()
        header = container.Header(rgb.shape[1], rgb.shape[0], "RGB", self.qualities, identity.name, identity.hash,
                                  DEFAULT_TILE)
        data = container.pack(header, [base_data], [roimask.pack(mask)], [[layer] for layer in layers])
        return [Stream(prefix, job, k) for k, prefix in enumerate(_level_prefixes(data))]

    def decode(self, stream: Stream) -> np.ndarray:
        fp = io.BytesIO(stream.data)
        layout = container.read_layout(fp)
        payloads = container.read_payloads(fp, layout, stream.level)
        image = np.array(_rgb(payloads[container.BASE][0]))
        if stream.level:
            roi = roimask.unpack(payloads[container.MASK][0], layout.header.height, layout.header.width)
            tiles = [ladder.unpack_tiles(layer, 1)[0] for layer in payloads[container.LAYER][:stream.level]]
            for _ in ladder.decode_tile(image, roi, tiles, layout.header.layers):
                pass
        return image


@dataclass
class PillowCodec:
    """A whole-image codec that Pillow writes and reads, over a quality sweep; the ROI plays no part in coding."""

    name: str
    format: str
    jobs: Sequence[Any]
    options: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    @property
    def description(self) -> str:
        opts = ", ".join([f"`{k}={v!r}`" for k, v in self.options.items()] + ([self.note] if self.note else []))
        return f"Pillow {self.format}, qualities {', '.join(map(str, self.jobs))}" + (f", {opts}" if opts else "")

    def encode(self, rgb: np.ndarray, mask: np.ndarray, job: Any) -> list[Stream]:
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, self.format, quality=job, **self.options)
        return [Stream(buf.getvalue(), job, None)]

    def decode(self, stream: Stream) -> np.ndarray:
        return _rgb(stream.data)


@dataclass
class Jpeg2000:
    """JPEG 2000 coded once with several quality layers; each layer count is its own operating point.

    ``mct=1`` (the RGB-to-YCbCr transform; without it Pillow codes R, G and B separately and loses about half its
    gain) and the irreversible 9/7 wavelet. Layers are cumulative rate targets in bpp; the stream of layer k is the
    codestream holding layers 1..k (``j2k.layer_prefixes``), a raw codestream without the JP2 box wrapper.
    """

    targets_bpp: tuple[float, ...] = J2K_BPP
    name: str = "jpeg2000"

    @property
    def jobs(self) -> Sequence[Any]:
        return (self.targets_bpp,)

    @property
    def description(self) -> str:
        return (f"Pillow JPEG 2000 (OpenJPEG), one codestream with {len(self.targets_bpp)} quality layers targeting "
                f"{', '.join(map(str, self.targets_bpp))} bpp (`quality_mode='rates'`), `mct=1`, `irreversible=True`; "
                "layer k is decoded from the codestream cut after layer k (Pillow 13 applies `im.layers` only "
                "when `reduce` is set too)")

    def encode(self, rgb: np.ndarray, mask: np.ndarray, job: Any) -> list[Stream]:
        buf = io.BytesIO()
        ratios = [24 / bpp for bpp in job]  # Pillow's rates are compression ratios against 24-bit RGB
        Image.fromarray(rgb).save(buf, "JPEG2000", no_jp2=True, quality_mode="rates", quality_layers=ratios, mct=1,
                                  irreversible=True, plt=True)
        return [Stream(prefix, bpp, None) for prefix, bpp in zip(layer_prefixes(buf.getvalue()), job)]

    def decode(self, stream: Stream) -> np.ndarray:
        return _rgb(stream.data)


def jpeg() -> PillowCodec:
    """What ``im.save("x.jpg", quality=q)`` gives: the anchor the published BD-rates are measured against."""
    return PillowCodec("jpeg", "JPEG", JPEG_QUALITIES, note="Pillow's defaults otherwise (4:2:0, standard Huffman "
                                                            "tables)")


def webp() -> PillowCodec:
    return PillowCodec("webp", "WEBP", WEBP_QUALITIES, {"method": WEBP_METHOD}, "the slowest, best method")


def avif() -> PillowCodec:
    return PillowCodec("avif", "AVIF", AVIF_QUALITIES, {"speed": AVIF_SPEED}, "4:2:0")


def default_codecs(models: Sequence[str] | None = None) -> list[Codec]:
    """roicodec and the paper's baseline first, then what a user would pick instead, then the base layer alone of
    each base model in ``models`` (default: every installed one)."""
    base = BaseLayers() if models is None else BaseLayers(tuple(models))
    return [Roicodec(), ScalableJpeg(), Jpeg2000(), jpeg(), webp(), avif(), base]
