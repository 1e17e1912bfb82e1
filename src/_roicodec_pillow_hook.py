"""Register roicodec's Pillow plugin the first time a program imports ``PIL.Image``, with no import of roicodec.

Pillow has no plugin discovery, so roicodec's wheel installs ``roicodec-pillow.pth``, which Python's ``site`` runs at
start-up. It only puts a one-shot finder on ``sys.meta_path`` (programs that never touch Pillow pay for this small
module and nothing more). When ``PIL.Image`` is imported, the finder lets it load, then registers open and save
handlers that import roicodec only when a ``.roi`` file is actually opened or saved.

Set ``ROICODEC_NO_PILLOW_HOOK=1`` to turn it off; ``roicodec.register_pillow()`` still registers explicitly.
"""

import sys

_SIGNATURE = b"\x8eROI\r\n\x1a\n"  # roicodec.container.SIGNATURE; a test keeps the two equal


def _accept(prefix: bytes) -> bool:
    return prefix[:8] == _SIGNATURE


def _open(fp, filename):
    from roicodec.pillow_plugin import RoiImageFile  # registers the real plugin over this stand-in

    return RoiImageFile(fp, filename)


def _save(im, fp, filename):
    from roicodec.pillow_plugin import _save

    _save(im, fp, filename)


def _save_all(im, fp, filename):
    from roicodec.pillow_plugin import _save_all

    _save_all(im, fp, filename)


def _register(image_module) -> None:
    try:
        image_module.register_open("ROI", _open, _accept)
        image_module.register_save("ROI", _save)
        image_module.register_save_all("ROI", _save_all)  # generic programs pass save_all=True for every format
        image_module.register_extension("ROI", ".roi")
        image_module.register_mime("ROI", "image/x-roi")
    except Exception:  # noqa: BLE001 - a broken hook must never break a program that merely imports Pillow
        pass


class _Finder:
    """Finds nothing itself: it wraps the loader of ``PIL.Image`` so that registration follows its execution."""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name != "PIL.Image":
            return None
        sys.meta_path[:] = [f for f in sys.meta_path if f is not cls]
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(name, path, target)
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            execute = spec.loader.exec_module

            def exec_module(module) -> None:
                execute(module)
                _register(module)

            spec.loader.exec_module = exec_module
        return spec


def install() -> None:
    """Arrange for registration on the first ``import PIL.Image`` (at once if it is already imported)."""
    if "PIL.Image" in sys.modules:
        _register(sys.modules["PIL.Image"])
    elif _Finder not in sys.meta_path:
        sys.meta_path.insert(0, _Finder)
