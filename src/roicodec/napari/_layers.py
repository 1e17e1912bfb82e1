"""A ``.roi`` file as napari layer data, and back: the pixels and description that a saved layer carries.

A file becomes one image layer whose first axis is the level (0 = base), so that a slider flips between levels and
one layer holds every level's figures in ``metadata["roicodec"]``, plus the ROI as a labels layer. Opening reads the
header, the description and the mask: the levels are a dask array, and a (level, plane) is decoded only when napari
shows it, as napari-ome-zarr's reader leaves its chunks on disk.

The layer's metadata stays small, plain data (no file bytes): the file's path and a fingerprint of its coded image.
A layer made from bytes in memory (sample data, the encode widget) keeps them in its lazy array alone; the writer and
the Inspect widget find them through :func:`origin` while the layer holds that array.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import math
import os
import uuid
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

import roicodec
from roicodec.errors import RoiError

LayerData = tuple[Any, dict[str, Any], str]
KEY = "roicodec"
"""This plugin's entry in ``layer.metadata``."""
LEVEL_AXIS = "level"
PIXEL = "pixel"
"""napari's unit for an axis without one (the level axis, and a file's axes that name none)."""


class SourceGoneError(RoiError):
    """The coded image a layer was read from cannot be read as it was: the file changed or went, or the bytes a
    layer was made from in memory are no longer held."""


@dataclass(eq=False)
class Origin:
    """Where a layer's coded image is: a file, checked each time it is read to still hold that image, or bytes.

    Every read opens the file afresh: the threads dask decodes in never share a file position, and nothing is held
    open while the layer lives, so saving over the file works where open files cannot be replaced (Windows).
    """

    path: Path | None
    data: bytes | None
    fingerprint: str
    levels: int
    """Levels the layer shows: what the fingerprint covers (a truncated file may be completed later)."""
    _stat: tuple[int, ...] | None = None
    """The file's identity when it last matched the fingerprint: while it stays, the fingerprint is not read again."""

    @contextmanager
    def open(self) -> Iterator[IO[bytes]]:
        """A binary file holding the layer's coded image; raises :class:`SourceGoneError` when it no longer does."""
        if self.data is not None:
            yield io.BytesIO(self.data)
            return
        assert self.path is not None
        try:
            fp = self.path.open("rb")
        except OSError as exc:
            raise SourceGoneError(f"{self.path} can no longer be read ({exc.strerror}): a .roi layer decodes its "
                                  "levels from its file as they are shown, so keep the file where it was") from None
        with fp:
            stat = _identity(fp)
            if stat != self._stat:
                # Size, time or inode moved: the writer re-saving the layer over its own file does that, and keeps
                # every coded chunk. Only a file whose coded image differs is refused.
                try:
                    same = _fingerprint(fp, self.levels) == self.fingerprint
                except RoiError:
                    same = False
                if not same:
                    raise SourceGoneError(f"{self.path} has changed since it was opened: open it again")
                self._stat = stat  # a racing thread may write the same value: harmless
            yield fp


def _identity(fp: IO[bytes]) -> tuple[int, ...]:
    st = os.fstat(fp.fileno())
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def _fingerprint(fp: IO[bytes], levels: int) -> str:
    """A hash of what decoding levels ``0..levels-1`` reads: the header, and each coded chunk's type, length and
    CRC-32, which stand for its bytes. It reads a few bytes per chunk, not the file; a new description (the writer's
    re-save of an unchanged layer) leaves it as it was."""
    with roicodec.open(fp) as f:  # a file object: RoiFile leaves it open
        layout = f.layout
    if layout.levels_available < levels:
        return ""
    h = hashlib.blake2b(repr(layout.header).encode(), digest_size=16)
    end = layout.level_ends[levels - 1]
    for i, c in enumerate(layout.chunks):
        if i in layout.roles and c.end <= end:
            fp.seek(c.offset + c.length)
            h.update(c.type + c.length.to_bytes(8, "big") + fp.read(4))
    return h.hexdigest()


class _LazyLevels:
    """Every level of a file as an array-like that decodes a (level, plane) only when dask asks for it."""

    def __init__(self, source: Origin, f: roicodec.RoiFile) -> None:
        self.origin = source
        self.planes = f.planes
        self.shape = (source.levels, *f.shape)
        self.dtype = f.dtype
        self.ndim = len(self.shape)

    def __getitem__(self, key: Any) -> np.ndarray:
        # dask asks chunk by chunk (a chunk is one level of one plane), or with integers once it fuses a selection:
        # decode each (level, plane) the key covers, then apply the rest of the key to the image axes.
        key = key if isinstance(key, tuple) else (key,)
        key = key + (slice(None),) * (self.ndim - len(key))
        lead = len(self.planes) + 1
        ranges = [range(self.shape[i])[k] if isinstance(k, slice) else [range(self.shape[i])[k]]
                  for i, k in enumerate(key[:lead])]
        with self.origin.open() as fp, roicodec.open(fp) as f:
            blocks = np.stack([f.decode(index[0], index[1:] or None)[key[lead:]]
                               for index in itertools.product(*ranges)])
        out = blocks.reshape(*(len(r) for r in ranges), *blocks.shape[1:])
        squeeze = tuple(i for i, k in enumerate(key[:lead]) if not isinstance(k, slice))
        return out.squeeze(axis=squeeze) if squeeze else out


