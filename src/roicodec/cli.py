"""The ``roicodec`` command: encode, decode, info and demo over the core codec.

Every failure the user can cause ends in one line on stderr and exit status 1, and leaves no output file behind.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import Image, UnidentifiedImageError

import roicodec
from roicodec import atomic, codec, container, inputs, intensity, options
from roicodec.errors import CorruptFileError, RoiError, TruncatedFileError
from roicodec.metrics import psnr
from roicodec.models import registry

STDIO = "-"
"""``-o -``: the output goes to standard output (and the command's own report to standard error)."""


def _qualities(text: str) -> tuple[int, ...]:
    try:
        return options.parse_qualities(text)
    except RoiError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _window(text: str) -> tuple[float, float] | str:
    if text == "auto":
        return text
    try:
        low, high = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not 'auto' or LOW,HIGH, e.g. 100,4000") from None
    return low, high


def _plane(text: str) -> int | tuple[int, ...]:
    try:
        index = tuple(int(i) for i in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a plane index: give N, or one index per stack axis, e.g. 2,5"
                                         ) from None
    return index[0] if len(index) == 1 else index


def _read_image(path: Path) -> Image.Image:
    im = Image.open(path)
    im.load()
    return im


def _auto_roi(image: Image.Image | np.ndarray, args: argparse.Namespace) -> np.ndarray:
    """The mask that ``--roi auto`` or ``--roi otsu`` makes, with one line saying how it was made."""
    # The codec's own checks first, so that a mode it refuses fails before any model is loaded.
    planes = inputs.Planes(image, None, args.axes, args.window)
    if planes.lead:
        raise RoiError(f"--roi {args.roi} takes one image, not a stack of {planes.count} planes: pass --mask")
    pixels = inputs.roi_pixels(image)
    grow = args.roi_grow or 0
    if args.roi == "otsu":
        # Imported here: encoding without an automatic ROI never needs scikit-image.
        from roicodec.segment.threshold import grow as grow_mask
        from roicodec.segment.threshold import otsu_mask

        mask = grow_mask(otsu_mask(pixels, invert=args.roi_invert), grow)
        how = f"Otsu threshold, {'dark' if args.roi_invert else 'bright'} objects"
    else:
        # Imported here so that encoding without --roi auto never needs (or loads) the segment extra.
        from roicodec.segment import segment_roi

        roi = _segment_options(args)
        mask, seg = segment_roi(pixels, roi.model, roi.classes, roi.checkpoint, grow=grow)
        if not mask.any():
            found = sorted({seg.classes[i] for i in np.unique(seg.labels)})
            raise RoiError(f"automatic ROI ({seg.model}) found none of the ROI classes in {args.image.name} (found: "
                           f"{', '.join(found)}): name others with --roi-classes or another --roi-model, or pass "
                           "--mask")
        how = f"model {seg.model} ({seg.reason})"
    grown = f", grown by {grow} px" if grow else ""
    _report(f"automatic ROI: {how}{grown}, {mask.mean():.1%} of the image", args)
    return mask


def _segment_options(args: argparse.Namespace) -> options.RoiModel | None:
    """The segmenter that ``--roi auto`` and its options name; ``None`` without ``--roi auto``."""
    if getattr(args, "roi_invert", False) and args.roi != "otsu":
        raise RoiError("--roi-invert goes with --roi otsu")
    if getattr(args, "roi_grow", None) is not None and args.roi is None:
        raise RoiError("--roi-grow goes with --roi auto or --roi otsu")
    if args.roi != "auto":
        if args.roi_model or args.roi_classes or args.roi_checkpoint:
            raise RoiError("--roi-model, --roi-checkpoint and --roi-classes go with --roi auto")
        return None
    return options.RoiModel(args.roi_model, args.roi_classes or None, args.roi_checkpoint)


def _to_stdout(args: argparse.Namespace) -> bool:
    return str(args.output) == STDIO


def _report(line: str, args: argparse.Namespace) -> None:
    """The command's own output: on stderr when stdout carries the file (``-o -``, or a name for it such as
    ``/dev/stdout``), so that the report does not end up inside the file."""
    print(line, file=sys.stderr if _to_stdout(args) or _is_stdout(args.output) else sys.stdout)


def _is_stdout(path: Path | None) -> bool:
    try:
        return path is not None and os.path.samestat(os.stat(path), os.fstat(sys.stdout.fileno()))
    except (OSError, ValueError, io.UnsupportedOperation):  # no such file, or a stdout that is not a descriptor
        return False


def _encode(args: argparse.Namespace) -> None:
    out = args.output or args.image.with_suffix(".roi")
    if not _to_stdout(args):
        # Before anything is read or coded: a refusal after minutes of work helps no one.
        atomic.check_not_input(out, (args.image, args.mask))
    picture = inputs.read(args.image, axes=args.axes)
    if args.roi and args.mask:
        raise RoiError(f"give either --mask or --roi {args.roi}, not both")
    _segment_options(args)
    if args.roi:
        mask = _auto_roi(picture.pixels, args)
    else:
        mask = inputs.read(args.mask).pixels if args.mask else None
    options = {"qualities": args.qualities, "ladder": args.ladder, "max_error": args.max_error, "model": args.model,
               "tile": args.tile, "axes": picture.axes, "window": args.window, "metadata": picture.metadata,
               "mapping": args.mapping, "refine": args.refine, "icc_profile": picture.icc_profile}
    if _to_stdout(args) or atomic.streams(out):
        # Standard output, a FIFO or a device cannot be re-read for the report: code into memory, then write.
        data = codec.encode(picture.pixels, mask, **options)
        if _to_stdout(args):
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            atomic.write_bytes(out, data, inputs=(args.image, args.mask))
        f = codec.open(data)
    else:
        codec.encode(picture.pixels, mask, out, **options)
        f = codec.open(out)
    with f:
        image = f"{f.size[0]}x{f.size[1]}"
        if f.planes:
            image = f"{f.header.plane_count} planes of {image} ({_planes_text(f)})"
        size = f.level_info[-1].bytes
        top = f.level_info[-1]
        check = {0: ", top level exact"}.get(top.max_error, f", top level within ±{top.max_error}" if top.max_error
                                               else "")
        levels = f.levels
    _report(f"wrote {out}: {image}, {levels} levels{check}, {size} bytes", args)


def _shape_text(shape: Sequence[int]) -> str:
    return "x".join(map(str, shape))


_MemmapWriter = Callable[[str, tuple[int, ...], str], np.memmap]


def _memmap_writer(suffix: str, dtype: np.dtype, icc: bytes | None = None) -> _MemmapWriter | None:
    """For formats that keep pixels uncompressed in one block, a function that creates the file and maps it
    (``(path, shape, mode)``): decoding then fills it a tile at a time, so a plane larger than memory can be written.
    ``None`` for other formats, which are written from memory. ``icc``: the colour profile a TIFF keeps."""
    if suffix == ".npy":
        return lambda name, shape, mode: np.lib.format.open_memmap(name, "w+", dtype, shape)
    if suffix in (".tif", ".tiff"):
        import tifffile

        profile = _tiff_profile(icc)
        return lambda name, shape, mode: tifffile.memmap(name, shape=shape, dtype=dtype,
                                                        photometric="rgb" if mode == "RGB" else "minisblack",
                                                        **profile)
    return None


def _tiff_profile(icc: bytes | None) -> dict[str, Any]:
    """tifffile's arguments that write ``icc`` as the InterColorProfile tag (34675, undefined bytes): as an extra tag,
    which every tifffile the package allows writes (``iccprofile=`` came later)."""
    return {"extratags": [(34675, 7, len(icc), icc, True)]} if icc else {}


def _save(pixels: np.ndarray, fp: BinaryIO, suffix: str, fmt: str | None, mode: str,
          ome: dict | None = None, icc: bytes | None = None) -> None:
    """Write decoded pixels from memory: a stack only to .npy or TIFF, which hold every plane; ``ome``: as an
    OME-TIFF with these axes, channel names and physical sizes; ``icc``: the file's colour profile, into every
    format that holds one (.npy holds none)."""
    profile = _tiff_profile(icc)
    if suffix == ".npy":
        np.save(fp, pixels)
    elif suffix in (".tif", ".tiff"):
        import tifffile

        if ome is not None:
            tifffile.imwrite(fp, pixels, photometric="minisblack", ome=True, metadata=ome, **profile)
        else:
            tifffile.imwrite(fp, pixels, photometric="rgb" if mode == "RGB" else "minisblack", **profile)
    else:
        if pixels.dtype == np.uint16 and fmt not in ("PNG", "TIFF"):
            raise RoiError(f"{fmt} holds 8 bits and this file decodes to 16: write .png, .tif or .npy")
        # Pillow's writers that hold a profile (PNG, JPEG, WebP, AVIF, TIFF, JPEG 2000) take it as icc_profile.
        Image.fromarray(pixels).save(fp, fmt, **({"icc_profile": icc} if icc else {}))


def _ome(f: codec.RoiFile, plane: object) -> dict | None:
    """OME-TIFF metadata for a whole decoded file whose axes are known: its axes, channel names, physical sizes."""
    axes = f.axes
    if plane is not None or axes is None or f.mode == "RGB" or not set(axes) <= set("TCZYX"):
        return None
    meta: dict = {"axes": axes}
    channels = f.metadata.get("channels")
    if isinstance(channels, list) and "C" in axes:
        meta["Channel"] = {"Name": [str(c) for c in channels]}
    scale, units = f.metadata.get("scale"), f.metadata.get("units")
    if isinstance(scale, list) and isinstance(units, list) and len(scale) == len(units) == len(axes):
        for a, size, unit in zip(axes, scale, units):
            key = inputs._OME_SIZES.get(a)
            if key and unit != "pixel" and isinstance(size, (int, float)):
                meta[key], meta[f"{key}Unit"] = size, unit
    return meta


def _decode(args: argparse.Namespace) -> None:
    stdout = _to_stdout(args)
    if stdout:
        suffix = f".{(args.format or 'png').lower()}"
    else:
        suffix = f".{args.format.lower()}" if args.format else args.output.suffix.lower()
        atomic.check_not_input(args.output, (args.input,))
    fmt = Image.registered_extensions().get(suffix)
    whole_stack = suffix in (".npy", ".tif", ".tiff")
    if not whole_stack and fmt is None:
        raise RoiError(f"cannot tell an image format from {args.output.name!r}: name the output e.g. out.png, or "
                       "give --format")
    with codec.open(args.input) as f:
        if f.planes and args.plane is None and not whole_stack:
            raise RoiError(f"{args.input.name} holds a stack of {f.header.plane_count} planes "
                           f"({_planes_text(f)}): write it whole to .tif or .npy, or one plane with --plane N")
        level = f.levels - 1 if args.level is None else args.level
        note = f"; the file is truncated, {f.header.levels} levels when complete" if f.levels < f.header.levels else ""
        shape = f.shape[len(f.planes):] if args.plane is not None else f.shape
        # Before the levels are read: a damaged description or profile is that chunk's damage, which no lower level
        # avoids (the advice below is for a damaged level).
        ome = _ome(f, args.plane) if suffix in (".tif", ".tiff") else None
        icc = f.icc_profile if f.icc_profile and container.icc_fits(f.icc_profile, f.mode) else None
        try:
            memmap = None if stdout or atomic.streams(args.output) or ome else _memmap_writer(suffix, f.dtype, icc)
            if stdout:
                buf = io.BytesIO()
                _save(f.decode(level, args.plane), buf, suffix, fmt, f.mode, ome, icc)
                sys.stdout.buffer.write(buf.getvalue())
                sys.stdout.buffer.flush()
            else:
                with atomic.replacing(args.output, inputs=(args.input,)) as fp:
                    if memmap is not None:
                        out = memmap(fp.name, shape, f.mode)
                        f.decode(level, args.plane, out=out)
                        out.flush()
                        del out  # unmapped before the file is renamed
                    else:
                        _save(f.decode(level, args.plane), fp, suffix, fmt, f.mode, ome, icc)
        except CorruptFileError as exc:
            if isinstance(exc, TruncatedFileError):
                raise
            intact = f.intact_levels()
            advice = f"levels 0..{intact - 1} are intact: use --level {intact - 1}" if intact else \
                "no level is intact: fetch the file again"
            raise CorruptFileError(f"{args.input.name}: {exc}; {advice}") from None
    where = "" if args.plane is None else f", plane {args.plane}"
    _report(f"wrote {args.output}: level {level} of 0..{f.levels - 1}{where}{note}", args)


def _planes_text(f: codec.RoiFile) -> str:
    axes = f.metadata.get("axes")
    lead = axes[:len(f.planes)] if isinstance(axes, str) and len(axes) >= len(f.planes) else None
    if lead:
        return ", ".join(f"{a}={n}" for a, n in zip(lead, f.planes))
    return "shape " + _shape_text(f.planes)


def _info(args: argparse.Namespace) -> None:
    with codec.open(args.input) as f:
        levels = f.level_info
        intact = f.intact_levels()
        summary = {"width": f.size[0], "height": f.size[1], "mode": f.mode, "layers": list(f.layers),
                   "qualities": list(f.qualities),
                   "planes": list(f.planes), "plane_count": f.header.plane_count,
                   "axes": f.metadata.get("axes") if f.planes else None, "dtype": str(f.dtype),
                   "mappings": [m.as_json() for m in f.mappings],
                   **{key: f.metadata[key] for key in ("channels", "scale", "units") if key in f.metadata},
                   "levels_in_file": f.levels, "levels_in_header": f.header.levels, "levels_intact": intact,
                   "model": {"name": f.model[0], "hash": f.model[1]}, "version": ".".join(map(str, f.header.version)),
                   "icc_profile": _profile_summary(f.icc_profile),
                   "levels": [{**vars(level), "exact": level.exact, "intact": level.level < intact} for level in levels]}
        stack = f", a stack of {f.header.plane_count} planes ({_planes_text(f)})" if f.planes else ""
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print(f"{args.input}: {summary['width']}x{summary['height']} {summary['mode']}{stack}, model {f.model[0]} "
          f"({f.model[1]}), format {summary['version']}")
    if summary["icc_profile"]:
        print(f"colour profile: {summary['icc_profile']['description'] or 'ICC'} ({summary['icc_profile']['bytes']} "
              "bytes)")
    if f.levels < f.header.levels:
        print(f"truncated: {f.levels} of {f.header.levels} levels present")
    if intact < f.levels:
        damaged = f"level {intact}" if intact == f.levels - 1 else f"levels {intact}..{f.levels - 1}"
        print(f"damaged: {damaged} fail{'s' if intact == f.levels - 1 else ''} CRC-32 checks"
              + (f"; levels 0..{intact - 1} are intact" if intact else ""))
    print(f"{'level':>5} {'layer':>8} {'bytes':>9} {'bpp':>7}  {'ROI':<9} state")
    for level in levels:
        state = "ok" if level.level < intact else "damaged"
        print(f"{level.level:>5} {level.layer:>8} {level.bytes:>9} {level.bpp:>7.3f}  {_guarantee(level):<9} {state}")


def _profile_summary(icc: bytes | None) -> dict[str, Any] | None:
    """A colour profile's size and, where Pillow's littlecms reads it, its own description (``Display P3``)."""
    if not icc:
        return None
    try:
        from PIL import ImageCms
    except ImportError:  # a Pillow built without littlecms
        return {"bytes": len(icc), "description": ""}
    try:
        description = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).strip()
    except (OSError, ImageCms.PyCMSError):
        description = ""
    return {"bytes": len(icc), "description": description}


