"""The three places a segmenter can come from: the embedded models, the mmseg model zoo, a local pair.

``resolve(name)`` turns what a user typed into a :class:`ModelSource`: a config file, where the weights are (path or
URL), the class names, the default ROI classes and the resolution the model works at. Nothing here imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from importlib.util import find_spec
from pathlib import Path

from roicodec.errors import RoiError
from roicodec.segment.extra import require_segment_extra

EMBEDDED = "swin-pico-camvid"
"""The street-scene model (CamVid's 11 classes), reached by name only (see :mod:`roicodec.segment.choose`)."""
SALIENT = "swin-pico-salient"
"""The salient-object ("main subject") model, for photographs."""
NUCLEI = "swin-nano-nuclei"
"""The nuclei/cell foreground model, for microscopy."""
_PACKAGE = Path(str(resources.files("roicodec.segment")))


@dataclass(frozen=True)
class Embedded:
    """A model whose config (and, once trained and exported, weights) ship inside the package."""

    config: str
    short_side: int | None
    window: int
    input: str
    """``"rgb"`` (8-bit photographs) or ``"microscopy"`` (any depth, through ``normalise.microscopy_rgb``)."""
    dataset: str
    """The trainer's ``--dataset`` that makes its weights."""
    square: int | None = None
    """Set: the whole image is resized to ``square`` x ``square`` (aspect bent) and back, as salient-object models
    are run; such a model sees the whole picture at one fixed size, so it can learn where in the frame subjects are
    (an absolute position embedding) and costs the same on any image."""


EMBEDDED_MODELS = {
    EMBEDDED: Embedded("swin-pico_segformerhead_camvid.py", 360, 480, "rgb", "camvid"),
    SALIENT: Embedded("swin-pico_segformerhead_salient.py", None, 640, "rgb", "ecssd", square=256),
    # Native scale (nuclei are so many pixels wide) and a window wide enough that most images run in one pass.
    NUCLEI: Embedded("swin-nano_segformerhead_nuclei.py", None, 1024, "microscopy", "nuclei"),
}
ALIASES = {"camvid": EMBEDDED, "salient": SALIENT, "nuclei": NUCLEI}


class ModelNotInstalled(RoiError):
    """An embedded model was asked for whose weights this installation does not have (not trained yet)."""


def weights_path(name: str) -> Path:
    """Where an embedded model's weights are, or will be once exported."""
    return _PACKAGE / "weights" / f"{name}.npz"


def installed(name: str) -> bool:
    """Whether an embedded model's weights are in the package."""
    return weights_path(ALIASES.get(name, name)).is_file()


def not_installed_message(name: str) -> str:
    model = EMBEDDED_MODELS[name]
    return (f"segmentation model {name} is not installed: its weights are trained here and were not exported into "
            f"this package yet (python -m training.segmenter --dataset {model.dataset}, then python -m "
            f"training.export; docs/segment.md)")


# Short names for the official UPerNet Swin-T/S/B ADE20K models whose configs ship inside the mmsegmentation wheel
# (metafile names are accepted as well).
ZOO = {
    "upernet-swin-t-ade20k": "swin-tiny-patch4-window7-in1k-pre_upernet_8xb2-160k_ade20k-512x512",
    "upernet-swin-s-ade20k": "swin-small-patch4-window7-in1k-pre_upernet_8xb2-160k_ade20k-512x512",
    "upernet-swin-b-ade20k": "swin-base-patch4-window7-in1k-pre_upernet_8xb2-160k_ade20k-512x512",
}

# Objects rather than stuff: people, animals, vehicles, signs.
ADE20K_ROI = ("person", "animal", "car", "bus", "truck", "van", "bicycle", "minibike", "boat", "ship", "airplane",
              "signboard", "traffic light")


@dataclass(frozen=True)
class ModelSource:
    """Everything needed to build a segmenter, before anything heavy is loaded."""

    name: str
    config: Path
    checkpoint: str
    # Empty: the config's own ``roi_classes`` entry, if it has one.
    roi_classes: tuple[str, ...]
    # Images are resized so that their short side is this many pixels before inference (None: native size), the
    # scale the model was trained at; larger working images are cut into sliding windows of side ``window``.
    short_side: int | None
    window: int
    input: str = "rgb"
    """How pixels become the network's input: ``"rgb"`` or ``"microscopy"`` (see :class:`Embedded`)."""
    square: int | None = None
    """Set: the whole image is resized to this square instead (see :class:`Embedded`)."""


def _zoo_dir() -> Path:
    require_segment_extra()
    origin = find_spec("mmseg").origin  # type: ignore[union-attr]
    return Path(str(origin)).parent / ".mim" / "configs" / "swin"


def _zoo_weights(config_name: str) -> str:
    import yaml

    meta = yaml.safe_load((_zoo_dir() / "metafile.yaml").read_text())
    for entry in meta.get("Models", []):
        if entry.get("Name") == config_name:
            return str(entry["Weights"])
    raise RoiError(f"mmseg's swin metafile has no checkpoint for {config_name}")


def model_names() -> list[str]:
    """Names ``resolve`` accepts besides a config path and the short aliases: the embedded models (installed or
    not) and the zoo's short names."""
    return [SALIENT, NUCLEI, EMBEDDED, *ZOO]


def resolve(model: str | Path | None = None, checkpoint: str | Path | None = None) -> ModelSource:
    """The source for ``model``: a name from :func:`model_names`, a zoo metafile name, or a local config path.

    A local config may declare ``class_names`` and ``roi_classes``, as the embedded model's config does.

    ``checkpoint`` (a path or URL) replaces a named model's weights and is required for a local config.
    """
    name = str(model) if model is not None else EMBEDDED
    name = ALIASES.get(name, name)
    if name in EMBEDDED_MODELS:
        embedded = EMBEDDED_MODELS[name]
        if checkpoint is None and not installed(name):
            raise ModelNotInstalled(not_installed_message(name))
        return ModelSource(name, _PACKAGE / "configs" / embedded.config, str(checkpoint or weights_path(name)), (),
                           embedded.short_side, embedded.window, embedded.input, embedded.square)
    zoo_name = ZOO.get(name, name)
    if not name.endswith(".py") and (zoo_name in ZOO.values() or (_zoo_dir() / f"{zoo_name}.py").is_file()):
        config = _zoo_dir() / f"{zoo_name}.py"
        return ModelSource(name, config, str(checkpoint or _zoo_weights(zoo_name)), ADE20K_ROI, 512, 768)
    config = Path(name).expanduser()
    if config.suffix != ".py" or not config.is_file():
        raise RoiError(f"unknown segmentation model {name!r}: use auto, one of {', '.join(model_names())}, "
                       f"or a local mmseg config .py with a checkpoint")
    if checkpoint is None:
        raise RoiError(f"a local config ({config.name}) needs its checkpoint file as well")
    return ModelSource(config.stem, config, str(checkpoint), (), None, 512)