_LIVE: weakref.WeakValueDictionary[str, _LazyLevels] = weakref.WeakValueDictionary()
"""The lazy levels behind each dask array this module made, by the array's name, while some array still uses them:
how a layer's metadata (which holds the name) leads back to bytes that live only in memory."""


def _lazy(source: Origin, f: roicodec.RoiFile) -> Any:
    import dask.array as da

    levels = _LazyLevels(source, f)
    chunks = (1,) * (len(f.planes) + 1) + levels.shape[len(f.planes) + 1:]
    # A name of its own per opening: dask would otherwise hash the bytes of an in-memory file to make one, and two
    # openings of one path must not share cached chunks once the file has changed between them.
    array = da.from_array(levels, chunks=chunks, asarray=False, name=f"roicodec-levels-{uuid.uuid4().hex}",
                          meta=np.empty((0,) * levels.ndim, f.dtype))
    _LIVE[array.name] = levels
    return array


def _channel_arrays(levels: Any, axis: int) -> list[Any]:
    """Each channel of the levels' dask array as napari's ``channel_axis`` slices it (the same expression, so the
    same dask name): the writer then knows a channel layer still shows the file's own pixels."""
    def channel(i: int) -> Any:  # napari's slice_from_axis (layers.utils.stack_utils), without importing napari
        key: list[Any] = [slice(None)] * levels.ndim
        key[axis] = i
        return levels[tuple(key)]

    arrays = [channel(i) for i in range(levels.shape[axis])]
    for array in arrays:
        _LIVE[array.name] = _LIVE[levels.name]
    return arrays


def roi_layers(source: str | os.PathLike[str] | bytes, default_name: str, *, name: str | None = None
               ) -> list[LayerData]:
    """Image layer (level axis first) and ROI labels layer of a ``.roi`` file, from its path or its bytes.

    Nothing is decoded here: the levels are a dask array with a chunk per level (and per plane of a stack), decoded
    as napari shows them, from the file (which must stay where it is) or from the bytes. The layer's name comes from
    ``name``, else the file's description, else ``default_name``; the scale, translation, units and labels of every
    image axis from the description (the level axis: 1, 0, pixels, ``level``).

    A file with a channel axis (``C`` in its axes, e.g. ``CZYX``) gives one image layer per channel through napari's
    ``channel_axis``, each named from the description's ``channels``, with its own contrast limits (the
    description's, else the channel's intensity window, which the writer took from the data) and its own metadata;
    a 16-bit file shows its own units.
    """
    if isinstance(source, bytes):
        with roicodec.open(source) as f:
            coded = Origin(None, source, _fingerprint(io.BytesIO(source), f.levels), f.levels)
            levels, mask, description, info = _read(coded, f)
    else:
        path = Path(source).absolute()
        with path.open("rb") as fp, roicodec.open(fp) as f:
            coded = Origin(path, None, _fingerprint(fp, f.levels), f.levels, _identity(fp))
            levels, mask, description, info = _read(coded, f)
    lead = len(info["planes"])
    name = name or _text(description.get("name")) or default_name
    axes = lead + 2  # the file's image axes: a stack's leading axes, then Y and X
    scale = _numbers(description.get("scale"), axes, 1.0, positive=True)
    translate = _numbers(description.get("translate"), axes, 0.0)
    units = _units(description.get("units"), axes)
    file_axes = info["axes"]
    default_labels = ("plane",) if lead == 1 else tuple(f"plane{i}" for i in range(lead))
    if file_axes is not None:
        default_labels = tuple(a.lower() for a in file_axes[:lead])
    labels = _labels(description.get("axis_labels"), axes) or (*default_labels, "y", "x")
    rgb = levels.ndim == lead + 4
    channel = file_axes.index("C") if file_axes is not None and "C" in file_axes[:lead] else None
    keep = [i for i in range(axes) if i != channel]  # a channel axis is napari's to split, not a dimension

    def placed(ndim: int, level_axis: bool) -> dict[str, Any]:
        """Scale, translation, units and labels of the file's last ``ndim`` axes (less its channel axis), after the
        level axis if asked."""
        if level_axis or channel is not None and ndim == axes - 1:
            chosen = keep
        else:
            chosen = list(range(axes - ndim, axes))

        def put(first: Any, values: tuple[Any, ...]) -> tuple[Any, ...]:
            return ((first,) if level_axis else ()) + tuple(values[i] for i in chosen)

        out = {"scale": put(1.0, scale), "translate": put(0.0, translate), "axis_labels": put(LEVEL_AXIS, labels)}
        if units is not None:
            out["units"] = put(PIXEL, units)
        return out

    limits = _contrast_limits(description.get("contrast_limits"), info, levels.dtype,
                              1 if channel is None else levels.shape[channel + 1])
    if channel is None:
        layers: list[LayerData] = [(levels, {
            "name": name, "rgb": rgb, **placed(axes, True), "contrast_limits": limits[0], "metadata": {KEY: info},
        }, "image")]
    else:
        count = levels.shape[channel + 1]
        names = description.get("channels")
        if not (isinstance(names, list) and len(names) == count and all(isinstance(n, str) and n for n in names)):
            names = [f"{name} [{i}]" for i in range(count)]
        arrays = _channel_arrays(levels, channel + 1)
        layers = [(levels, {
            "name": list(names), "channel_axis": channel + 1, **placed(axes, True), "contrast_limits": limits,
            "metadata": [{KEY: {**info, "channel": i, "dask_name": arrays[i].name, "file_dask_name": levels.name}}
                         for i in range(count)],
        }, "image")]
        if mask is not None and mask.ndim == lead + 2 and (mask == mask.take([0], axis=channel)).all():
            mask = mask.take(0, axis=channel)  # one ROI for every channel: a labels layer over the other axes
    if mask is not None:
        layers.append((mask.astype(np.uint8), {"name": f"{name} ROI", **placed(mask.ndim, False), "opacity": 0.4},
                       "labels"))
    return layers


