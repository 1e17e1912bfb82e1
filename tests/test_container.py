import dataclasses
import io
import struct
import zlib

import pytest

from roicodec import container
from roicodec.errors import CorruptFileError, NotRoiFileError, TruncatedFileError, UnsupportedVersionError

pytestmark = pytest.mark.read_only  # these run in the plain install too (.ci/run)

HEADER = container.Header(640, 480, "RGB", (75, 90, 100), "paper-ae", bytes(range(8)), 1024)


def build(*extra: tuple[int, bytes, bytes]) -> bytes:
    """A file with known payloads; ``extra`` inserts (position, type, data) chunks among the known ones."""
    chunks = [container.chunk(container.HEADER, HEADER.pack()), container.chunk(container.BASE, b"base"),
              container.chunk(container.MASK, b"mask")] + [container.chunk(container.LAYER, b"L%d" % i) for i in (1, 2, 3)]
    for pos, type_, data in extra:
        chunks.insert(pos, container.chunk(type_, data))
    return container.SIGNATURE + b"".join(chunks)


def test_header_round_trip() -> None:
    assert container.Header.unpack(HEADER.pack()) == HEADER
    gray = container.Header(1, 1, "L", (), "m", b"\0" * 8, 64)
    assert container.Header.unpack(gray.pack()) == gray


def test_pack_matches_hand_built_file() -> None:
    assert container.pack(HEADER, [b"base"], [b"mask"], [[b"L1"], [b"L2"], [b"L3"]]) == build()


def test_layout_and_payloads() -> None:
    data = build()
    layout = container.read_layout(io.BytesIO(data))
    assert layout.header == HEADER
    assert layout.levels_available == 4
    assert layout.level_ends[-1] == len(data)
    payloads = container.read_payloads(io.BytesIO(data), layout, 2)
    assert payloads == {container.BASE: [b"base"], container.MASK: [b"mask"], container.LAYER: [b"L1", b"L2"]}


def test_unknown_chunks_are_skipped_but_counted_in_bytes() -> None:
    data = build((1, b"tEXt", b"comment"), (7, b"zzzz", b"trailer"))
    layout = container.read_layout(io.BytesIO(data))
    assert layout.levels_available == 4
    assert container.read_payloads(io.BytesIO(data), layout, 3)[container.LAYER] == [b"L1", b"L2", b"L3"]
    plain = container.read_layout(io.BytesIO(build()))
    assert layout.level_ends[0] - plain.level_ends[0] == 12 + len(b"comment")


def test_unknown_chunk_damage_is_detected() -> None:
    data = bytearray(build((1, b"tEXt", b"comment")))
    data[data.index(b"comment")] ^= 1
    with pytest.raises(CorruptFileError, match="CRC"):
        container.read_payloads(io.BytesIO(data), container.read_layout(io.BytesIO(data)), 0)


def test_every_chunk_boundary_prefix_gives_its_level() -> None:
    data = build()
    layout = container.read_layout(io.BytesIO(data))
    ends = [layout.chunks[0].offset - 8] + [c.end for c in layout.chunks]
    expected = [0, 1, 1, 2, 3, 4]  # levels available after header, base, mask, L1, L2, L3
    for end, levels in zip(ends, expected):
        assert container.read_layout(io.BytesIO(data[:end])).levels_available == levels
        # Any cut inside the next chunk reads as the same lower level.
        if end + 5 < len(data):
            assert container.read_layout(io.BytesIO(data[:end + 5])).levels_available == levels


def test_signature_other_formats_and_imagej_are_refused() -> None:
    for data in (b"Iout\x00\xe3\x00\x01" + bytes(56), b"\x89PNG\r\n\x1a\n", b""):
        with pytest.raises(NotRoiFileError):
            container.read_layout(io.BytesIO(data))


def test_newer_major_version_is_refused() -> None:
    raw = bytearray(HEADER.pack())
    raw[0] = container.VERSION[0] + 1
    data = container.SIGNATURE + container.chunk(container.HEADER, bytes(raw))
    with pytest.raises(UnsupportedVersionError, match="upgrade roicodec"):
        container.read_layout(io.BytesIO(data))


def test_newer_minor_version_is_read() -> None:
    """A 1.7 writer lays its header out as 1.1 does (minor versions only add what a reader may skip)."""
    raw = bytearray(dataclasses.replace(HEADER, version=(1, 1)).pack())
    raw[1] = 7
    old = len(HEADER.pack())
    data = container.SIGNATURE + container.chunk(container.HEADER, bytes(raw)) + build()[len(container.SIGNATURE) + 12 + old:]
    header = container.read_layout(io.BytesIO(data)).header
    assert header.version == (1, 7) and header.layers == HEADER.layers


