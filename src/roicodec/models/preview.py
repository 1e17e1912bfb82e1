"""A small head that turns the base layer's latent into a 1/4-size preview without running the full decoder.

Thumbnails (Pillow's ``draft``/``thumbnail``) need a small image fast; the decoder's last layers, at full and half
resolution, cost nearly all of a full decode. The head is distilled from the decoder: trained so that its output
matches the decoded base, 4x4-averaged, on BSDS500 crops.

    python -m roicodec.models.preview --data ../shared/data/bsds500
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from roicodec import weights
from roicodec.models import PREVIEW_SCALE


class PreviewHead(nn.Module):
    """Two transposed convolutions: latent (1/16) to RGB at 1/4 resolution."""

    def __init__(self, latent_channels: int = 8, width: int = 48) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.ConvTranspose2d(latent_channels, width, 5, stride=2, padding=2, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(width, 3, 5, stride=2, padding=2, output_padding=1), nn.Sigmoid(),
        )

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.net(y)


def main(argv: list[str] | None = None) -> None:
    from roicodec.models import registry
    from roicodec.models.train import _crops, _load_images

    parser = argparse.ArgumentParser(description="Distil the preview head from a base model's decoder.")
    parser.add_argument("--data", type=Path, default=Path("../shared/data/bsds500"))
    parser.add_argument("--model", default=registry.DEFAULT)
    parser.add_argument("--rounds", type=int, default=4, help="fresh random crops of every image per round")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    info = registry.info(args.model)
    base = registry.load(args.model)
    images = _load_images(args.data)
    latents, targets = [], []
    with torch.inference_mode():
        for _ in range(args.rounds):
            x = _crops(images, rng)
            for i in range(0, len(x), 20):
                y = torch.round(base.net.g_a(x[i:i + 20]))
                latents.append(y)
                targets.append(nn.functional.avg_pool2d(base.net.g_s(y), PREVIEW_SCALE))
    latents_t, targets_t = torch.cat(latents), torch.cat(targets)
    head = PreviewHead(base.net.latent_channels)
    opt = torch.optim.Adam(head.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.steps)
    t0 = time.perf_counter()
    for step in range(args.steps):
        idx = torch.randint(len(latents_t), (16,))
        loss = nn.functional.mse_loss(head(latents_t[idx]), targets_t[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if (step + 1) % 500 == 0:
            psnr = 10 * np.log10(1 / loss.item())
            print(f"step {step + 1}/{args.steps} mse {loss.item():.6f} ({psnr:.1f} dB) {time.perf_counter() - t0:.0f}s",
                  flush=True)
    with torch.inference_mode():
        mse = nn.functional.mse_loss(head(latents_t), targets_t).item()
    meta = {"name": f"{info.name}.preview", "base_model": info.name, "base_hash": info.hash.hex(),
            "scale": PREVIEW_SCALE, "recipe": {k: str(v) for k, v in vars(args).items()},
            "fit_psnr_db": round(10 * np.log10(1 / mse), 2), "torch": torch.__version__}
    arrays = {f"param/{k}": v.detach().numpy().astype(np.float32) for k, v in head.state_dict().items()}
    weights.write(info.path.with_suffix(".preview.npz"), arrays, meta)
    print(json.dumps(meta, indent=1))


if __name__ == "__main__":
    main()