def _contrast_limits(value: Any, info: Mapping[str, Any], dtype: np.dtype, count: int) -> list[tuple[float, float]]:
    """One ``(low, high)`` per channel: the description's (a writer kept the layer's), else each channel's intensity
    window (16-bit files: taken from the data when it was coded), else the dtype's range."""
    if isinstance(value, list) and len(value) == count and all(
            isinstance(v, list) and len(v) == 2 and all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                                         and math.isfinite(x) for x in v) and v[0] < v[1]
            for v in value):
        return [(float(v[0]), float(v[1])) for v in value]
    windows = info.get("mappings") or []
    if len(windows) == count:
        return [(float(m["low"]), float(m["high"])) for m in windows]
    if len(windows) == 1:
        return [(float(windows[0]["low"]), float(windows[0]["high"]))] * count
    return [(0.0, float(np.iinfo(dtype).max))] * count


def _read(coded: Origin, f: roicodec.RoiFile) -> tuple[Any, np.ndarray | None, dict[str, Any], dict[str, Any]]:
    """The lazy levels, the ROI (read now: a labels layer is there to be edited), the description and the figures."""
    levels = _lazy(coded, f)
    info = {
        "levels": [asdict(level) for level in f.level_info],
        "levels_in_header": f.header.levels,
        "qualities": list(f.qualities),
        "layers": list(f.layers),
        "model": {"name": f.model[0], "hash": f.model[1]},
        "planes": list(f.planes),
        "axes": f.axes,
        "dtype": str(f.dtype),
        "mappings": [m.as_json() for m in f.mappings],
        "path": None if coded.path is None else os.fspath(coded.path),
        "fingerprint": coded.fingerprint,
        "dask_name": levels.name,
    }
    return levels, file_roi(f), f.metadata, info


def file_roi(f: roicodec.RoiFile) -> np.ndarray | None:
    """The file's ROI, or ``None`` when it is cut before its mask (its base still shows; only the mask is unknown)."""
    return None if f.layers and f.levels < 2 else f.mask


def is_reader_array(data: Any, info: Mapping[str, Any]) -> bool:
    """Whether ``data`` is the very array :func:`roi_layers` made for the layer that ``info`` describes: dask arrays
    do not change, so its pixels are the file's (napari cannot paint on an image layer's dask array)."""
    name = info.get("dask_name")
    return name is not None and getattr(data, "name", None) == name


def origin(info: Mapping[str, Any]) -> Origin:
    """Where the coded image of the layer that ``info`` describes is (its ``metadata["roicodec"]``).

    Raises :class:`SourceGoneError` for a layer made in memory whose lazy array is gone (its data was replaced).
    """
    live = _LIVE.get(info.get("dask_name", ""))
    if live is not None:
        return live.origin
    if info.get("path"):
        return Origin(Path(info["path"]), None, info["fingerprint"], len(info["levels"]))
    raise SourceGoneError("this layer was coded in memory and its data has been replaced since: its coded image "
                          "is gone")