@pytest.mark.parametrize("start, value", [(2, b"\0\0\0\0"), (6, b"\0\x20\0\0"), (10, b"\2"), (11, b"\0\0")])
def test_impossible_header_values_are_refused(start: int, value: bytes) -> None:
    """Zero width, a height beyond the cap, two channels, a zero tile."""
    raw = bytearray(HEADER.pack())
    raw[start:start + len(value)] = value
    with pytest.raises(CorruptFileError):
        container.read_layout(io.BytesIO(container.SIGNATURE + container.chunk(container.HEADER, bytes(raw))))


def test_chunks_out_of_order_are_refused() -> None:
    data = container.SIGNATURE + b"".join([
        container.chunk(container.HEADER, HEADER.pack()), container.chunk(container.MASK, b"m"),
        container.chunk(container.BASE, b"b")])
    with pytest.raises(CorruptFileError, match="out of order"):
        container.read_layout(io.BytesIO(data))


def test_layer_payload_damage_is_detected() -> None:
    data = bytearray(build())
    data[data.index(b"L2")] ^= 0x40
    layout = container.read_layout(io.BytesIO(data))
    container.read_payloads(io.BytesIO(data), layout, 1)  # levels below the damage still decode
    with pytest.raises(CorruptFileError, match="LAYR"):
        container.read_payloads(io.BytesIO(data), layout, 2)


def test_missing_level_says_what_the_file_holds() -> None:
    data = build()
    layout = container.read_layout(io.BytesIO(data[:-3]))
    with pytest.raises(TruncatedFileError, match="0..2"):
        container.read_payloads(io.BytesIO(data), layout, 3)


def test_crc_is_over_type_and_data() -> None:
    c = container.chunk(b"BASE", b"xyz")
    assert c[-4:] == struct.pack(">I", zlib.crc32(b"BASExyz"))


def test_meta_chunk_is_optional_and_checked() -> None:
    data = container.pack(HEADER, [b"base"], [b"mask"], [[b"L1"], [b"L2"], [b"L3"]], meta=b'{"name":"x"}')
    layout = container.read_layout(io.BytesIO(data))
    assert layout.levels_available == 4
    assert container.read_meta(io.BytesIO(data), layout) == b'{"name":"x"}'
    assert container.read_meta(io.BytesIO(build()), container.read_layout(io.BytesIO(build()))) == b""
    damaged = bytearray(data)
    damaged[damaged.index(b"name")] ^= 1
    with pytest.raises(CorruptFileError, match="metadata"):
        container.read_meta(io.BytesIO(damaged), container.read_layout(io.BytesIO(damaged)))


STACK = dataclasses.replace(HEADER, layers=(75, 100), version=None, planes=(2, 3), mask_per_plane=True)


def stack_file(header: container.Header = STACK) -> bytes:
    planes = range(header.plane_count)
    return container.pack(header, [b"B%d" % p for p in planes], [b"M%d" % p for p in range(header.mask_count)],
                          [[b"L%d.%d" % (k, p) for p in planes] for k in (1, 2)])


def test_stack_header_round_trip() -> None:
    assert container.Header.unpack(STACK.pack()) == STACK
    assert STACK.plane_count == 6 and STACK.mask_count == 6


def test_stack_levels_need_every_plane() -> None:
    data = stack_file()
    layout = container.read_layout(io.BytesIO(data))
    assert layout.levels_available == 3
    # Cut inside the last plane's layer 2: level 2 is missing for every plane.
    assert container.read_layout(io.BytesIO(data[:layout.level_ends[2] - 3])).levels_available == 2
    one = container.read_payloads(io.BytesIO(data), layout, 2, plane=4)
    assert one == {container.BASE: [b"B4"], container.MASK: [b"M4"], container.LAYER: [b"L1.4", b"L2.4"]}
    every = container.read_payloads(io.BytesIO(data), layout, 1)
    assert every[container.LAYER] == [b"L1.%d" % p for p in range(6)]


def test_shared_mask_serves_every_plane() -> None:
    header = dataclasses.replace(STACK, mask_per_plane=False)
    data = stack_file(header)
    layout = container.read_layout(io.BytesIO(data))
    assert container.read_payloads(io.BytesIO(data), layout, 1, plane=5)[container.MASK] == [b"M0"]


def test_impossible_stacks_are_refused() -> None:
    for planes in ((0,), (1 << 9, 1 << 8), (1, 1, 1, 1, 1)):
        raw = dataclasses.replace(STACK, planes=planes).pack()
        with pytest.raises(CorruptFileError):
            container.read_layout(io.BytesIO(container.SIGNATURE + container.chunk(container.HEADER, raw)))


