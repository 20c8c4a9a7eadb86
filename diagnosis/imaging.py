"""Upload validation and safe re-encoding. Decides by content, never by file name."""

import io
import warnings
from dataclasses import dataclass

from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from facediag_site.lib.uploads import too_large_message

ALLOWED_FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP", "MPO": "JPEG"}
JPEG_FORMATS = ("JPEG", "MPO")  # decoded at 1/2, 1/4 or 1/8 of their size when asked (DCT scaling)
#: Pixels a web worker may decode for one photo (SCAN_DECODE_MAX_PIXELS): a JPEG is decoded reduced to fit,
#: other formats (no reduced decoding in Pillow) above it are refused from their header, before decoding.
DEFAULT_DECODE_MAX_PIXELS = 16_000_000
#: A WebP pixel costs about three PNG or JPEG pixels while decoding (libwebp's canvas, its copy, Pillow's
#: image): 190 MB for 12 MP against 83 MB (bench/upload_memory.py). Its share of the budget is that much less.
DECODE_COST = {"WEBP": 3}
THUMBNAIL_SIDE = 256
DOWNSCALE_MODES = ("RGB", "RGBA", "L", "LA")  # modes Pillow resizes as they are (no conversion copy first)


class UploadRejected(Exception):
    """A bad or refused upload; `code` and `status` map to API errors, `message` is shown to people, `field` is
    the upload field at fault (`image`, or `image_left` / `image_right` for a scan's other photos; None when no
    field is), `retry_after` the seconds to wait before sending again (busy, quota; None: do not resend as is)."""

    def __init__(self, code, message, status=400, field="image", retry_after=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.field = field
        self.retry_after = retry_after


@dataclass(frozen=True)
class CleanImage:
    jpeg: bytes
    thumbnail_jpeg: bytes
    width: int
    height: int


def _reject_not_image():
    return UploadRejected(
        "unsupported_media_type", _("This file is not a photo we can read. Upload a JPEG, PNG or WebP image."), 415
    )


def _too_many_pixels(limit, message=None):
    return UploadRejected(
        "image_too_large",
        message or _("The image has too many pixels (limit %(megapixels)d megapixels). Upload a smaller photo.")
        % {"megapixels": limit // 1_000_000},
        413,
    )


def _fit_decode_budget(image, draft_side, decode_max_pixels):
    """Before decoding: a JPEG is set to decode reduced, to about ``draft_side`` and within the budget; any
    other format whose full size is over the budget is refused (its header gave the size; nothing decoded)."""
    width, height = image.size
    if image.format in JPEG_FORMATS:
        # DCT scaling (1/2, 1/4, 1/8): a 40 MP photo never exists at full size. Pillow's draft() takes the
        # largest scale keeping both sides at least the size asked for, and can be called once only.
        scale = next((s for s in (8, 4, 2) if min(width, height) // s >= draft_side), 1)
        while scale < 8 and -(-width // scale) * -(-height // scale) > decode_max_pixels:
            scale *= 2  # a long thin photo: reduce further than its short side alone would
        if scale > 1:
            image.draft("RGB", (max(1, width // scale), max(1, height // scale)))
    limit = decode_max_pixels // DECODE_COST.get(image.format, 1)
    if image.width * image.height <= limit:
        return
    if image.format in JPEG_FORMATS:
        raise _too_many_pixels(limit)
    raise _too_many_pixels(limit, _(
        "The image has too many pixels for a %(format)s file (limit %(megapixels)s megapixels). Upload a JPEG or a "
        "smaller photo.") % {"format": ALLOWED_FORMATS[image.format], "megapixels": f"{limit / 1e6:.0f}"})


def _open(data, max_pixels, draft_side, decode_max_pixels=DEFAULT_DECODE_MAX_PIXELS):
    # Pillow's process-wide bomb limit is set once, in ml.core.preprocess; uploads are held to max_pixels here.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ALLOWED_FORMATS:
                raise _reject_not_image()
            if image.width * image.height > max_pixels:
                raise Image.DecompressionBombError("too many pixels")
            if getattr(image, "n_frames", 1) > 1 and image.format != "MPO":  # MPO: a phone's multi-picture JPEG
                raise UploadRejected("animated_image", _("Animated images are not supported. Upload a still photo."))
            _fit_decode_budget(image, draft_side, decode_max_pixels)
            image.load()
            return image
    except UploadRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(max_pixels) from None
    except UnidentifiedImageError:
        raise _reject_not_image() from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise UploadRejected(
            "corrupt_image",
            _("The image is damaged or incomplete (for example a truncated download). Try another file."),
        ) from exc


def _to_rgb(image):
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:  # alpha or a colour key
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit greyscale: scale to 8 bits before converting.
        return image.point(lambda v: v / 256).convert("L").convert("RGB")
    return image.convert("RGB")


def _exif_transpose(image):
    try:
        return ImageOps.exif_transpose(image)
    except Exception:  # corrupt EXIF must not lose the photo; orientation is then left as is
        return image


def clean_upload(data, *, max_bytes, max_pixels, min_side, stored_max_side,
                 decode_max_pixels=DEFAULT_DECODE_MAX_PIXELS):
    """Validate raw upload bytes and return a metadata-free, upright RGB JPEG plus a thumbnail. At most
    ``decode_max_pixels`` are ever decoded (see _fit_decode_budget)."""
    if not data:
        raise UploadRejected("empty_file", _("The file is empty (0 bytes). Choose a photo to upload."))
    if len(data) > max_bytes:
        raise UploadRejected("file_too_large", too_large_message(max_bytes), 413)
    image = _open(data, max_pixels, stored_max_side, decode_max_pixels)
    if min(image.size) < min_side:
        raise UploadRejected(
            "image_too_small",
            _("The image is too small (%(width)d×%(height)d); it needs at least %(min_side)d px.")
            % {"width": image.width, "height": image.height, "min_side": min_side},
        )
    if image.mode not in DOWNSCALE_MODES:
        image = _to_rgb(image)
    # Shrink in place before any other copy: one full-size decoded buffer at a time, and the box
    # reduction (reducing_gap=1) leaves no full-height intermediate for the Lanczos pass.
    image.thumbnail((stored_max_side, stored_max_side), Image.Resampling.LANCZOS, reducing_gap=1.0)
    image = _to_rgb(_exif_transpose(image))
    image.info = {}  # no comment, ICC, XMP or EXIF blocks may ride along into the re-encoded file
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92, optimize=True)  # no exif= argument: all metadata dropped
    thumb = image.copy()
    thumb.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
    thumb_out = io.BytesIO()
    thumb.save(thumb_out, "JPEG", quality=85)
    return CleanImage(out.getvalue(), thumb_out.getvalue(), image.width, image.height)


def read_upload(uploaded_file, max_bytes):
    """Read at most max_bytes + 1 so a huge upload is refused without holding it all."""
    if uploaded_file is None:
        raise UploadRejected("missing_file", _("Choose a photo to upload."))
    if uploaded_file.size is not None and uploaded_file.size > max_bytes:
        raise UploadRejected("file_too_large", too_large_message(max_bytes), 413)
    uploaded_file.seek(0)
    return uploaded_file.read(max_bytes + 1)