def describe(meta: Mapping[str, Any], axes: int, channel: int | None = None) -> dict[str, Any]:
    """What a ``.roi`` file keeps of a layer: its name, and per image axis its scale, translation and units.

    ``channel``: where the file's channel axis goes among the ``axes`` (the layer, one channel, has none): it takes
    scale 1, translation 0 and unit pixel.

    ``axes`` counts the coded image's axes (a stack's leading axes, then Y and X): the layer's last ``axes`` values
    are kept, which leaves out a ``.roi`` layer's level axis (the file's levels, not an axis of the image). Axis labels
    are kept only where someone set them, not napari's defaults (``-3``, ``-2``, ``-1``).
    """
    out: dict[str, Any] = {"name": str(meta.get("name", ""))}
    own = axes - (channel is not None)

    def with_channel(values: list[Any], fill: Any) -> list[Any]:
        return values if channel is None else values[:channel] + [fill] + values[channel:]

    for key, default in (("scale", 1.0), ("translate", 0.0)):
        values = [float(v) for v in meta.get(key) or ()][-own:]
        out[key] = with_channel([default] * (own - len(values)) + values, default)
    if meta.get("units") is not None:
        units = [str(u) for u in meta["units"]][-own:]
        out["units"] = with_channel([PIXEL] * (own - len(units)) + units, PIXEL)
    labels = [str(label) for label in meta.get("axis_labels") or ()]
    if len(labels) >= own and labels != [str(i - len(labels)) for i in range(len(labels))]:
        out["axis_labels"] = with_channel(labels[-own:], "c")
    return out


DESCRIBED = ("scale", "translate", "units", "axis_labels", "channels", "contrast_limits")
"""The keys of a file's description that :func:`describe` writes: a re-described file drops the old ones first."""


def image_pixels(data: Any, meta: Mapping[str, Any]) -> np.ndarray:
    """The image (``(..., Y, X)`` gray or ``(..., Y, X, 3)`` RGB) that coding a layer starts from.

    A layer read from a ``.roi`` gives its top level. uint8 and uint16 are coded as they are (uint16 in its own
    units); other dtypes map through the layer's contrast limits to 0..255: what the viewer shows is what gets coded.
    """
    name = meta.get("name", "image")
    if meta.get("multiscale"):
        data = data[0]
    rgb = bool(meta.get("rgb"))
    if KEY in meta.get("metadata", {}):
        data = data[-1]  # the level axis comes first
    arr = np.asarray(data)
    plane = 3 if rgb else 2
    if arr.ndim < plane:
        raise RoiError(f"layer {name!r} has shape {arr.shape}: roicodec codes 2D images (gray or RGB) and stacks "
                       "of them")
    if rgb and arr.shape[-1] != 3:
        hint = "drop the alpha channel" if arr.shape[-1] == 4 else "keep three channels"
        raise RoiError(f"layer {name!r} has {arr.shape[-1]} colour channels: roicodec codes RGB; {hint}")
    if arr.dtype in (np.uint8, np.uint16):
        return arr
    low, high = meta.get("contrast_limits") or (float(arr.min()), float(arr.max()))
    span = (high - low) or 1.0
    return np.clip(np.rint((arr.astype(np.float64) - low) * (255.0 / span)), 0, 255).astype(np.uint8)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _numbers(value: Any, axes: int, default: float, *, positive: bool = False) -> tuple[float, ...]:
    """One finite number (positive if asked) per image axis from a description any writer may have made.

    Files from before stacks kept their scale for Y and X alone: a stack's leading axes then take the default.
    """
    if isinstance(value, list) and len(value) in (2, axes) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and (v > 0 or not positive)
            for v in value):
        return (default,) * (axes - len(value)) + tuple(float(v) for v in value)
    return (default,) * axes


def _units(value: Any, axes: int) -> tuple[str, ...] | None:
    """Units napari can parse, one per image axis (Y and X alone: the leading axes in pixels); else ``None``."""
    if not (isinstance(value, list) and len(value) in (2, axes) and all(isinstance(v, str) and v for v in value)):
        return None
    try:
        import pint  # napari's units are pint's; without napari there is no layer to give them to
    except ImportError:
        pass
    else:
        registry = pint.get_application_registry()
        try:
            for unit in value:
                registry.parse_units(unit)
        except (pint.errors.PintError, ValueError, TypeError, AttributeError, AssertionError):
            return None
    return (PIXEL,) * (axes - len(value)) + tuple(value)


def _labels(value: Any, axes: int) -> tuple[str, ...] | None:
    """Distinct, non-empty axis labels, one per image axis and none named like the level axis; else ``None``."""
    if (isinstance(value, list) and len(value) == axes and all(isinstance(v, str) and v for v in value)
            and len(set(value)) == axes and LEVEL_AXIS not in value):
        return tuple(value)
    return None
