"""A corpus of hostile and unusual uploads for the upload validator (diagnosis/imaging.py).

Every item is generated here, deterministically, from nothing but Pillow and the standard library:
truncated files, decompression bombs, 30,000 x 30,000 headers, polyglots (an image with HTML or a
zip appended, HTML hidden in metadata), SVG, animated GIF / WebP / PNG, CMYK, 16-bit, palette and
alpha images, every EXIF orientation, corrupt EXIF, other formats, and 0 bytes.

    from scripts.make_malformed_corpus import build_corpus
    for name, (data, expect) in build_corpus().items(): ...

    python scripts/make_malformed_corpus.py OUT_DIR     # writes one file per item, prints the count

Each item comes with an `Expect`: what a safe server must do with it. `outcome` is "accept" (stored
as a clean JPEG), "reject" (a 4xx, `status` when it is pinned) or "either" (a 4xx, or accepted and
re-encoded safely). tests/hostile/test_malformed_corpus.py sends every item through the web upload
and the API and checks the expectation, the stored files and the absence of stray files.
"""

from __future__ import annotations

import argparse
import functools
import io
import struct
import sys
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, PngImagePlugin

#: Upright size of the orientation test pictures (wider than tall, so a missed rotation shows).
UPRIGHT_SIZE = (240, 160)
MARKER_COLOUR = (230, 20, 20)
BACKGROUND_COLOUR = (40, 90, 200)
SCRIPT = b"<script>alert('polyglot')</script>"


@dataclass(frozen=True)
class Expect:
    outcome: str  # "accept" | "reject" | "either"
    status: int | None = None  # pinned 4xx status of a rejection (None: any 4xx)
    filename: str = "upload.jpg"
    content_type: str = "image/jpeg"
    upright_size: tuple[int, int] | None = None  # (width, height) the stored JPEG must have
    marker_top_left: bool = False  # the MARKER_COLOUR block must be in the top-left corner
    colour: tuple[int, int, int] | None = None  # approximate colour at the centre of the stored image
    forbidden: tuple[bytes, ...] = field(default=())  # bytes the stored files must not contain
    note: str = ""

    def __post_init__(self):
        assert self.outcome in ("accept", "reject", "either"), self.outcome


def accept(**kw):
    return Expect("accept", **kw)


def reject(status=None, **kw):
    return Expect("reject", status, **kw)


def either(**kw):
    return Expect("either", **kw)


# --- builders ---------------------------------------------------------------------------------

def _save(image, fmt, **kw):
    out = io.BytesIO()
    image.save(out, fmt, **kw)
    return out.getvalue()


def _photo(size=(320, 240), mode="RGB"):
    """A textured picture (random-ish pixels compress badly, like a photo)."""
    image = Image.effect_noise(size, 40).convert("RGB")
    image = Image.blend(image, Image.new("RGB", size, (205, 160, 135)), 0.6)
    return image.convert(mode) if mode != "RGB" else image


def _png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png(width, height, bit_depth, colour_type, raw_rows, extra_chunks=()):
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    body = b"".join(_png_chunk(kind, data) for kind, data in extra_chunks)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + body + _png_chunk(b"IDAT", raw_rows)
            + _png_chunk(b"IEND", b""))


def _png16(size, channels, colour_type):
    """A 16-bit PNG (Pillow cannot write most of these) filled with one colour per channel."""
    w, h = size
    pixel = struct.pack(">" + "H" * len(channels), *channels)
    raw = b"".join(b"\x00" + pixel * w for _ in range(h))
    return _png(w, h, 16, colour_type, zlib.compress(raw, 9))


def _png_zero_bomb(width, height):
    """A real PNG of `width` x `height` black 8-bit grey pixels, compressed to almost nothing."""
    comp = zlib.compressobj(9)
    row = b"\x00" * (width + 1)
    parts = [comp.compress(row) for _ in range(height)]
    parts.append(comp.flush())
    return _png(width, height, 8, 0, b"".join(parts))


def _png_header(width, height):
    """A PNG whose header claims a huge canvas; the pixel data is tiny."""
    return _png(width, height, 8, 2, zlib.compress(b"\x00" * 64))