def test_writer_streams_chunks_in_pieces() -> None:
    buf = io.BytesIO()
    writer = container.Writer(buf, HEADER)
    writer.add(container.BASE, b"base")
    with writer.chunk(container.MASK) as sink:
        for piece in (b"ma", b"", b"sk"):
            sink.write(piece)
    for i in (1, 2, 3):
        writer.add(container.LAYER, b"L%d" % i)
    writer.close()
    assert buf.getvalue() == build()


def test_writer_keeps_the_format_order() -> None:
    writer = container.Writer(io.BytesIO(), HEADER)
    with pytest.raises(ValueError, match="out of order"):
        writer.add(container.MASK, b"mask")
    writer.add(container.BASE, b"base")
    with pytest.raises(ValueError, match="1 of its 5 chunks"):
        writer.close()


def test_a_16_bit_header_carries_its_mappings_and_1_1_readers_refuse_it() -> None:
    from roicodec.intensity import Mapping

    layers = (container.Layer("exact"),)
    deep = container.Header(64, 48, "L", layers, "rd-q1", b"\x01" * 8, 1024, planes=(3, 5), bits=16,
                            mappings=(Mapping(100, 4095), Mapping(0, 65535, "linear"), Mapping(7, 9)),
                            channel_axis=0)
    assert deep.version == (1, 2) and deep.dtype == "uint16"
    assert container.Header.unpack(deep.pack()) == deep
    assert deep.mapping(5) == Mapping(0, 65535, "linear")  # plane (1, 0): channel 1
    eight = container.Header(64, 48, "L", layers, "rd-q1", b"\x01" * 8, 1024, planes=(3, 5))
    assert eight.version == (1, 1) and deep.pack()[:2] == b"\x01\x02"
    # What a 1.1 reader sees: flag bit 1 is impossible there, so the file is refused, never read as 8 bits.
    as_11 = bytearray(deep.pack())
    as_11[1] = 1
    with pytest.raises(CorruptFileError, match="impossible"):
        container.Header.unpack(bytes(as_11))
    unknown = bytearray(deep.pack())
    unknown[-15] = 9  # the first mapping's curve
    with pytest.raises(UnsupportedVersionError, match="curve 9"):
        container.Header.unpack(bytes(unknown))
    wrong = bytearray(deep.pack())
    wrong[-16] = 2  # a mapping count that is not the channel axis's length
    with pytest.raises(CorruptFileError):
        container.Header.unpack(bytes(wrong))


PROFILE = struct.pack(">I", 132) + bytes(32) + b"acsp" + bytes(92)
"""The shortest thing that passes for an ICC profile (ICC.1, 7.2): its length, then ``acsp`` at byte 36."""


def test_a_colour_profile_follows_the_header_and_older_readers_skip_it() -> None:
    layers = [[b"L1"], [b"L2"], [b"L3"]]
    data = container.pack(HEADER, [b"base"], [b"mask"], layers, icc=PROFILE)
    assert data == build((1, container.ICC, PROFILE))
    layout = container.read_layout(io.BytesIO(data))
    assert container.read_icc(io.BytesIO(data), layout) == PROFILE
    assert layout.header == HEADER  # the file's version is the one its header needs, as without a profile
    assert container.read_payloads(io.BytesIO(data), layout, 3)[container.LAYER] == [b"L1", b"L2", b"L3"]
    plain = build()
    assert container.read_icc(io.BytesIO(plain), container.read_layout(io.BytesIO(plain))) == b""
    # A reader of 1.2 knows no ICCP and must skip it: the chunk's type is one no older reader claims.
    assert container.ICC not in (container.HEADER, container.META, container.BASE, container.MASK, container.LAYER)


def test_a_colour_profile_that_is_not_one_is_refused_when_written_and_reads_as_damage() -> None:
    for bad in (b"x" * 200, PROFILE[:100], struct.pack(">I", 400) + PROFILE[4:]):
        with pytest.raises(ValueError, match="not an ICC profile"):
            container.Writer(io.BytesIO(), HEADER, icc=bad)
        data = build((1, container.ICC, bad))
        with pytest.raises(CorruptFileError, match="colour profile chunk"):
            container.read_icc(io.BytesIO(data), container.read_layout(io.BytesIO(data)))
    padded = struct.pack(">I", 132) + PROFILE[4:] + bytes(4)  # some writers pad a profile: carried as it is
    data = build((1, container.ICC, padded))
    assert container.read_icc(io.BytesIO(data), container.read_layout(io.BytesIO(data))) == padded
