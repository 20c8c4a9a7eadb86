"""Checks shared by the hostile-input tests: what a safely re-encoded upload must look like."""

import io
import struct

from PIL import Image

#: JPEG segments a clean re-encode may have before the scan data: JFIF APP0, quantisation and
#: Huffman tables, frame header, restart interval. Anything else (APP1 EXIF/XMP, APP2 ICC,
#: APP13/APP14, COM comments) is metadata the upload brought in.
CLEAN_SEGMENTS = {0xE0, 0xDB, 0xC4, 0xC0, 0xC1, 0xC2, 0xDD}
SEGMENT_NAMES = {0xE1: "APP1 (EXIF/XMP)", 0xE2: "APP2 (ICC)", 0xED: "APP13 (IPTC)", 0xEE: "APP14 (Adobe)",
                 0xFE: "COM (comment)"}


def jpeg_segments(data):
    """Markers of the segments between SOI and SOS, e.g. [0xE0, 0xDB, 0xC0, 0xC4, 0xDA]."""
    assert data[:2] == b"\xff\xd8", "not a JPEG (no SOI marker)"
    markers, i = [], 2
    while i + 4 <= len(data):
        assert data[i] == 0xFF, f"bad JPEG marker at byte {i}"
        marker = data[i + 1]
        markers.append(marker)
        if marker == 0xDA:
            break
        (length,) = struct.unpack(">H", data[i + 2:i + 4])
        i += 2 + length
    return markers


def assert_clean_jpeg(data, *, forbidden=()):
    """A metadata-free baseline RGB JPEG with nothing appended after its end marker."""
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG" and image.mode == "RGB", (image.format, image.mode)
    image.load()
    extra = [SEGMENT_NAMES.get(m, hex(m)) for m in jpeg_segments(data)[:-1] if m not in CLEAN_SEGMENTS]
    assert not extra, f"metadata segments survived re-encoding: {extra}"
    app0 = data.find(b"\xff\xe0")
    assert app0 < 0 or data[app0 + 4:app0 + 9] == b"JFIF\x00", "APP0 that is not JFIF"
    assert data.endswith(b"\xff\xd9"), "bytes after the JPEG end marker"
    assert not {"exif", "icc_profile", "comment", "xmp", "photoshop", "adobe"} & set(image.info), image.info
    found = [f for f in forbidden if f in data]
    assert not found, f"upload bytes survived in the stored JPEG: {found}"
    return image


def near(actual, expected, tolerance=12):
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))
