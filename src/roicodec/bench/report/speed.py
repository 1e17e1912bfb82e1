""""Speed": every codec's encode and decode speed against JPEG's, then each base model's base layer against
JPEG 2000 and AVIF, and whether it meets the decode target."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from roicodec.bench.analysis import BASE
from roicodec.bench.report import method
from roicodec.bench.report.formats import code_list, codec_name, mp_s, seconds, times
from roicodec.bench.report.markdown import table

DECODE_TARGET = 5.0
"""roicodec's target for the base layer: it decodes in at most this many times JPEG 2000's time for the same image."""

Row = dict[str, Any]


def section(speed: Sequence[Row]) -> list[str]:
    if not speed:
        return []
    return ["## Speed", method.speed(speed[0]), _codecs(speed), *_base(speed)]


def _codecs(speed: Sequence[Row]) -> str:
    jpeg = next((r for r in speed if r["codec"] == "jpeg"), None)
    rows = []
    for r in speed:
        if r["codec"] == BASE:
            continue
        against = ([times(r["encode_s"] / jpeg["encode_s"]), times(r["decode_s"] / jpeg["decode_s"])] if jpeg
                   else ["n/a", "n/a"])
        rows.append([codec_name(r["codec"]), r["what"], mp_s(r["encode_mp_s"]), mp_s(r["decode_mp_s"]), *against])
    return table(["codec", "what is timed", "encode MP/s", "decode MP/s", "encode time / JPEG's",
                  "decode time / JPEG's"], "llrrrr", rows)


def _base(speed: Sequence[Row]) -> list[str]:
    """The base layers' times against JPEG 2000's (most layers first) and AVIF's, from the same interleaved runs."""
    base = [r for r in speed if r["codec"] == BASE]
    j2k = sorted((r for r in speed if r["codec"] == "jpeg2000"), key=lambda r: -(r.get("setting") or 0))
    if not base or not j2k:
        return []
    target = f"Decode target: the base layer decodes in at most {DECODE_TARGET:g}x JPEG 2000's time."
    return ["### Base layer against JPEG 2000 and AVIF", method.base_speed(base[0]["images"]) + " " + target,
            _base_table(base + j2k + [r for r in speed if r["codec"] == "avif"], j2k), _target_met(base, j2k)]


def _name(r: Row) -> str:
    if r["codec"] == BASE:
        return f"`{r['setting']}` base layer"
    top = r.get("setting")
    return codec_name(r["codec"]) + (f" ({top} bpp)" if r["codec"] == "jpeg2000" and top else "")


def _base_table(rows: Sequence[Row], j2k: Sequence[Row]) -> str:
    cells = [[_name(r), r["what"], seconds(r["encode_s"] / r["images"]), seconds(r["decode_s"] / r["images"]),
              *(times(r["decode_s"] / ref["decode_s"]) for ref in j2k)] for r in rows]
    return table(["codec", "what is timed", "encode s/image", "decode s/image",
                  *(f"decode time / JPEG 2000's ({r.get('setting')} bpp)" for r in j2k)],
                 "llrr" + "r" * len(j2k), cells)


def _target_met(base: Sequence[Row], j2k: Sequence[Row]) -> str:
    """Which models decode within the target of the fastest JPEG 2000 stream, of the slowest only, or of none."""
    strict, loose = j2k[-1], j2k[0]
    within_all = _within(base, strict)
    within_loose = [m for m in _within(base, loose) if m not in within_all]
    missed = [r["setting"] for r in base if r["setting"] not in within_all + within_loose]
    parts = []
    if within_all:
        parts.append(f"{code_list(within_all)} within {DECODE_TARGET:g}x of "
                     + ("both JPEG 2000 streams" if len(j2k) > 1 else _name(strict)))
    if within_loose:
        parts.append(f"{code_list(within_loose)} within {DECODE_TARGET:g}x of {_name(loose)} only")
    if missed:
        parts.append(f"{code_list(missed)} slower than {DECODE_TARGET:g}x of every JPEG 2000 stream")
    return f"Decode target in this run: {'; '.join(parts)}."


def _within(base: Sequence[Row], stream: Row) -> list[str]:
    return [r["setting"] for r in base if r["decode_s"] <= DECODE_TARGET * stream["decode_s"]]
