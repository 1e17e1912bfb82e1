"""Range coding of the quantised latent against per-channel categorical tables (constriction).

The tables ship as integer counts; dividing them in float64 gives the same probabilities, and so the same bytes, on
every machine.
"""

from __future__ import annotations

import constriction
import numpy as np

from roicodec.errors import CorruptFileError


class LatentCoder:
    """Codes a ``(C, h, w)`` integer latent; symbols beyond a channel's table are clamped to its ends."""

    def __init__(self, offsets: np.ndarray, freqs: list[np.ndarray]) -> None:
        self.offsets = [int(o) for o in offsets]
        self.sizes = [len(f) for f in freqs]
        if min(self.offsets) < -32768 or max(o + n - 1 for o, n in zip(self.offsets, self.sizes)) > 32767:
            raise ValueError("coding tables reach beyond int16, the latent's type")
        # The fewest bits any latent cell can cost: a payload shorter than count x this cannot be genuine, so a
        # tiny file that claims a huge image is refused before the decoder allocates or loops over it.
        self._min_bits_per_cell = sum(float(-np.log2(f.max() / f.sum())) for f in freqs)
        self._models = [
            constriction.stream.model.Categorical(f.astype(np.float64) / float(f.sum()), perfect=False)
            for f in freqs
        ]

    def clamp(self, latent: np.ndarray) -> np.ndarray:
        """The latent as the decoder will see it: each channel clamped to its table."""
        low = np.array(self.offsets)[:, None, None]
        return np.clip(latent, low, low + np.array(self.sizes)[:, None, None] - 1).astype(latent.dtype)

    def code(self, latent: np.ndarray) -> tuple[bytes, np.ndarray]:
        """The payload and the latent it decodes to (clamped to the tables): the encoder's base is made from the
        latter, so that it is the decoder's."""
        return self.encode(latent), self.clamp(latent)

    def uncode(self, data: bytes, shape: tuple[int, int]) -> np.ndarray:
        return self.decode(data, shape)

    def encode(self, latent: np.ndarray) -> bytes:
        encoder = constriction.stream.queue.RangeEncoder()
        for c, model in enumerate(self._models):
            symbols = np.clip(latent[c].ravel().astype(np.int64) - self.offsets[c], 0, self.sizes[c] - 1)
            encoder.encode(symbols.astype(np.int32), model)
        return encoder.get_compressed().astype("<u4").tobytes()

    def decode(self, data: bytes, shape: tuple[int, int]) -> np.ndarray:
        if len(data) % 4:
            raise CorruptFileError("base layer is not a whole number of 32-bit words: the file is damaged")
        count = shape[0] * shape[1]
        if len(data) * 8 + 64 < 0.98 * count * self._min_bits_per_cell:
            raise CorruptFileError(f"base layer of {len(data)} bytes is too short for a {shape[1]}x{shape[0]} latent: "
                                   "the file is damaged")
        decoder = constriction.stream.queue.RangeDecoder(np.frombuffer(data, "<u4").astype(np.uint32))
        latent = np.empty((len(self._models), count), np.int16)
        try:
            for c, model in enumerate(self._models):
                latent[c] = decoder.decode(model, count) + self.offsets[c]
        except (AssertionError, RuntimeError, ValueError) as exc:
            # constriction asserts when a word sequence cannot come from these tables (found by fuzzing).
            raise CorruptFileError(f"base layer does not decode ({exc}): the file is damaged") from None
        return latent.reshape(len(self._models), *shape)
