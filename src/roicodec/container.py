"""The ``.roi`` container (docs/format.md, version 1): signature, then chunks of length, type, data and CRC-32.

This module frames bytes and nothing else: it knows no pixels, no torch and no Pillow. Chunk payloads belong to the
modules that make them (``base``, ``mask``, ``ladder``).
"""

from __future__ import annotations

import io
import math
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import BinaryIO

from roicodec.errors import (
    CorruptFileError,
    NotRoiFileError,
    TruncatedFileError,
    UnsupportedImageError,
    UnsupportedVersionError,
)
from roicodec.intensity import CURVES, Mapping

SIGNATURE = b"\x8eROI\r\n\x1a\n"
"""No other format starts so: the high byte catches 7-bit transfers, CR-LF and ^Z catch text-mode mangling, as in
PNG. ImageJ's ROI files, which share the extension, start with ``Iout``."""

VERSION = (1, 3)
"""The newest format this module reads and writes. A writer marks a file with the oldest version that holds it: 1.0
when every layer is a JPEG layer, 1.2 only when its samples have 16 bits, else 1.1; older readers keep reading what
they can. 1.3 adds the colour profile chunk, which leaves a file's version as it was: a reader of 1.0 to 1.2 skips
it, as it skips any chunk it does not know, and decodes the same pixels."""
HEADER, META, ICC, BASE, MASK, LAYER = b"RHDR", b"META", b"ICCP", b"BASE", b"MASK", b"LAYR"
MAX_LAYERS = 16
MAX_META = 1 << 16
"""Largest metadata chunk a reader accepts: it describes the image, it is not a place for data."""
MAX_ICC = 1 << 24
"""Largest colour profile a reader accepts: display and camera profiles take a few hundred bytes to a few kB, the
largest printer profiles a few MB."""
MIN_TILE = 64
"""Smallest base-layer tile: smaller tiles would spend most of their time on the halo around them."""
MAX_SIDE = 1 << 20
"""Largest width or height a header may declare; sizes beyond it are refused before anything is allocated."""
MAX_PLANES = 1 << 16
"""Most planes a stack may hold (the product of its leading axes)."""
MAX_LEAD_AXES = 4
MAX_CHUNK = (1 << 32) - 1
"""Largest chunk payload: its length field has 32 bits."""

_CHUNK_HEAD = struct.Struct(">I4s")
_BLOCK = 1 << 20
"""Bytes read at a time when a chunk is checked without being kept."""
_HEADER_FIXED = struct.Struct(">BBIIBH")  # major, minor, width, height, channels, tile / 16

LAYER_KINDS = ("jpeg", "avif", "exact", "near")
"""Layer kinds by their id in a 1.1 header (docs/format.md, "Layer kinds")."""
VERIFIED = frozenset({"exact", "near"})
"""Kinds whose level depends on no level below, and whose table ends with the SHA-256 of its ROI pixels."""
DIGEST = 32
_FLAG_MASKS, _FLAG_DEEP = 1, 2
"""Header flag bits: a mask per plane; 16-bit samples (format 1.2), then the intensity mappings follow the flags."""
NO_AXIS = 255
MAX_CHANNELS = 128
"""Most channels a 16-bit file maps one by one (each mapping takes 5 header bytes, and a header at most 1024)."""
_MAPPING = struct.Struct(">BHH")  # curve, low, high