def _jpeg_with_size(width, height):
    """A small valid JPEG whose SOF header is patched to claim width x height."""
    data = bytearray(_save(Image.new("RGB", (64, 64), (120, 120, 120)), "JPEG"))
    i = 2
    while i < len(data):
        marker = data[i + 1]
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            data[i + 5:i + 9] = struct.pack(">HH", height, width)
            return bytes(data)
        i += 2 + length
    raise AssertionError("no SOF marker")


def _webp_canvas_header(width, height):
    """An extended (VP8X) WebP header claiming a width x height canvas, then a tiny real frame."""
    small = _save(Image.new("RGB", (64, 64), (100, 100, 100)), "WEBP", lossless=True)
    assert small[:4] == b"RIFF" and small[8:12] == b"WEBP"
    frame = small[12:]  # the VP8L chunk
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00" + (width - 1).to_bytes(3, "little") + (
        height - 1).to_bytes(3, "little")
    body = b"WEBP" + vp8x + frame
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _zip_bytes():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("evil.html", "<html><body>" + SCRIPT.decode() + "</body></html>")
        archive.writestr("payload.js", "fetch('/steal')")
    return out.getvalue()


def _oriented(orientation, extra_exif=None, fmt="JPEG"):
    """A JPEG whose stored pixels are turned so that, with EXIF `orientation` applied, the picture is
    UPRIGHT_SIZE with the marker in its top-left corner. The EXIF also carries a GPS block."""
    w, h = UPRIGHT_SIZE
    upright = Image.new("RGB", (w, h), BACKGROUND_COLOUR)
    upright.paste(MARKER_COLOUR, (0, 0, w // 3, h // 3))
    inverse = {
        1: None,
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_90,  # EXIF 6 is undone by ROTATE_270
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_270,  # EXIF 8 is undone by ROTATE_90
    }[orientation]
    stored = upright.transpose(inverse) if inverse is not None else upright
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010E] = "SECRET-EXIF-DESCRIPTION"
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)}
    for tag, value in (extra_exif or {}).items():
        exif[tag] = value
    return _save(stored, fmt, exif=exif, **({"quality": 95} if fmt != "PNG" else {}))


def _jpeg_with_raw_exif(payload):
    """A JPEG with an APP1 Exif segment holding `payload` (after the 'Exif\\0\\0' header) as is."""
    return _save(_photo((200, 150)), "JPEG", exif=b"Exif\x00\x00" + payload)


def _mpo(frames=2):
    """A multi-picture JPEG (MPF), as phones write for HDR gain maps, depth maps and 3D cameras."""
    images = [_photo((320, 240))] + [Image.new("RGB", (160, 120), (90, 90, 90)) for _ in range(frames - 1)]
    return _save(images[0], "MPO", save_all=True, append_images=images[1:])


def _animated(fmt, **kw):
    frames = [Image.new("RGB", (120, 120), (40 * i, 80, 160)) for i in range(1, 4)]
    return _save(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0, **kw)


