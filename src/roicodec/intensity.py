"""How an image of more than 8 bits meets the 8-bit base model: a stored intensity mapping per channel.

The base layer's model takes 8-bit pixels; a 16-bit channel reaches it through a :class:`Mapping`, a window
``low..high`` in the channel's own units and a curve, and its base comes back through the mapping's inverse into
the image's dtype. The enhancement layers never see the mapping: they code native pixels.

The square-root curve is the default because fluorescence is photon-limited: the noise of a count ``n`` grows as
``sqrt(n)``, so equal steps of ``sqrt`` spend the 256 codes where the signal can tell them apart (the
Anscombe transform's idea); docs/microscopy.md says how it was chosen. The inverse is integer arithmetic, so every machine rebuilds the same base from the same
8-bit base image.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from roicodec.errors import UnsupportedImageError

CURVES = ("linear", "sqrt")
"""Curves by their id in a header (docs/format.md, "Intensity mappings")."""
DEFAULT_CURVE = "sqrt"
PERCENTILES = (0.1, 99.9)
"""The window an automatic mapping takes, as percentiles of a channel's intensities."""
MAX_VALUE = 65535


@dataclass(frozen=True)
class Mapping:
    """Native intensities ``low..high`` (integers, ``low < high``) to the codes 0..255 through ``curve``; values
    outside the window clip to its ends."""

    low: int
    high: int
    curve: str = DEFAULT_CURVE

    def __post_init__(self) -> None:
        if self.curve not in CURVES:
            raise UnsupportedImageError(f"intensity curve {self.curve!r} is unknown: give one of {', '.join(CURVES)}")
        if not (isinstance(self.low, numbers.Integral) and isinstance(self.high, numbers.Integral)
                and 0 <= self.low < self.high <= MAX_VALUE):
            raise UnsupportedImageError(f"intensity window {self.low}..{self.high} is invalid: give integers with "
                                        f"0 <= low < high <= {MAX_VALUE}")
        object.__setattr__(self, "low", int(self.low))
        object.__setattr__(self, "high", int(self.high))

    def forward(self, block: np.ndarray) -> np.ndarray:
        """Native pixels (uint16) as the base model's 8-bit input."""
        return self._forward_table[block]

    def inverse(self, codes: np.ndarray) -> np.ndarray:
        """8-bit base pixels back in native units (uint16): ``inverse_table()[codes]``."""
        return self._inverse_table[codes]

    @cached_property
    def _forward_table(self) -> np.ndarray:
        t = np.clip((np.arange(MAX_VALUE + 1, dtype=np.float64) - self.low) / (self.high - self.low), 0.0, 1.0)
        return np.rint(255.0 * (np.sqrt(t) if self.curve == "sqrt" else t)).astype(np.uint8)

    @cached_property
    def _inverse_table(self) -> np.ndarray:
        return self.inverse_table()

    def inverse_table(self) -> np.ndarray:
        """The 256 native values the codes decode to, in integers (docs/format.md): linear
        ``low + ((high - low) * v + 127) // 255``, square root ``low + ((high - low) * v * v + 32512) // 65025``."""
        v = np.arange(256, dtype=np.int64)
        span = self.high - self.low
        steps = (span * v + 127) // 255 if self.curve == "linear" else (span * v * v + 32512) // 65025
        return (self.low + steps).astype(np.uint16)

    def as_json(self) -> dict[str, object]:
        return {"low": self.low, "high": self.high, "curve": self.curve}


def native(base: np.ndarray, mapping: Mapping | None) -> np.ndarray:
    """A base tile (uint8) in the image's own units: through the inverse of its mapping (16-bit files), or as is."""
    return base if mapping is None else mapping.inverse(base)


def auto(sample: np.ndarray, curve: str = DEFAULT_CURVE) -> Mapping:
    """The mapping for a channel from a sample of its pixels: its :data:`PERCENTILES`, widened to whole numbers (a
    flat channel gets a window of one step above its value)."""
    if not sample.size:
        raise UnsupportedImageError("a channel holds no pixel: nothing to code")
    low, high = np.percentile(sample, PERCENTILES)
    low, high = int(math.floor(low)), int(math.ceil(high))
    if high <= low:
        low, high = (low, low + 1) if low < MAX_VALUE else (low - 1, low)
    return Mapping(low, high, curve)