@dataclass(frozen=True)
class Layer:
    """One enhancement layer as the header records it: its kind and its parameter (a quality 1-100 for ``jpeg``
    and ``avif``, the largest error 1-255 for ``near``, nothing for ``exact``)."""

    kind: str
    param: int = 0

    def __post_init__(self) -> None:
        if self.kind not in LAYER_KINDS:
            raise UnsupportedVersionError(f"layer kind {self.kind!r} is unknown to this roicodec: upgrade it")
        if self.kind in ("jpeg", "avif") and not 1 <= self.param <= 100:
            raise ValueError(f"{self.kind} layer quality {self.param} is invalid: give 1 to 100")
        if self.kind == "near" and not 1 <= self.param <= 255:
            raise ValueError(f"near layer max_error {self.param} is invalid: give 1 to 255 (exact is 0)")
        if self.kind == "exact" and self.param:
            raise ValueError("an exact layer takes no parameter")

    @property
    def verified(self) -> bool:
        return self.kind in VERIFIED

    @property
    def quality(self) -> int | None:
        return self.param if self.kind in ("jpeg", "avif") else None

    @property
    def max_error(self) -> int | None:
        """How far a decoded ROI pixel may be from the original: 0 exact, ``k`` near, ``None`` unbounded."""
        return 0 if self.kind == "exact" else self.param if self.kind == "near" else None

    def __str__(self) -> str:
        """As users write it: ``avif:40``, ``jpeg:75``, ``near:2``, ``exact``."""
        return self.kind if self.kind == "exact" else f"{self.kind}:{self.param}"


