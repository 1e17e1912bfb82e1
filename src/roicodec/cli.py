"""The ``roicodec`` command: encode, decode, info and demo over the core codec.

Every failure the user can cause ends in one line on stderr and exit status 1, and leaves no output file behind.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from roicodec import atomic, codec
from roicodec.errors import RoiError
from roicodec.metrics import psnr
from roicodec.models import registry


def _qualities(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(q) for q in text.split(",") if q.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of integers, e.g. 75,90,100") from None


def _read_image(path: Path) -> Image.Image:
    im = Image.open(path)
    im.load()
    return im


def _read_source(path: Path) -> Image.Image | np.ndarray:
    """An image or mask to encode: a ``.npy`` file stays on disk (mapped, read a tile at a time), so that planes
    larger than memory can be coded; anything else is read whole by Pillow."""
    if path.suffix.lower() == ".npy":
        try:
            return np.load(path, mmap_mode="r")
        except ValueError as exc:  # np.load says ValueError for a damaged header or an object array
            raise RoiError(f"{path.name} is not a readable .npy array ({exc})") from None
    return _read_image(path)


def _classes(text: str) -> tuple[str, ...]:
    return tuple(c.strip() for c in text.split(",") if c.strip())


def _auto_roi(image: Image.Image | np.ndarray, args: argparse.Namespace) -> np.ndarray:
    if not isinstance(image, Image.Image):
        raise RoiError("--roi auto needs an image file that Pillow reads, not a .npy array: pass --mask")
    # Imported here so that encoding without --roi auto never needs (or loads) the segment extra.
    from roicodec.segment import segment_roi

    # The codec's own checks first, so that a mode it refuses fails before any model is loaded.
    codec._Planes(image, None)
    mask, seg = segment_roi(np.asarray(image.convert("RGB")), *_segment_options(args))
    if not mask.any():
        found = sorted({seg.classes[i] for i in np.unique(seg.labels)})
        raise RoiError(f"automatic ROI found none of the ROI classes in {args.image.name} (found: {', '.join(found)}): "
                       "name others with --roi-classes, or pass --mask")
    print(f"automatic ROI: {mask.mean():.1%} of the image")
    return mask


def _segment_options(args: argparse.Namespace) -> tuple[str | None, tuple[str, ...] | None, str | None] | None:
    """``segment_roi``'s model, classes and checkpoint from ``--roi auto`` and its options; ``None`` without it."""
    if args.roi != "auto":
        if args.roi_model or args.roi_classes or args.roi_checkpoint:
            raise RoiError("--roi-model, --roi-checkpoint and --roi-classes go with --roi auto")
        return None
    return args.roi_model, args.roi_classes or None, args.roi_checkpoint


def _encode(args: argparse.Namespace) -> None:
    image = _read_source(args.image)
    if args.roi == "auto" and args.mask:
        raise RoiError("give either --mask or --roi auto, not both")
    if _segment_options(args) is not None:
        mask = _auto_roi(image, args)
    else:
        mask = _read_source(args.mask) if args.mask else None
    out = args.output or args.image.with_suffix(".roi")
    codec.encode(image, mask, out, qualities=args.qualities, model=args.model, tile=args.tile)
    with codec.open(out) as f:
        width, height = f.size
    print(f"wrote {out}: {width}x{height}, {len(args.qualities) + 1} levels, {out.stat().st_size} bytes")


_MemmapWriter = Callable[[str, tuple[int, ...], str], np.memmap]


def _memmap_writer(suffix: str) -> _MemmapWriter | None:
    """For formats that keep pixels uncompressed in one block, a function that creates the file and maps it
    (``(path, shape, mode)``): decoding then fills it a tile at a time, so a plane larger than memory can be written.
    ``None`` for other formats, which Pillow writes from memory."""
    if suffix == ".npy":
        return lambda name, shape, mode: np.lib.format.open_memmap(name, "w+", np.uint8, shape)
    if suffix in (".tif", ".tiff"):
        try:
            import tifffile
        except ImportError:  # not a dependency: without it Pillow writes the TIFF, from memory
            return None
        return lambda name, shape, mode: tifffile.memmap(name, shape=shape, dtype=np.uint8,
                                                        photometric="rgb" if mode == "RGB" else "minisblack")
    return None