def _guarantee(level: codec.LevelInfo) -> str:
    """What the level promises inside the ROI, checked on decoding."""
    return {None: "lossy", 0: "exact"}.get(level.max_error, f"±{level.max_error}")


def _demo(args: argparse.Namespace) -> None:
    sample = resources.files("roicodec") / "samples"
    image = _read_image(Path(str(sample / "astronaut.png")))
    mask = None
    if args.roi != "drawn":
        from roicodec.segment import INSTALL_HINT, SALIENT, installed, missing_modules, segment_roi

        lacking = (f"the photograph model {SALIENT} is not installed (docs/segment.md says how to train it)"
                   if not installed(SALIENT) else f"the segment extra is not installed ({INSTALL_HINT})"
                   if missing_modules() else None)
        if args.roi == "auto" or lacking is None:
            mask, seg = segment_roi(np.asarray(image))
            source = f"automatic ROI (model {seg.model}, {seg.reason})"
        else:
            # Asked for nothing in particular, the demo runs on any installation, and says what it fell back to.
            print(f"automatic ROI: {lacking}; the demo takes the ROI drawn over the head instead")
    if mask is None:
        mask = np.asarray(_read_image(Path(str(sample / "astronaut_roi.png")))) != 0
        source = "ROI drawn over the head"
    data = codec.encode(image, mask)
    original = np.asarray(image)
    f = codec.open(data)
    print(f"astronaut {image.width}x{image.height}, {source}: {mask.mean():.0%} of the image, model {f.model[0]}")
    print(f"{'level':>5} {'layer':>8} {'bytes':>7} {'bpp':>6} {'PSNR':>7} {'ROI-PSNR':>9}")
    for info, pixels in zip(f.level_info, f.decode_all()):
        print(f"{info.level:>5} {info.layer:>8} {info.bytes:>7} {info.bpp:>6.3f} "
              f"{psnr(original, pixels):>7.2f} {psnr(original, pixels, mask):>9.2f}")
    if args.output:
        args.output.mkdir(parents=True, exist_ok=True)
        atomic.write_bytes(args.output / "astronaut.roi", data)
        print(f"wrote {args.output / 'astronaut.roi'}")