@dataclass(frozen=True)
class Header:
    """What a reader needs to refuse early: size, mode, ladder and the identity of the base-layer weights."""

    width: int
    height: int
    mode: str
    layers: tuple[Layer, ...]
    """The enhancement layers, lowest first; a bare int is a JPEG layer of that quality (the 1.0 ladder)."""
    model_name: str
    model_hash: bytes
    tile: int
    version: tuple[int, int] | None = None
    """``None``: the oldest version that holds these layers (1.0 when every layer is JPEG, else 1.1)."""
    planes: tuple[int, ...] = ()
    """Leading axes of a stack (e.g. Z, T or C before Y, X); empty for a single image."""
    mask_per_plane: bool = False
    """Whether each plane has its own mask (else one mask serves every plane)."""
    bits: int = 8
    """Bits per sample: 8, or 16 (format 1.2: gray only, the base through :attr:`mappings`)."""
    mappings: tuple[Mapping, ...] = ()
    """16-bit files: the intensity mapping that took each channel to the base model's 8 bits, one per index of the
    :attr:`channel_axis`, or one for every plane."""
    channel_axis: int | None = None
    """16-bit files: which of :attr:`planes` is the channel axis that :attr:`mappings` follow (``None``: one mapping)."""

    def __post_init__(self) -> None:
        layers = tuple(layer if isinstance(layer, Layer) else Layer("jpeg", int(layer)) for layer in self.layers)
        object.__setattr__(self, "layers", layers)
        if self.version is None:
            version = (1, 2) if self.bits != 8 else (1, 0) if all(layer.kind == "jpeg" for layer in layers) else (1, 1)
            object.__setattr__(self, "version", version)

    @property
    def dtype(self) -> str:
        """The NumPy dtype of decoded pixels: ``uint8`` or ``uint16``."""
        return "uint8" if self.bits == 8 else "uint16"

    def mapping(self, plane: int) -> Mapping | None:
        """The intensity mapping of flat plane ``plane`` (``None`` for 8-bit files)."""
        if not self.mappings:
            return None
        if self.channel_axis is None:
            return self.mappings[0]
        return self.mappings[int(_unravel(plane, self.planes)[self.channel_axis])]

    @property
    def levels(self) -> int:
        """Number of decodable levels when complete: the base plus one per enhancement layer."""
        return 1 + len(self.layers)

    @property
    def plane_count(self) -> int:
        return math.prod(self.planes)

    @property
    def mask_count(self) -> int:
        return self.plane_count if self.mask_per_plane else 1

    def pack(self) -> bytes:
        name = self.model_name.encode("ascii")
        if self.version == (1, 0):
            ladder = bytes([len(self.layers), *(layer.param for layer in self.layers)])
        else:
            ladder = bytes([len(self.layers), *(b for layer in self.layers
                                                for b in (LAYER_KINDS.index(layer.kind), layer.param))])
        return (_HEADER_FIXED.pack(*self.version, self.width, self.height, len(self.mode), self.tile // 16)
                + bytes([len(name)]) + name + self.model_hash + ladder
                + bytes([len(self.planes)]) + b"".join(struct.pack(">I", n) for n in self.planes)
                + bytes([int(self.mask_per_plane) | (_FLAG_DEEP if self.bits == 16 else 0)]) + self._pack_mappings())

    def _pack_mappings(self) -> bytes:
        if self.bits == 8:
            return b""
        axis = NO_AXIS if self.channel_axis is None else self.channel_axis
        return bytes([axis, len(self.mappings)]) + b"".join(
            _MAPPING.pack(CURVES.index(m.curve), m.low, m.high) for m in self.mappings)

    @classmethod
    def unpack(cls, data: bytes) -> Header:
        try:
            major, minor, width, height, channels, tile16 = _HEADER_FIXED.unpack_from(data)
            if major > VERSION[0]:
                raise UnsupportedVersionError(
                    f"file uses .roi format {major}.{minor}, this roicodec reads {VERSION[0]}.x: upgrade roicodec")
            pos = _HEADER_FIXED.size
            name = data[pos + 1:pos + 1 + data[pos]].decode("ascii")
            pos += 1 + data[pos]
            model_hash = data[pos:pos + 8]
            pos += 8
            count, width_of = data[pos], 1 if minor == 0 else 2
            ladder = data[pos + 1:pos + 1 + width_of * count]
            complete = len(model_hash) == 8 and len(ladder) == width_of * count
            pos += 1 + width_of * count
            lead = data[pos]
            planes = struct.unpack_from(f">{lead}I", data, pos + 1) if lead <= MAX_LEAD_AXES else (0,)
            pos += 1 + 4 * lead
            flags = data[pos]
            deep = (_unpack_mappings(data, pos + 1, planes) if minor >= 2 and flags & _FLAG_DEEP
                    else (None, ()))
        except (IndexError, struct.error, UnicodeDecodeError):
            complete = False
        if not complete:
            raise CorruptFileError("header chunk is malformed: the file is damaged")
        layers = _unpack_layers(ladder, minor) if count <= MAX_LAYERS else None
        known = _FLAG_MASKS | (_FLAG_DEEP if minor >= 2 else 0)
        bits = 16 if flags & _FLAG_DEEP else 8
        if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE and channels in (1, 3) and tile16 >= MIN_TILE // 16
                and layers is not None and all(n > 0 for n in planes) and math.prod(planes) <= MAX_PLANES
                and not flags & ~known and deep is not None and (bits == 8 or channels == 1)):
            raise CorruptFileError("header declares an impossible size, mode, stack or ladder: the file is damaged")
        return cls(width, height, "L" if channels == 1 else "RGB", layers, name, model_hash, tile16 * 16,
                   (major, minor), tuple(planes), bool(flags & _FLAG_MASKS), bits, deep[1], deep[0])


