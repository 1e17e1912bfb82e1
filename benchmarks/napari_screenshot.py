"""Makes docs/napari.png for docs/napari.md: the viewer with a ``.roi`` file open and the Inspect widget docked.

The bundled astronaut is coded with its ROI into a real ``.roi`` file, opened through the plugin's reader next to
its original (hidden), shown at its top level, and inspected against JPEG. The canvas needs OpenGL, which a real
X server gives and Qt's offscreen platform does not: without a display the script runs itself again under
``xvfb-run`` (Debian's ``xvfb`` package). It fails if the canvas comes out black.

    python benchmarks/napari_screenshot.py [--out docs/napari.png]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from importlib.resources import files
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCREEN = "1600x1000x24"
WINDOW = (1400, 840)
MAX_BYTES = 400_000
MIN_CANVAS_MEAN = 25.0
"""Mean grey level (0-255) the canvas must exceed; a black canvas, napari's failure under offscreen Qt, gives 0."""
MIN_CANVAS_LIT = 0.3
"""Share of canvas pixels that must be lit (the image covers most of the canvas once the view is reset)."""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "napari.png")
    args = ap.parse_args()
    if not os.environ.get("DISPLAY") and not os.environ.get("ROICODEC_UNDER_XVFB"):
        xvfb = shutil.which("xvfb-run")
        if xvfb is None:
            sys.exit("no display and no xvfb-run: install Debian's xvfb package, or run with a display")
        env = {**os.environ, "ROICODEC_UNDER_XVFB": "1"}
        env.pop("QT_QPA_PLATFORM", None)  # offscreen renders a black canvas
        sys.exit(subprocess.call([xvfb, "-a", "-s", f"-screen 0 {SCREEN}", sys.executable, __file__,
                                  "--out", str(args.out)], env=env))
    print(shoot(args.out))


def shoot(out: Path) -> dict[str, float]:
    import numpy as np
    from PIL import Image

    samples = files("roicodec") / "samples"
    rgb = np.asarray(Image.open(samples / "astronaut.png").convert("RGB"))
    mask = np.asarray(Image.open(samples / "astronaut_roi.png")) != 0

    # The reader's layer is lazy: it decodes from the file while the viewer draws, so the file outlives the viewer.
    with tempfile.TemporaryDirectory() as tmp:
        return _shoot(Path(tmp) / "astronaut.roi", rgb, mask, out)


def _shoot(path: Path, rgb, mask, out: Path) -> dict[str, float]:
    import napari
    from PIL import Image
    from qtpy.QtWidgets import QApplication

    import roicodec

    viewer = napari.Viewer(show=True)
    viewer.window.resize(*WINDOW)
    roicodec.encode(rgb, mask, path)
    viewer.add_image(rgb, name="astronaut original", visible=False)
    levels, _ = viewer.open(str(path), plugin="roicodec")
    viewer.dims.set_current_step(0, levels.data.shape[0] - 1)
    viewer.layers.selection.active = levels
    _, inspect = viewer.window.add_plugin_dock_widget("roicodec", "Inspect .roi")
    app = QApplication.instance()
    deadline = time.monotonic() + 120
    while (inspect.worker is None or inspect.worker.is_running or inspect["table"].shape[0] < 8) \
            and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.05)
    if inspect["table"].shape[0] < 8:
        raise SystemExit("the Inspect widget did not finish measuring within two minutes")
    viewer.reset_view()
    for _ in range(20):  # let the canvas and the dock settle before grabbing them
        app.processEvents()
        time.sleep(0.05)

    canvas = viewer.screenshot(canvas_only=True, flash=False)[..., :3]
    stats = {"canvas_mean": float(canvas.mean()), "canvas_lit": float((canvas.max(axis=-1) > 16).mean())}
    if stats["canvas_mean"] < MIN_CANVAS_MEAN or stats["canvas_lit"] < MIN_CANVAS_LIT:
        raise SystemExit(f"the canvas came out dark ({stats}): is this a real X server with OpenGL?")
    window = viewer.screenshot(canvas_only=False, flash=False)
    viewer.close()

    # A 256-colour palette keeps the window's flat UI exact and the photograph close enough, at a third of the bytes.
    Image.fromarray(window[..., :3]).quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE) \
        .save(out, optimize=True)
    stats["bytes"] = out.stat().st_size
    stats["width"], stats["height"] = window.shape[1], window.shape[0]
    if stats["bytes"] > MAX_BYTES:
        raise SystemExit(f"{out} takes {stats['bytes']} bytes, more than {MAX_BYTES}")
    return stats


if __name__ == "__main__":
    main()