def _encode_many(args: argparse.Namespace) -> int:
    from roicodec import batch

    if args.workers is not None and args.scheduler:
        raise RoiError("give either --workers (a local cluster) or --scheduler (a running one), not both")
    tasks = batch.plan(args.input, args.output, mask_dir=args.mask_dir,
                       ladder=options.resolve_ladder(args.ladder, args.qualities, args.max_error), model=args.model,
                       segment=_segment_options(args))
    if not tasks:
        raise RoiError(f"no images under {args.input}: give the folder that holds them")
    report = batch.encode_many(tasks, scheduler=args.scheduler, workers=args.workers, progress=not args.quiet)
    print(f"{report.count('encoded')} encoded, {report.count('skipped')} already done, "
          f"{report.count('failed')} failed, into {args.output}")
    for outcome in report.failures:
        print(f"failed: {outcome.task.source}: {outcome.message}", file=sys.stderr)
    return 1 if report.failures else 0


def _add_coding_options(p: argparse.ArgumentParser) -> None:
    default = ",".join(options.LADDERS[options.DEFAULT_LADDER])
    p.add_argument("--ladder", help=f"the enhancement layers, lowest first: {' or '.join(options.LADDERS)} (the "
                   f"paper's JPEG {','.join(map(str, options.PAPER_QUALITIES))}), or layers such as avif:40,avif:70,"
                   f"exact (avif:Q, jpeg:Q, near:K, exact); default: {default}")
    p.add_argument("--max-error", type=int, help="top level within ±K of the original in the ROI (0: exact), "
                   "checked on decoding; replaces the ladder's exact top level")
    p.add_argument("--qualities", type=_qualities, help="the paper's JPEG ladder at these qualities, e.g. 75,90,100 "
                   "(instead of --ladder)")
    p.add_argument("--model", help=f"base-layer model (default: {registry.DEFAULT}); {registry.CHOICES_HELP}")