def _decode(args: argparse.Namespace) -> None:
    suffix = args.output.suffix.lower()
    memmap = _memmap_writer(suffix)
    fmt = Image.registered_extensions().get(suffix)
    if memmap is None and fmt is None:
        raise RoiError(f"cannot tell an image format from {args.output.name!r}: name the output e.g. out.png")
    with codec.open(args.input) as f, atomic.replacing(args.output) as fp:
        level = f.levels - 1 if args.level is None else args.level
        note = f"; the file is truncated, {f.header.levels} levels when complete" if f.levels < f.header.levels else ""
        if memmap is not None:
            out = memmap(fp.name, f.shape, f.mode)
            f.decode(level, out=out)
            out.flush()
            del out  # unmapped before the file is renamed
        else:
            Image.fromarray(f.decode(level)).save(fp, fmt)
    print(f"wrote {args.output}: level {level} of 0..{f.levels - 1}{note}")


def _info(args: argparse.Namespace) -> None:
    with codec.open(args.input) as f:
        levels = f.level_info
        summary = {"width": f.size[0], "height": f.size[1], "mode": f.mode, "qualities": list(f.qualities),
                   "levels_in_file": f.levels, "levels_in_header": f.header.levels,
                   "model": {"name": f.model[0], "hash": f.model[1]}, "version": ".".join(map(str, f.header.version)),
                   "levels": [vars(level) for level in levels]}
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print(f"{args.input}: {summary['width']}x{summary['height']} {summary['mode']}, model {f.model[0]} "
          f"({f.model[1]}), format {summary['version']}")
    if f.levels < f.header.levels:
        print(f"truncated: {f.levels} of {f.header.levels} levels present")
    print(f"{'level':>5} {'quality':>7} {'bytes':>9} {'bpp':>7}")
    for level in levels:
        print(f"{level.level:>5} {level.quality or 'base':>7} {level.bytes:>9} {level.bpp:>7.3f}")


def _demo(args: argparse.Namespace) -> None:
    sample = resources.files("roicodec") / "samples"
    image = _read_image(Path(str(sample / "astronaut.png")))
    if args.roi == "auto":
        from roicodec.segment import segment_roi

        mask, _ = segment_roi(np.asarray(image))
        source = "automatic ROI (embedded segmenter)"
    else:
        mask = np.asarray(_read_image(Path(str(sample / "astronaut_roi.png")))) != 0
        source = "ROI drawn over the head"
    data = codec.encode(image, mask)
    original = np.asarray(image)
    f = codec.open(data)
    print(f"astronaut {image.width}x{image.height}, {source}: {mask.mean():.0%} of the image, model {f.model[0]}")
    print(f"{'level':>5} {'quality':>7} {'bytes':>7} {'bpp':>6} {'PSNR':>7} {'ROI-PSNR':>9}")
    for info, pixels in zip(f.level_info, f.decode_all()):
        print(f"{info.level:>5} {info.quality or 'base':>7} {info.bytes:>7} {info.bpp:>6.3f} "
              f"{psnr(original, pixels):>7.2f} {psnr(original, pixels, mask):>9.2f}")
    if args.output:
        args.output.mkdir(parents=True, exist_ok=True)
        atomic.write_bytes(args.output / "astronaut.roi", data)
        print(f"wrote {args.output / 'astronaut.roi'}")


def _encode_many(args: argparse.Namespace) -> int:
    from roicodec import batch

    if args.workers is not None and args.scheduler:
        raise RoiError("give either --workers (a local cluster) or --scheduler (a running one), not both")
    tasks = batch.plan(args.input, args.output, mask_dir=args.mask_dir, qualities=args.qualities, model=args.model,
                       segment=_segment_options(args))
    if not tasks:
        raise RoiError(f"no images under {args.input}: give the folder that holds them")
    report = batch.encode_many(tasks, scheduler=args.scheduler, workers=args.workers, progress=not args.quiet)
    print(f"{report.count('encoded')} encoded, {report.count('skipped')} already done, "
          f"{report.count('failed')} failed, into {args.output}")
    for outcome in report.failures:
        print(f"failed: {outcome.task.source}: {outcome.message}", file=sys.stderr)
    return 1 if report.failures else 0