# --- the corpus -------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def build_corpus() -> dict[str, tuple[bytes, Expect]]:
    """name -> (bytes, Expect). Deterministic; about 80 items, ~11 MB (one item is over 10 MB)."""
    c: dict[str, tuple[bytes, Expect]] = {}
    photo = _photo()
    jpeg = _save(photo, "JPEG", quality=90)
    png = _save(photo, "PNG")
    webp = _save(photo, "WEBP", quality=80)

    # 0 bytes and tiny/odd sizes
    c["empty_0_bytes"] = (b"", reject(400))
    c["one_byte"] = (b"\xff", reject(415))
    c["too_small_32x32"] = (_save(_photo((32, 32)), "PNG"), reject(400))
    c["too_thin_2000x10"] = (_save(_photo((2000, 10)), "JPEG"), reject(400))
    c["png_zero_width_header"] = (_png_header(0, 100), reject())
    c["over_10mb_file"] = (jpeg + b"\x00" * (10 * 1024 * 1024), reject(413))
    c["large_but_allowed_3000x2000"] = (_save(_photo((3000, 2000)), "JPEG", quality=70),
                                        accept(upright_size=(2048, 1365)))

    # truncated files
    c["truncated_jpeg_half"] = (jpeg[: len(jpeg) // 2], reject(400))
    c["truncated_jpeg_in_header"] = (jpeg[:100], reject())
    c["truncated_jpeg_magic_only"] = (jpeg[:3], reject())
    c["truncated_jpeg_missing_eoi"] = (jpeg[:-2], either())
    c["truncated_png_half"] = (png[: len(png) // 2], reject(400))
    c["truncated_png_signature_only"] = (png[:8], reject())
    c["truncated_png_missing_iend"] = (png[:-12], either())
    c["truncated_webp_half"] = (webp[: len(webp) // 2], reject(400))
    c["truncated_webp_riff_only"] = (webp[:12], reject())
    c["png_bad_ihdr_crc"] = (png[:29] + b"\x00\x00\x00\x00" + png[33:], reject())

    # decompression bombs and giant headers
    c["bomb_png_header_30000x30000"] = (_png_header(30000, 30000), reject(413))
    c["bomb_jpeg_header_30000x30000"] = (_jpeg_with_size(30000, 30000), reject(413))
    c["bomb_jpeg_header_65500x65500"] = (_jpeg_with_size(65500, 65500), reject(413))
    c["bomb_webp_header_30000x30000"] = (_webp_canvas_header(30000, 30000), reject())
    c["bomb_png_header_just_over_limit_6400x6400"] = (_png_header(6400, 6400), reject(413))
    c["bomb_png_real_10000x10000_zeros"] = (_png_zero_bomb(10000, 10000), reject(413))
    text_bomb = zlib.compress(b"A" * 50_000_000, 9)
    c["bomb_png_ztxt_50mb_text"] = (
        _png(100, 100, 8, 0, zlib.compress(b"\x00" * 101 * 100), [(b"zTXt", b"Comment\x00\x00" + text_bomb)]),
        either(),
    )
    c["bomb_png_iccp_50mb_profile"] = (
        _png(100, 100, 8, 0, zlib.compress(b"\x00" * 101 * 100), [(b"iCCP", b"icc\x00\x00" + text_bomb)]),
        either(),
    )

    # polyglots: the stored JPEG must not carry the extra bytes
    html = b"<html><body>" + SCRIPT + b"</body></html>"
    no_html = (b"<script", b"alert(", b"<html")
    no_zip = (b"PK\x03\x04", b"evil.html", b"payload.js")
    c["polyglot_jpeg_plus_html"] = (jpeg + html, accept(forbidden=no_html))
    c["polyglot_jpeg_plus_zip"] = (jpeg + _zip_bytes(), accept(forbidden=no_zip))
    c["polyglot_png_plus_zip"] = (png + _zip_bytes(), accept(forbidden=no_zip))
    c["polyglot_png_plus_html"] = (png + html, accept(forbidden=no_html))
    c["polyglot_webp_plus_html"] = (webp + html, either(forbidden=no_html))
    c["polyglot_html_in_jpeg_comment"] = (_save(photo, "JPEG", comment=html), accept(forbidden=no_html))
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", html.decode())
    text.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>" + SCRIPT.decode() + "</x:xmpmeta>")
    c["polyglot_html_in_png_text_chunks"] = (_save(photo, "PNG", pnginfo=text), accept(forbidden=no_html))
    c["polyglot_html_in_jpeg_xmp"] = (_save(photo, "JPEG", xmp=html), accept(forbidden=no_html))
    c["polyglot_html_in_exif_description"] = (
        _save(photo, "JPEG", exif=_exif_with({0x010E: html.decode()})), accept(forbidden=no_html))
    c["polyglot_html_then_jpeg"] = (html + jpeg, reject(415))
    c["polyglot_gif_plus_zip_gifar"] = (_save(photo, "GIF") + _zip_bytes(), reject(415))

    # SVG and other formats that are not accepted
    svg = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="400" height="400">'
           b'<rect width="400" height="400" fill="red"/>' + SCRIPT + b"</svg>")
    c["svg_as_jpeg"] = (svg, reject(415))
    c["svg_declared_as_svg"] = (svg, reject(415, filename="face.svg", content_type="image/svg+xml"))
    c["svg_without_xml_declaration"] = (svg.split(b"?>", 1)[1], reject(415, filename="face.svg",
                                                                       content_type="image/svg+xml"))
    c["html_named_jpg"] = (html, reject(415))
    c["pdf"] = (b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", reject(415))
    c["zip"] = (_zip_bytes(), reject(415))
    c["gif_still"] = (_save(photo, "GIF"), reject(415, filename="face.gif", content_type="image/gif"))
    c["bmp"] = (_save(photo, "BMP"), reject(415))
    c["tiff"] = (_save(photo, "TIFF"), reject(415))
    c["ico"] = (_save(_photo((64, 64)), "ICO"), reject(415))
    c["heic_like_ftyp"] = (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 200, reject(415))
    c["random_bytes"] = (bytes((i * 7919 + 13) % 251 for i in range(4096)), reject(415))

    # animated images
    c["animated_gif"] = (_animated("GIF"), reject(415, filename="face.gif", content_type="image/gif"))
    c["animated_webp"] = (_animated("WEBP"), reject(400, filename="face.webp", content_type="image/webp"))
    c["animated_png_apng"] = (_animated("PNG"), reject(400, filename="face.png", content_type="image/png"))
    c["mpo_phone_multi_picture_jpeg"] = (
        _mpo(), accept(upright_size=(320, 240), note="phones write MPF JPEGs (HDR gain maps): the first picture"))

    # colour modes
    c["cmyk_jpeg"] = (_save(Image.new("CMYK", (200, 200), (0, 255, 255, 0)), "JPEG"), accept(colour=(255, 0, 0)))
    c["jpeg_grayscale"] = (_save(Image.new("L", (200, 200), 90), "JPEG"), accept(colour=(90, 90, 90)))
    c["jpeg_progressive"] = (_save(photo, "JPEG", progressive=True), accept())
    c["png_16bit_grey"] = (_png16((200, 200), (40000,), 0), accept(colour=(156, 156, 156)))
    c["png_16bit_rgb"] = (_png16((200, 200), (60000, 30000, 1000), 2), accept(colour=(234, 117, 4)))
    c["png_16bit_rgba_opaque"] = (_png16((200, 200), (60000, 30000, 1000, 65535), 6), accept(colour=(234, 117, 4)))
    c["png_16bit_rgba_transparent"] = (_png16((200, 200), (60000, 30000, 1000, 0), 6),
                                       accept(colour=(255, 255, 255)))
    c["png_16bit_grey_alpha"] = (_png16((200, 200), (50000, 65535), 4), accept(colour=(195, 195, 195)))
    palette = Image.new("RGB", (200, 200), (10, 200, 30)).quantize(4)
    c["png_palette"] = (_save(palette, "PNG"), accept(colour=(10, 200, 30)))
    transparent_palette = Image.new("P", (200, 200), 1)
    transparent_palette.putpalette([10, 20, 30, 200, 0, 0])
    c["png_palette_transparent"] = (_save(transparent_palette, "PNG", transparency=1), accept(colour=(255, 255, 255)))
    c["png_rgba_transparent"] = (_save(Image.new("RGBA", (200, 200), (0, 0, 0, 0)), "PNG"),
                                 accept(colour=(255, 255, 255)))
    c["png_rgba_opaque"] = (_save(Image.new("RGBA", (200, 200), (20, 40, 220, 255)), "PNG"),
                            accept(colour=(20, 40, 220)))
    c["png_la_transparent"] = (_save(Image.new("LA", (200, 200), (0, 0)), "PNG"), accept(colour=(255, 255, 255)))
    # colour-key transparency (tRNS on grey / RGB): flattened to the key colour today, not to white
    c["png_grey_with_trns"] = (_save(Image.new("L", (200, 200), 3), "PNG", transparency=3), either())
    c["png_rgb_with_trns"] = (_save(Image.new("RGB", (200, 200), (3, 3, 3)), "PNG", transparency=(3, 3, 3)), either())
    c["png_1bit"] = (_save(Image.new("1", (200, 200), 1), "PNG"), accept(colour=(255, 255, 255)))
    c["webp_rgba_transparent"] = (_save(Image.new("RGBA", (200, 200), (0, 0, 0, 0)), "WEBP", lossless=True),
                                  accept(colour=(255, 255, 255)))
    c["webp_lossless"] = (_save(photo, "WEBP", lossless=True), accept())
    c["png_plain"] = (png, accept())
    c["webp_plain"] = (webp, accept())
    c["jpeg_plain"] = (jpeg, accept())

    # every EXIF orientation (the stored JPEG must be upright and metadata-free)
    for orientation in range(1, 9):
        c[f"exif_orientation_{orientation}"] = (
            _oriented(orientation),
            accept(upright_size=UPRIGHT_SIZE, marker_top_left=True, forbidden=(b"SECRET-EXIF",)),
        )

    for fmt in ("PNG", "WEBP"):  # PNG (eXIf chunk) and WebP carry EXIF too
        c[f"{fmt.lower()}_exif_orientation_6"] = (
            _oriented(6, fmt=fmt),
            accept(upright_size=UPRIGHT_SIZE, marker_top_left=True, forbidden=(b"SECRET-EXIF",)),
        )

    # corrupt EXIF: the photo is kept (upright as stored), the EXIF is dropped
    stored = {"upright_size": UPRIGHT_SIZE, "marker_top_left": True, "forbidden": (b"SECRET-EXIF",)}
    for bad in (0, 9, 65535):
        c[f"exif_orientation_invalid_{bad}"] = (_oriented_value(bad), accept(**stored))
    c["exif_orientation_as_text"] = (  # tag 0x0112 stored as ASCII "6" instead of a SHORT
        _jpeg_with_raw_exif(b"II\x2a\x00\x08\x00\x00\x00\x01\x00\x12\x01\x02\x00\x02\x00\x00\x006\x00\x00\x00"
                            b"\x00\x00\x00\x00"),
        accept())
    c["exif_garbage_bytes"] = (_jpeg_with_raw_exif(b"\xff" * 64), accept())
    c["exif_bad_byte_order"] = (_jpeg_with_raw_exif(b"XX\x00\x2a\x00\x00\x00\x08" + b"\x00" * 32), accept())
    c["exif_ifd_offset_past_end"] = (_jpeg_with_raw_exif(b"II\x2a\x00\xff\xff\xff\x7f"), accept())
    c["exif_huge_entry_count"] = (_jpeg_with_raw_exif(b"II\x2a\x00\x08\x00\x00\x00\xff\xff"), accept())
    c["exif_orientation_value_past_end"] = (
        _jpeg_with_raw_exif(b"MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x7f\xff\xff\xff\x00\x00\x10\x00"),
        accept())
    c["exif_ifd_loop"] = (  # IFD0's next-IFD pointer points back at IFD0
        _jpeg_with_raw_exif(b"II\x2a\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00\x06\x00\x00\x00"
                            b"\x08\x00\x00\x00"),
        accept())
    c["png_exif_garbage_chunk"] = (
        _png(100, 100, 8, 0, zlib.compress(b"\x00" * 101 * 100),
             [(b"eXIf", b"MM\x00\x2a\xff\xff\xff\xff" + b"\xee" * 20)]),
        accept())
    c["exif_truncated_segment"] = (_jpeg_with_raw_exif(b"II\x2a\x00\x08\x00\x00\x00\x05\x00\x12\x01"), accept())
    return c


def _exif_with(tags):
    exif = Image.Exif()
    for tag, value in tags.items():
        exif[tag] = value
    return exif


def _oriented_value(value):
    """The upright orientation picture (no rotation needed) with an EXIF orientation of `value`."""
    w, h = UPRIGHT_SIZE
    upright = Image.new("RGB", (w, h), BACKGROUND_COLOUR)
    upright.paste(MARKER_COLOUR, (0, 0, w // 3, h // 3))
    return _save(upright, "JPEG", exif=_exif_with({0x0112: value, 0x010E: "SECRET-EXIF-DESCRIPTION"}), quality=95)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", help="folder to write the corpus into (created if missing)")
    args = parser.parse_args(argv)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    corpus = build_corpus()
    for name, (data, expect) in corpus.items():
        suffix = Path(expect.filename).suffix or ".bin"
        (out / f"{name}{suffix}").write_bytes(data)
    print(len(corpus))
    return 0


if __name__ == "__main__":
    sys.exit(main())
