"""Encode folders of images on Dask (``dask.distributed``): a local cluster by default, or an existing one.

Each output records the SHA-256 of its source in its description, so a second run verifies finished outputs (complete,
every CRC good, same source) and skips them; anything else is coded again. One file's failure is reported at the
end and stops nothing else.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from roicodec import digest, options
from roicodec.container import Layer
from roicodec.errors import RoiError
from roicodec.options import RoiModel

if TYPE_CHECKING:
    from distributed import Client

SOURCE_KEY = "source_sha256"


@dataclass(frozen=True)
class Task:
    source: Path
    output: Path
    mask: Path | None = None
    ladder: tuple[Layer, ...] = ()
    """The enhancement layers (``()``: the default ladder)."""
    model: str | None = None
    segment: RoiModel | None = None
    """The segmenter of an automatic ROI, or ``None``."""


@dataclass(frozen=True)
class Outcome:
    task: Task
    status: str
    """``"encoded"``, ``"skipped"`` (a verified output was there) or ``"failed"``."""
    message: str = ""
    bytes: int = 0


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]


def _image_suffixes() -> set[str]:
    from PIL import Image

    return {ext for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN and fmt != "ROI"}


def plan(input_dir: Path, output_dir: Path, *, mask_dir: Path | None = None,
         ladder: Sequence[Layer] = (), model: str | None = None,
         segment: RoiModel | None = None) -> list[Task]:
    """One task per image under ``input_dir`` (recursively), mirrored under ``output_dir`` with suffix ``.roi``.

    A mask, when ``mask_dir`` is given, is the file there with the image's relative path and stem (any image suffix);
    an image without one is coded whole. ``segment`` asks for an automatic ROI instead (see :class:`Task`).
    """
    if mask_dir is not None and segment is not None:
        raise RoiError("give either a mask folder or an automatic ROI, not both")
    if not input_dir.is_dir():
        raise RoiError(f"{input_dir} is not a folder: pass the folder that holds the images")
    suffixes = _image_suffixes()
    tasks = []
    for source in sorted(p for p in input_dir.rglob("*") if p.is_file() and p.suffix.lower() in suffixes):
        rel = source.relative_to(input_dir)
        mask = None
        if mask_dir is not None:
            found = sorted(m for m in (mask_dir / rel.parent).glob(f"{glob_escape(rel.stem)}.*")
                           if m.suffix.lower() in suffixes)
            mask = found[0] if found else None
        tasks.append(Task(source, output_dir / rel.with_suffix(".roi"), mask, tuple(ladder), model, segment))
    outputs: dict[Path, Path] = {}
    for task in tasks:
        # a.png and a.jpg would both become a.roi: the second would silently replace the first's output.
        other = outputs.setdefault(task.output, task.source)
        if other != task.source:
            raise RoiError(f"{other} and {task.source} would both be coded to {task.output}: rename one of them")
    return tasks


def glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def _sha256(path: Path) -> str:
    return digest.sha256(path).hex()


def verified(task: Task, source_hash: str | None = None) -> bool:
    """Whether ``task.output`` is a complete, undamaged ``.roi`` coded from the current ``task.source``."""
    import roicodec

    if not task.output.exists():
        return False
    try:
        with roicodec.open(task.output) as f:
            if f.levels != f.header.levels or f.header.layers != (task.ladder or options.parse_ladder(
                    options.DEFAULT_LADDER)):
                return False
            f.verify()
            recorded = f.metadata.get(SOURCE_KEY)
    except (RoiError, OSError):
        return False
    return recorded == (source_hash or _sha256(task.source))


def encode_one(task: Task) -> Outcome:
    """Encode one image unless a verified output exists; never raises for a bad input, reports it instead."""
    from PIL import Image, UnidentifiedImageError

    import roicodec
    from roicodec import inputs

    try:
        source_hash = _sha256(task.source)
        if verified(task, source_hash):
            return Outcome(task, "skipped", bytes=task.output.stat().st_size)
        picture = inputs.read(task.source)
        mask = None
        if task.mask is not None:
            mask = inputs.read(task.mask).pixels
        elif task.segment is not None:
            from roicodec.segment import segment_roi

            planes = inputs.Planes(picture.pixels, None, picture.axes)
            if planes.lead:
                raise RoiError(f"an automatic ROI takes one image, not a stack of {planes.count} planes: give a mask "
                               "folder")
            roi = task.segment
            # The pixels at their own depth, as `roicodec encode --roi auto` gives them: a 16-bit micrograph reaches
            # the nuclei model through its percentile normalisation, not clipped to 8 bits.
            mask, _ = segment_roi(inputs.roi_pixels(picture.pixels), roi.model, roi.classes, roi.checkpoint)
        task.output.parent.mkdir(parents=True, exist_ok=True)
        roicodec.encode(picture.pixels, mask, task.output, ladder=task.ladder or None, model=task.model,
                        axes=picture.axes, metadata={"name": task.source.stem, SOURCE_KEY: source_hash},
                        icc_profile=picture.icc_profile)
        return Outcome(task, "encoded", bytes=task.output.stat().st_size)
    except (RoiError, OSError, UnidentifiedImageError, Image.DecompressionBombError) as exc:
        return Outcome(task, "failed", f"{type(exc).__name__}: {exc}")


def _progress_bar(total: int) -> Callable[[Outcome], None]:
    done = 0

    def update(outcome: Outcome) -> None:
        nonlocal done
        done += 1
        width = 30
        filled = width * done // max(total, 1)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {outcome.task.source.name[:40]:<40}")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return update


@contextmanager
def spawn_environment_kept() -> Iterator[None]:
    """Give back, on leaving, the variables Dask's nannies set in this process before they spawn workers.

    They write OMP_NUM_THREADS=1 and the like into ``os.environ`` and leave them there: every later child of the
    caller would run torch on one thread, and decode pixels that differ by a grey level from the caller's own.
    """
    import dask

    names = dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {}
    saved = {name: os.environ.get(name) for name in names}
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def encode_many(tasks: Iterable[Task], *, client: Client | None = None, scheduler: str | None = None,
                workers: int | None = None, progress: Callable[[Outcome], None] | bool = True) -> Report:
    """Run ``tasks`` on Dask and return what became of each.

    Args:
        client: an existing ``distributed.Client`` to run on.
        scheduler: else the address of a running scheduler, e.g. ``tcp://10.0.0.5:8786``.
        workers: else the number of worker processes of a new local cluster (default: one per CPU).
        progress: ``True`` for a bar on stderr, ``False`` for none, or a function called with each outcome.
    """
    from distributed import Client, LocalCluster, as_completed

    tasks = list(tasks)
    update = _progress_bar(len(tasks)) if progress is True else (progress or (lambda outcome: None))
    report = Report()
    # Closed last in, first out: the client we made before its cluster, and the nannies' variables after both.
    with spawn_environment_kept(), ExitStack() as owned:
        if client is None:
            if scheduler is not None:
                client = owned.enter_context(Client(scheduler))
            else:
                # One thread per worker process: torch already uses the cores it is given, and the GIL would
                # serialise the Python parts of several threads anyway. On loopback: a local cluster has no business
                # listening on the machine's other interfaces.
                cluster = owned.enter_context(LocalCluster(
                    n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                    host="127.0.0.1", dashboard_address=None))
                client = owned.enter_context(Client(cluster))
        futures = client.map(encode_one, tasks, pure=False)
        for future in as_completed(futures):
            outcome = future.result()
            report.outcomes.append(outcome)
            update(outcome)
    order = {task: i for i, task in enumerate(tasks)}
    report.outcomes.sort(key=lambda o: order[o.task])
    return report
