"""Distil a base model's preview head (``roicodec.models.preview.PreviewHead``) from its decoder.

    python -m training.preview --data ../shared/data/bsds500 --model rd-q1 --work out/preview
    python -m training.export out/preview/rd-q1.preview.npz

The head learns to match the decoded base, 4x4-averaged, from the latents of random BSDS500 crops; its weight file
records the hash of the base it was distilled from, and the package uses it only beside that base.
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
from roicodec.models import PREVIEW_SCALE, nets, registry, store
from roicodec.models.preview import PreviewHead
from training.base_paper import CROP
from training.loop import add_run_options, begin_run
from training.photos import load_photos, random_crops


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m training.preview", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/bsds500"))
    parser.add_argument("--model", default=registry.DEFAULT, help="the installed base model to distil a head for")
    parser.add_argument("--work", type=Path, default=Path("out/preview"), help="where the head's weights go")
    parser.add_argument("--rounds", type=int, default=4, help="fresh random crops of every image per round")
    parser.add_argument("--steps", type=int, default=3000)
    add_run_options(parser)
    args = parser.parse_args(argv)

    rng = begin_run(args)
    info = registry.info(args.model)
    base = nets.build(*store.read(info.path))  # the torch module (borrowed transforms and gains filled in)
    images = load_photos(args.data)
    latents, targets = [], []
    with torch.inference_mode():
        for _ in range(args.rounds):
            x = random_crops(images, *CROP, rng)
            for i in range(0, len(x), 20):
                y = torch.round(base.g_a(x[i:i + 20]))
                latents.append(y)
                targets.append(nn.functional.avg_pool2d(base.g_s(y), PREVIEW_SCALE))
    latents_t, targets_t = torch.cat(latents), torch.cat(targets)
    head = PreviewHead(base.latent_channels)
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
    path = weights.write(args.work / f"{info.name}.preview.npz", arrays, meta)
    print(json.dumps(meta, indent=1))
    print(f"wrote {path} (into the package: python -m training.export {path})")


if __name__ == "__main__":
    main()