def _add_roi_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--roi", choices=("auto",), help="auto: the ROI from a segmentation model (needs the segment extra)")
    p.add_argument("--roi-model", help="segmentation model for --roi auto: swin-pico-camvid (default, embedded), "
                   "upernet-swin-t-ade20k, upernet-swin-s-ade20k, upernet-swin-b-ade20k, or a local mmseg config .py")
    p.add_argument("--roi-checkpoint", help="weights for --roi-model (a path or URL); required for a local config")
    p.add_argument("--roi-classes", type=_classes, help="comma-separated class names for --roi auto "
                   "(default: the model's object classes, e.g. Car,Pedestrian,Bicyclist)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="roicodec", description="Region-of-interest scalable image compression.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("encode", help="code an image and its ROI into a .roi file")
    p.add_argument("image", type=Path, help="any image Pillow reads (8-bit gray or RGB), or a uint8 .npy array "
                   "(read from disk a tile at a time)")
    p.add_argument("--mask", type=Path, help="image or .npy of the same size, non-zero = ROI (default: whole image)")
    _add_roi_options(p)
    p.add_argument("--qualities", type=_qualities, default=codec.DEFAULT_QUALITIES,
                   help="JPEG quality per enhancement layer (default: 75,90,100)")
    p.add_argument("--model", help=f"base-layer model (default: {registry.DEFAULT}); {registry.CHOICES_HELP}")
    p.add_argument("--tile", type=int, default=codec.DEFAULT_TILE, help="base-layer tile side in pixels")
    p.add_argument("-o", "--output", type=Path, help="output .roi (default: IMAGE with suffix .roi)")
    p.set_defaults(run=_encode)

    p = sub.add_parser("decode", help="decode a level of a .roi file to an image file")
    p.add_argument("input", type=Path)
    p.add_argument("--level", type=int, help="0 = base; default: the highest level in the file")
    p.add_argument("-o", "--output", type=Path, required=True, help="output image; format from its suffix (.npy, "
                   "and .tif with tifffile installed, are written a tile at a time, for planes larger than memory)")
    p.set_defaults(run=_decode)

    p = sub.add_parser("info", help="levels, bytes, bpp and model of a .roi file")
    p.add_argument("input", type=Path)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=_info)

    p = sub.add_parser("encode-many", help="encode every image under a folder on Dask (resumable)")
    p.add_argument("input", type=Path, help="folder of images (searched recursively)")
    p.add_argument("-o", "--output", type=Path, required=True, help="folder for the .roi files (same layout)")
    p.add_argument("--mask-dir", type=Path, help="folder of masks with the images' relative paths and stems")
    _add_roi_options(p)
    p.add_argument("--qualities", type=_qualities, default=codec.DEFAULT_QUALITIES,
                   help="JPEG quality per enhancement layer (default: 75,90,100)")
    p.add_argument("--model", help=f"base-layer model (default: {registry.DEFAULT}); {registry.CHOICES_HELP}")
    p.add_argument("--workers", type=int, help="worker processes of a local cluster (default: one per CPU)")
    p.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_encode_many)

    # Listed for --help only: main() hands `bench` and everything after it to roicodec.bench, which parses its own.
    sub.add_parser("bench", help="rate-distortion benchmark against JPEG, JPEG 2000, AVIF, WebP (bench --help)",
                   add_help=False)

    p = sub.add_parser("demo", help="encode the bundled sample with its ROI and print each level's figures")
    p.add_argument("-o", "--output", type=Path, help="also write the .roi into this folder")
    p.add_argument("--roi", choices=("auto",), help="auto: the ROI from the embedded segmenter (segment extra) instead "
                   "of the drawn one; it was trained on street scenes, so on this portrait it marks suit and flag")
    p.set_defaults(run=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"]:
        from roicodec.bench import main as bench_main

        return bench_main(argv[1:])
    args = _parser().parse_args(argv)
    try:
        return args.run(args) or 0
    except (RoiError, OSError, UnidentifiedImageError, Image.DecompressionBombError) as exc:
        print(f"roicodec: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
