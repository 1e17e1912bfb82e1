"""Small data for running each trainer end to end in seconds."""

import pytest


@pytest.fixture()
def keep_torch_threads():
    import torch

    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture()
def tiny_bsds(tmp_path, astronaut):
    from PIL import Image

    for split, count in (("train", 3), ("val", 1), ("test", 2)):
        (tmp_path / "bsds" / split).mkdir(parents=True)
        for i in range(count):
            # Room for the paper's 192x256 crops; the rd trainer takes smaller ones.
            Image.fromarray(astronaut[i * 40:i * 40 + 200, :264]).save(tmp_path / "bsds" / split / f"{i}.jpg")
    return tmp_path / "bsds"
