import numpy as np
import pytest

from roicodec import ladder


@pytest.mark.parametrize("step", [1, 2])
def test_integer_residual_mapping_equals_the_format_formula(step: int) -> None:
    """docs/format.md: clip(round(r / step) + 128, 0, 255), round half to even; every residual a tile can hold."""
    r = np.arange(-255, 256, dtype=np.int16)
    expected = np.clip(np.round(r / step) + 128, 0, 255).astype(np.uint8)
    assert np.array_equal(ladder._to_code(r.copy(), step), expected)
