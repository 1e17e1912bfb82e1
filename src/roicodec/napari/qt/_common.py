"""Pieces both dock widgets use: layer pickers, the figures table, and running work off the GUI thread."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import napari
from magicgui.widgets import Label, Table
from napari.layers import Layer
from napari.qt.threading import create_worker
from napari.utils.notifications import notification_manager, show_error
from qtpy.QtWidgets import QStyledItemDelegate

from roicodec.errors import RoiError
from roicodec.napari._evaluate import COLUMNS, Point, rows
from roicodec.napari._layers import KEY


def layer_choices(viewer: napari.Viewer, kind: type[Layer], *, coded: bool | None = None
                  ) -> Callable[[Any], list[tuple[str, Layer]]]:
    """Choices for a ComboBox: the viewer's layers of ``kind``; with ``coded``, only those (not) read from a .roi."""
    def choices(_widget: Any) -> list[tuple[str, Layer]]:
        return [(layer.name, layer) for layer in viewer.layers
                if isinstance(layer, kind) and (coded is None or (KEY in layer.metadata) == coded)]
    return choices


def figures_table(rows: int) -> Table:
    """An empty read-only table of :data:`COLUMNS`, tall enough for ``rows`` rows without scrolling."""
    table = Table(name="table", value=([], [], list(COLUMNS)))
    table.read_only = True
    native = table.native
    # Qt's own delegate shows the text as given; magicgui's would print every number with four decimals.
    native.setItemDelegate(QStyledItemDelegate(native))
    native.verticalHeader().hide()
    native.setMinimumHeight(native.horizontalHeader().sizeHint().height()
                            + rows * native.verticalHeader().defaultSectionSize() + 2 * native.frameWidth() + 16)
    return table


def show_points(table: Table, points: Sequence[Point]) -> None:
    table.value = (rows(points), list(range(len(points))), list(COLUMNS))
    table.native.resizeColumnsToContents()


def start(func: Callable[..., Any], *args: Any, desc: str, steps: int, status: Label,
          done: Callable[[Any], None], after: Callable[[], None] | None = None) -> Any:
    """Run the generator ``func(*args)`` in a thread with a napari progress bar of ``steps`` (one per yield).

    ``done`` gets its return value on the GUI thread, ``after`` runs once it ended either way. A failure shows in
    ``status`` and as a napari notification: errors roicodec raises about the input are the user's to fix, anything
    else is a bug and keeps its traceback.
    """
    worker = create_worker(func, *args, _progress={"total": steps, "desc": desc}, _ignore_errors=True)
    worker.returned.connect(done)
    if after is not None:
        worker.finished.connect(after)

    def failed(exc: Exception) -> None:
        status.value = f"failed: {exc}"
        if isinstance(exc, RoiError):
            show_error(str(exc))
        else:
            notification_manager.receive_error(type(exc), exc, exc.__traceback__)

    worker.errored.connect(failed)
    worker.start()
    return worker