def _unravel(index: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    out = []
    for n in reversed(shape):
        index, i = divmod(index, n)
        out.append(i)
    return tuple(reversed(out))


def _unpack_mappings(data: bytes, pos: int, planes: tuple[int, ...]
                     ) -> tuple[int | None, tuple[Mapping, ...]] | None:
    """A 1.2 header's channel axis and intensity mappings; ``None`` when they cannot be right (then the header is
    refused as damaged). A curve this reader does not know is refused in one line that says so."""
    axis, count = data[pos], data[pos + 1]
    if axis != NO_AXIS and (axis >= len(planes) or count != planes[axis] or count > MAX_CHANNELS) \
            or axis == NO_AXIS and count != 1:
        return None
    mappings = []
    for i in range(count):
        curve, low, high = _MAPPING.unpack_from(data, pos + 2 + i * _MAPPING.size)
        if curve >= len(CURVES):
            raise UnsupportedVersionError(f"file maps its intensities through curve {curve}, which this roicodec does "
                                          "not know: upgrade roicodec")
        if low >= high:
            return None
        mappings.append(Mapping(low, high, CURVES[curve]))
    return (None if axis == NO_AXIS else axis), tuple(mappings)


def _unpack_layers(ladder: bytes, minor: int) -> tuple[Layer, ...] | None:
    """The header's layers; ``None`` when a parameter is out of range. A kind this reader does not know (a newer
    writer's) is refused in one line that says so."""
    pairs = [("jpeg", q) for q in ladder] if minor == 0 else list(zip(ladder[::2], ladder[1::2]))
    layers = []
    for kind, param in pairs:
        if isinstance(kind, int):
            if kind >= len(LAYER_KINDS):
                raise UnsupportedVersionError(f"file has an enhancement layer of kind {kind}, which this roicodec does "
                                              "not know (it reads jpeg, avif, exact and near): upgrade roicodec")
            kind = LAYER_KINDS[kind]
        try:
            layers.append(Layer(kind, param))
        except ValueError:
            return None
    return tuple(layers)


@dataclass(frozen=True)
class Chunk:
    type: bytes
    offset: int
    """Offset of the chunk's data in the file (its length and type precede it)."""
    length: int

    @property
    def end(self) -> int:
        return self.offset + self.length + 4


@dataclass(frozen=True)
class Role:
    """What a known chunk holds: its type, the plane it belongs to and, for layers, which layer (1..n)."""

    type: bytes
    plane: int
    layer: int = 0


@dataclass(frozen=True)
class Layout:
    """A file's header and the complete chunks that follow it, found by reading chunk heads only."""

    header: Header
    chunks: list[Chunk]
    level_ends: list[int] = field(default_factory=list)
    """``level_ends[k]`` is the number of bytes from the file's start that level ``k`` needs."""
    roles: dict[int, Role] = field(default_factory=dict)
    """Role of each known chunk, by its index in ``chunks``."""

    @property
    def levels_available(self) -> int:
        return len(self.level_ends)


def chunk(type_: bytes, data: bytes) -> bytes:
    return _CHUNK_HEAD.pack(len(data), type_) + data + struct.pack(">I", zlib.crc32(type_ + data))


def pack(header: Header, bases: list[bytes], masks: list[bytes], layers: list[list[bytes]], meta: bytes = b"",
         icc: bytes = b"") -> bytes:
    """Serialise a file in progressive order: header, metadata and colour profile (if any), every plane's base, the
    mask(s), then layer 1 of every plane, layer 2 of every plane, and so on. ``layers[k][p]`` is layer k+1 of plane
    p."""
    if len(layers) != len(header.layers) or any(len(layer) != header.plane_count for layer in layers):
        raise ValueError("layers do not match the header's ladder and planes")
    if len(bases) != header.plane_count or (layers and len(masks) != header.mask_count):
        raise ValueError("bases or masks do not match the header's planes")
    buf = io.BytesIO()
    writer = Writer(buf, header, meta, icc)
    for b in bases:
        writer.add(BASE, b)
    if layers:
        for m in masks:
            writer.add(MASK, m)
        for layer in layers:
            for payload in layer:
                writer.add(LAYER, payload)
    writer.close()
    return buf.getvalue()


class Writer:
    """Writes a file chunk by chunk into a seekable binary file, in the order docs/format.md prescribes.

    A chunk's data may arrive in pieces: its length field is filled in when the chunk ends, so that no chunk (a
    gigapixel plane's layer, say) ever has to be whole in memory.
    """

    def __init__(self, fp: BinaryIO, header: Header, meta: bytes = b"", icc: bytes = b"") -> None:
        if len(meta) > MAX_META:
            raise ValueError(f"metadata of {len(meta)} bytes exceeds the format's {MAX_META}: keep it to a description")
        if icc:
            check_icc(icc)
        self._fp = fp
        self._expected = _expected(header)
        self._count = 0
        fp.write(SIGNATURE)
        fp.write(chunk(HEADER, header.pack()))
        if meta:
            fp.write(chunk(META, meta))
        if icc:
            fp.write(chunk(ICC, icc))

    def add(self, type_: bytes, data: bytes) -> None:
        """Write a whole chunk."""
        with self.chunk(type_) as sink:
            sink.write(data)

    @contextmanager
    def chunk(self, type_: bytes) -> Iterator[ChunkSink]:
        """Open the next chunk, of type ``type_``; write its data to the sink, in as many pieces as suits."""
        if self._count == len(self._expected) or self._expected[self._count].type != type_:
            raise ValueError(f"chunk {type_!r} out of order: the file's next chunk is not of that type")
        self._count += 1
        start = self._fp.tell()
        self._fp.write(_CHUNK_HEAD.pack(0, type_))
        sink = ChunkSink(self._fp, type_)
        yield sink
        if sink.length > MAX_CHUNK:
            raise UnsupportedImageError(f"a {type_.decode()} chunk of {sink.length} bytes exceeds the format's limit of "
                                        f"{MAX_CHUNK}: code the image as smaller planes")
        self._fp.write(struct.pack(">I", sink.crc))
        end = self._fp.tell()
        self._fp.seek(start)
        self._fp.write(_CHUNK_HEAD.pack(sink.length, type_))
        self._fp.seek(end)

    def close(self) -> None:
        """Check that every chunk the header calls for was written (the caller closes the file)."""
        if self._count != len(self._expected):
            raise ValueError(f"file holds {self._count} of its {len(self._expected)} chunks")


class ChunkSink:
    """Where one chunk's data goes: counted and checksummed as it passes."""

    def __init__(self, fp: BinaryIO, type_: bytes) -> None:
        self._fp = fp
        self.length = 0
        self.crc = zlib.crc32(type_)

    def write(self, data: bytes) -> None:
        self._fp.write(data)
        self.length += len(data)
        self.crc = zlib.crc32(data, self.crc)


def _read_exact(fp: BinaryIO, n: int) -> bytes:
    data = fp.read(n)
    if len(data) != n:
        raise TruncatedFileError("file ends inside a chunk: it is truncated; fetch the whole file again")
    return data


def read_layout(fp: BinaryIO) -> Layout:
    """Read the signature and header chunk (CRC checked), then walk the chunk heads without reading their data.

    Offsets count from the start of ``fp``. A chunk that runs past the end of the file ends the walk: a truncated
    file reads as a lower level.
    """
    fp.seek(0)
    if fp.read(len(SIGNATURE)) != SIGNATURE:
        raise NotRoiFileError("not a roicodec .roi file (no roicodec signature)")
    size = fp.seek(0, 2)
    fp.seek(len(SIGNATURE))
    length, type_ = _CHUNK_HEAD.unpack(_read_exact(fp, _CHUNK_HEAD.size))
    if type_ != HEADER or length > 1024:
        raise CorruptFileError("first chunk is not a valid header: the file is damaged")
    data = _read_exact(fp, length)
    if struct.unpack(">I", _read_exact(fp, 4))[0] != zlib.crc32(type_ + data):
        raise CorruptFileError("header chunk fails its CRC-32: the file is damaged")
    header = Header.unpack(data)

    chunks: list[Chunk] = []
    pos = fp.tell()
    while pos + _CHUNK_HEAD.size <= size:
        length, type_ = _CHUNK_HEAD.unpack(fp.read(_CHUNK_HEAD.size))
        if pos + _CHUNK_HEAD.size + length + 4 > size:
            break
        chunks.append(Chunk(type_, pos + _CHUNK_HEAD.size, length))
        pos = chunks[-1].end
        fp.seek(pos)
    return Layout(header, chunks, *_level_ends(header, chunks))


def _expected(header: Header) -> list[Role]:
    """The known chunks of a complete file, in order."""
    planes = range(header.plane_count)
    roles = [Role(BASE, p) for p in planes]
    if header.layers:
        roles += [Role(MASK, p) for p in range(header.mask_count)]
        roles += [Role(LAYER, p, k) for k in range(1, len(header.layers) + 1) for p in planes]
    return roles


def _level_ends(header: Header, chunks: list[Chunk]) -> tuple[list[int], dict[int, Role]]:
    """Match known chunks to their roles, enforcing progressive order; unknown chunk types are skipped."""
    expected = _expected(header)
    ends: list[int] = []
    roles: dict[int, Role] = {}
    seen = 0
    last_plane = header.plane_count - 1
    for i, c in enumerate(chunks):
        if c.type not in (BASE, MASK, LAYER):
            continue
        if seen == len(expected) or c.type != expected[seen].type:
            raise CorruptFileError(f"chunk {c.type!r} out of order at byte {c.offset - 8}: the file is damaged")
        role = roles[i] = expected[seen]
        seen += 1
        if role.type != MASK and role.plane == last_plane:
            ends.append(c.end)  # the last plane's chunk completes a level
    return ends, roles


def read_meta(fp: BinaryIO, layout: Layout) -> bytes:
    """The metadata chunk's payload (CRC checked), or empty bytes when the file has none."""
    return _read_description(fp, layout, META, MAX_META, "metadata")


def read_icc(fp: BinaryIO, layout: Layout) -> bytes:
    """The colour profile chunk's payload (CRC checked, an ICC profile), or empty bytes when the file has none."""
    data = _read_description(fp, layout, ICC, MAX_ICC, "colour profile")
    if data:
        try:
            check_icc(data)
        except ValueError as exc:
            raise CorruptFileError(f"colour profile chunk: {exc}: the file is damaged") from None
    return data


def check_icc(data: bytes) -> None:
    """Raise ValueError unless ``data`` looks like an ICC profile (ICC.1, section 7.2): its 128-byte header gives its
    own length and, at byte 36, the signature ``acsp``. A colour profile is not parsed here, only carried."""
    # Its length may fall short of what it is given: some writers pad a profile, and the padding is carried too.
    if len(data) < 128 or data[36:40] != b"acsp" or struct.unpack_from(">I", data)[0] > len(data):
        raise ValueError(f"{len(data)} bytes that are not an ICC profile (no 'acsp' signature, or a longer length)")
    if len(data) > MAX_ICC:
        raise ValueError(f"an ICC profile of {len(data)} bytes exceeds the format's {MAX_ICC}")


def icc_fits(icc: bytes, mode: str) -> bool:
    """Whether an ICC profile describes pixels of ``mode``: its data colour space (bytes 16 to 19) is ``RGB `` for RGB,
    ``GRAY`` for gray (``L``, ``I;16``). Another one, an RGB profile kept with the channel planes of a 16-bit colour
    image, say, stays in the file but is not written into a gray image: its readers would refuse it or misread it."""
    return icc[16:20] == (b"RGB " if mode == "RGB" else b"GRAY")


def _read_description(fp: BinaryIO, layout: Layout, type_: bytes, limit: int, what: str) -> bytes:
    for c in layout.chunks:
        if c.type == type_:
            if c.length > limit:
                raise CorruptFileError(f"{what} chunk of {c.length} bytes exceeds {limit}: the file is damaged")
            fp.seek(c.offset)
            data = _read_exact(fp, c.length)
            if struct.unpack(">I", _read_exact(fp, 4))[0] != zlib.crc32(type_ + data):
                raise CorruptFileError(f"{what} chunk fails its CRC-32: the file is damaged")
            return data
    return b""


def _needed(layout: Layout, level: int, plane: int | None) -> Iterator[tuple[Chunk, Role | None]]:
    """The chunks that ``level`` (of ``plane``, or of every plane) needs, with their roles; unknown chunks too."""
    if not 0 <= level < layout.levels_available:
        raise TruncatedFileError(
            f"level {level} is not in this file (it holds levels 0..{layout.levels_available - 1}; "
            "it may be truncated): ask for a lower level")
    mask_plane = plane if plane is None or layout.header.mask_per_plane else 0
    for i, c in enumerate(layout.chunks):
        if c.end > layout.level_ends[level]:
            break
        role = layout.roles.get(i)
        if plane is not None and role is not None and role.plane != (mask_plane if role.type == MASK else plane):
            continue
        yield c, role


def _check_crc(fp: BinaryIO, c: Chunk, crc: int) -> None:
    if struct.unpack(">I", _read_exact(fp, 4))[0] != crc:
        raise CorruptFileError(f"chunk {c.type.decode('latin-1')!r} at byte {c.offset - 8} fails its CRC-32: "
                               "the file is damaged")


def read_payloads(fp: BinaryIO, layout: Layout, level: int, plane: int | None = None) -> dict[bytes, list[bytes]]:
    """Read and CRC-check the chunks that ``level`` needs and return known payloads by type, in file order.

    With ``plane``, only that plane's chunks (and its mask) are read. Unknown chunks are always checked: a damaged
    type byte can make a known chunk look unknown.
    """
    out: dict[bytes, list[bytes]] = {BASE: [], MASK: [], LAYER: []}
    for c, role in _needed(layout, level, plane):
        fp.seek(c.offset - 4)
        type_ = fp.read(4)
        data = _read_exact(fp, c.length)
        _check_crc(fp, c, zlib.crc32(type_ + data))
        if role is not None:
            out[c.type].append(data)
    return out


def check_payloads(fp: BinaryIO, layout: Layout, level: int, plane: int | None = None) -> dict[bytes, list[Chunk]]:
    """As :func:`read_payloads`, but give where each payload lies rather than its bytes (read them with
    :func:`read_data`): chunks are checked a block at a time, so that a reader of a huge file can then take its
    payloads piece by piece, with memory bounded, and still never decode a damaged chunk."""
    out: dict[bytes, list[Chunk]] = {BASE: [], MASK: [], LAYER: []}
    for c, role in _needed(layout, level, plane):
        _check_chunk(fp, c)
        if role is not None:
            out[c.type].append(c)
    return out


def intact_levels(fp: BinaryIO, layout: Layout) -> int:
    """How many levels, from the base up, have every chunk pass its CRC-32 (one pass over the file)."""
    if not layout.levels_available:
        return 0
    for c, _ in _needed(layout, layout.levels_available - 1, None):
        try:
            _check_chunk(fp, c)
        except CorruptFileError:
            return sum(1 for end in layout.level_ends if end < c.end)
    return layout.levels_available


def _check_chunk(fp: BinaryIO, c: Chunk) -> None:
    fp.seek(c.offset - 4)
    crc = zlib.crc32(fp.read(4))
    for start in range(0, c.length, _BLOCK):
        crc = zlib.crc32(_read_exact(fp, min(_BLOCK, c.length - start)), crc)
    _check_crc(fp, c, crc)


def read_data(fp: BinaryIO, c: Chunk, start: int = 0, length: int | None = None) -> bytes:
    """``length`` bytes (default: to its end) of a chunk's payload from ``start``; no CRC check (see
    :func:`check_payloads`)."""
    length = c.length - start if length is None else length
    if not (0 <= start and 0 <= length and start + length <= c.length):
        raise CorruptFileError(f"chunk {c.type.decode('latin-1')!r} at byte {c.offset - 8} is read past its end: "
                               "the file is damaged")
    fp.seek(c.offset + start)
    return _read_exact(fp, length)