def _add_roi_options(p: argparse.ArgumentParser, threshold: bool = True) -> None:
    p.add_argument("--roi", choices=("auto", "otsu") if threshold else ("auto",),
                   help="auto: the ROI from the segmentation model that fits the image (needs the segment extra): "
                   "microscopy (gray, more than 8 bits, or stain-like colour) to the nuclei model, other photographs "
                   "to the salient-object model; it says which it used"
                   + ("; otsu: pixels brighter than Otsu's threshold (needs scikit-image)" if threshold else ""))
    names = options.roi_model_names()
    p.add_argument("--roi-model", help=f"segmentation model for --roi auto instead of its choice: {', '.join(names[:3])} "
                   f"(embedded; short names salient, nuclei, camvid: street scenes), {', '.join(names[3:])} "
                   "(downloaded once), or a local mmseg config .py")
    p.add_argument("--roi-checkpoint", help="weights for --roi-model (a path or URL); required for a local config")
    p.add_argument("--roi-classes", type=options.parse_list, help="comma-separated class names for --roi auto "
                   "(default: the model's ROI classes: subject, nucleus, or CamVid's objects such as Car,Pedestrian)")
    if threshold:
        p.add_argument("--roi-invert", action="store_true", help="with --roi otsu: dark objects (pixels at or below "
                       "the threshold), e.g. nuclei in brightfield, membranes in electron microscopy")
        p.add_argument("--roi-grow", type=int, metavar="PX", help="dilate the ROI by PX pixels (a disc) so that the "
                       "edges of the objects are inside it")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="roicodec", description="Region-of-interest scalable image compression.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {roicodec.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("encode", help="code an image and its ROI into a .roi file")
    p.add_argument("image", type=Path, help="any image Pillow reads (8-bit gray or RGB, 16-bit gray PNG; EXIF "
                   "orientation applied; colour PNG, JPEG 2000 and AVIF deeper than 8 bits are read at their own "
                   "depth), a TIFF (every page: a multi-page TIFF is a stack; an OME-TIFF keeps its "
                   "axes, channel names and physical sizes), or a .npy array (read from disk a tile at a time); "
                   "uint16 is coded in its own units")
    p.add_argument("--mask", type=Path, help="image, TIFF or .npy of the same size, non-zero = ROI; alpha 0 removes "
                   "a pixel (default: the whole image)")
    _add_roi_options(p)
    _add_coding_options(p)
    p.add_argument("--refine", type=int, default=0, metavar="STEPS",
                   help="optimise the base's latent for this image in STEPS gradient steps (hp models; needs torch): "
                   "the same decoder, fewer bytes for the same picture, about 0.7 s per step and megapixel on 2 cores; "
                   "default 0; 60 saved 7.9 %% of the rate at equal PSNR on Kodak (docs/refine.md)")
    p.add_argument("--tile", type=int, default=codec.DEFAULT_TILE, help="base-layer tile side in pixels")
    p.add_argument("--axes", help="one letter per axis of the image where its shape is ambiguous, ending in YX (gray) "
                   "or YXS (RGB), e.g. ZYX for a .npy stack (TIFF files name their own axes)")
    p.add_argument("--window", type=_window, help="code an 8-bit view of an image of more than 8 bits instead of its "
                   f"own units: 'auto' (the {codec.WINDOW_PERCENTILES[0]}th..{codec.WINDOW_PERCENTILES[1]}th "
                   "percentiles) or LOW,HIGH: the intensities mapped to 0 and 255, kept in the file's metadata")
    p.add_argument("--mapping", choices=intensity.CURVES, help="16-bit images (coded in their own units): the curve "
                   f"that takes each channel to the base layer's 8 bits (default {intensity.DEFAULT_CURVE}, for "
                   "photon noise), over its 0.1th..99.9th percentiles")
    p.add_argument("-o", "--output", type=Path, help="output .roi, or - for standard output (default: IMAGE with "
                   "suffix .roi; never the input itself)")
    p.set_defaults(run=_encode)

    p = sub.add_parser("decode", help="decode a level of a .roi file to an image file")
    p.add_argument("input", type=Path)
    p.add_argument("--level", type=int, help="0 = base; default: the highest level in the file")
    p.add_argument("--plane", type=_plane, help="of a stack, only this plane (N, or one index per stack axis: 2,5); "
                   "without it a stack needs an output that holds every plane (.tif, .npy)")
    p.add_argument("-o", "--output", type=Path, required=True, help="output image, or - for standard output; format "
                   "from its suffix (.npy and .tif are written a tile at a time, for planes larger than memory)")
    p.add_argument("--format", help="output format when the suffix does not say, e.g. png (default for -o -), tif, npy")
    p.set_defaults(run=_decode)

    p = sub.add_parser("info", help="levels, bytes, bpp and model of a .roi file")
    p.add_argument("input", type=Path)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=_info)

    p = sub.add_parser("encode-many", help="encode every image under a folder on Dask (resumable)")
    p.add_argument("input", type=Path, help="folder of images (searched recursively)")
    p.add_argument("-o", "--output", type=Path, required=True, help="folder for the .roi files (same layout)")
    p.add_argument("--mask-dir", type=Path, help="folder of masks with the images' relative paths and stems")
    _add_roi_options(p, threshold=False)
    _add_coding_options(p)
    p.add_argument("--workers", type=int, help="worker processes of a local cluster (default: one per CPU)")
    p.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_encode_many)

    # Listed for --help only: main() hands `bench` and everything after it to roicodec.bench, which parses its own.
    sub.add_parser("bench", help="rate-distortion benchmark against JPEG, JPEG 2000, AVIF, WebP (bench --help)",
                   add_help=False)

    p = sub.add_parser("demo", help="encode the bundled sample with its ROI and print each level's figures")
    p.add_argument("-o", "--output", type=Path, help="also write the .roi into this folder")
    p.add_argument("--roi", choices=("auto", "drawn"), help="auto (default): the ROI from the model --roi auto "
                   "chooses (the salient-object model on this photograph; without it installed, the drawn ROI); "
                   "drawn: the ROI drawn over the head")
    p.set_defaults(run=_demo)
    return parser


def _caused_by_interrupt(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"]:
        from roicodec.bench import main as bench_main

        return bench_main(argv[1:])
    args = _parser().parse_args(argv)
    try:
        return args.run(args) or 0
    except BrokenPipeError:
        # The reader went away (e.g. `roicodec info --json | head`): nothing to say, and nothing more to write.
        # Point stdout at /dev/null so that Python's own flush at exit does not raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 141  # what a shell reports for a command ended by SIGPIPE
    except KeyboardInterrupt:
        # Outputs in progress were removed on the way out (atomic.replacing): nothing half-written stays.
        print("roicodec: interrupted", file=sys.stderr)
        return 130
    except ImportError as exc:
        # Ctrl-C while a native module initialises (ONNX Runtime is imported at the first tile) surfaces as an
        # ImportError caused by the KeyboardInterrupt: it is still the user's interrupt, not a broken install.
        if not _caused_by_interrupt(exc):
            raise
        print("roicodec: interrupted", file=sys.stderr)
        return 130
    except (RoiError, OSError, UnidentifiedImageError, Image.DecompressionBombError) as exc:
        print(f"roicodec: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
