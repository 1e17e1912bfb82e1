"""The quality-layer prefixes of a JPEG 2000 codestream: what a file holding only layers 1..k would be.

In a single-tile, layer-progressive (LRCP) codestream the packets of layer 1 come first, then those of layer 2, and
so on, so the first k layers are the main header, the tile-part header and a prefix of the packet data. The encoder
is asked for packet-length (PLT) markers to find where each layer ends; a file holding k layers would not carry that
index, so the prefixes drop it. Each prefix is a complete codestream (tile length rewritten, end marker added): its
length is the rate of k layers and decoding it gives exactly what a reader of k layers sees.

Decoding prefixes rather than setting ``im.layers = k`` is deliberate: Pillow 13 passes ``layers`` to OpenJPEG only
when ``reduce`` is non-zero too, so ``layers`` alone decodes every layer.
"""

from __future__ import annotations

import struct

SOC, SIZ, COD, SOT, PLT, SOD, EOC = 0xFF4F, 0xFF51, 0xFF52, 0xFF90, 0xFF58, 0xFF93, 0xFFD9
LRCP = 0
_PSOT_AT = 6
"""Offset of the tile-part length (Psot) from the start of the SOT marker."""


def _plt_lengths(body: bytes) -> list[int]:
    """Packet lengths in one PLT segment: 7 bits a byte, most significant first, high bit set = more bytes follow."""
    lengths, value = [], 0
    for byte in body[1:]:  # body[0] is the segment's index (Zplt)
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            lengths.append(value)
            value = 0
    return lengths


def layer_prefixes(codestream: bytes) -> list[bytes]:
    """For k = 1..layers, the codestream of quality layers 1..k, from one written with ``plt=True``.

    Raises ``ValueError`` for codestreams this does not cover: several tiles or tile-parts, a progression other than
    LRCP, explicit precincts, or no PLT.
    """
    if struct.unpack_from(">H", codestream)[0] != SOC:
        raise ValueError("not a JPEG 2000 codestream (no SOC marker)")
    head, pos, sot_at, tile_parts = bytearray(codestream[:2]), 2, -1, 0
    components = layers = resolutions = 0
    packets: list[int] = []
    while True:
        marker = struct.unpack_from(">H", codestream, pos)[0]
        if marker == SOD:
            break
        length = struct.unpack_from(">H", codestream, pos + 2)[0]
        segment = codestream[pos:pos + 2 + length]
        body = segment[4:]
        if marker == SIZ:
            components = struct.unpack_from(">H", body, 34)[0]
        elif marker == COD:
            scod, order, layers, _, levels = struct.unpack_from(">BBHBB", body)
            if order != LRCP or scod & 1:
                raise ValueError("codestream is not LRCP with default precincts: its layers are not contiguous")
            resolutions = levels + 1
        elif marker == SOT:
            tile_parts += 1
            sot_at = len(head)
        if marker == PLT:
            packets += _plt_lengths(body)
        else:
            head += segment
        pos += 2 + length
    head += codestream[pos:pos + 2]  # SOD
    data = codestream[pos + 2:-2]
    per_layer = resolutions * components
    if tile_parts != 1 or codestream[-2:] != EOC.to_bytes(2, "big"):
        raise ValueError("codestream is not one tile-part ended by EOC: write a single tile")
    if not packets or len(packets) != layers * per_layer or sum(packets) != len(data):
        raise ValueError(f"PLT lists {len(packets)} packets of {sum(packets)} bytes, expected {layers} layers x "
                         f"{per_layer} packets of {len(data)} bytes: write with plt=True")
    prefixes = []
    for k in range(1, layers + 1):
        out = head + data[:sum(packets[:k * per_layer])] + EOC.to_bytes(2, "big")
        struct.pack_into(">I", out, sot_at + _PSOT_AT, len(out) - 2 - sot_at)
        prefixes.append(bytes(out))
    return prefixes
