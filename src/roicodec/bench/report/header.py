"""The page's title and provenance: the command that made it, how long it took, the versions, and the JSON it reads."""

from __future__ import annotations

from typing import Any

from roicodec.bench.report.formats import minutes

TITLE = "# Results: roicodec against the paper's scalable JPEG and the codecs a user would pick instead"


def section(meta: dict[str, Any]) -> list[str]:
    return [TITLE, _made_by(meta), _versions(meta), _data(meta)]


def _made_by(meta: dict[str, Any]) -> str:
    t, args = meta["times"], " ".join(meta["args"])
    return (f"Made by `roicodec bench {args}` (the same as `python -m roicodec.bench {args}`) on {meta['date']}, in "
            f"**{minutes(t['total_s'])} minutes** of wall time on this machine ({meta['machine']}): sweep "
            f"{minutes(t['sweep_s'])} min, speed {minutes(t['speed_s'])} min, tables and figures "
            f"{t['report_s']:.0f} s. That command writes every table and figure on this page from scratch.")


def _versions(meta: dict[str, Any]) -> str:
    v, model = meta["versions"], meta["model"]
    return (f"roicodec {v['roicodec']} (base model `{model['name']}`, hash `{model['hash']}`), Pillow {v['pillow']} "
            f"(libjpeg-turbo {v['libjpeg_turbo']}, OpenJPEG {v['openjpeg']}, libwebp {v['libwebp']}, libavif "
            f"{v['libavif']}), scikit-image {v['scikit-image']}, bjontegaard {v['bjontegaard']}, numpy {v['numpy']}, "
            f"torch {v['torch']} ({meta['torch_threads']} threads), Python {v['python']}.")


def _data(meta: dict[str, Any]) -> str:
    out = meta["out_name"]

    def link(name: str, label: str) -> str:
        return f"[`{label}`]({out}/{name})"

    return (f"Data: {meta['images']} images from `{meta['data']}`. Raw rows, one per image x size x codec x operating "
            f"point: {link('rows.jsonl', f'{out}/rows.jsonl')}; the summary the tables read: "
            f"{link('summary.json', 'summary.json')}; speed: {link('speed.json', 'speed.json')}; the run's settings "
            f"and versions: {link('meta.json', 'meta.json')}.")
