"""Upload validation and safe re-encoding. Decides by content, never by file name."""

import io
import warnings
from dataclasses import dataclass

from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from facediag_site.lib.uploads import too_large_message

ALLOWED_FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP", "MPO": "JPEG"}
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


def _open(data, max_pixels, draft_side):
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
            if image.format in ("JPEG", "MPO"):
                # DCT scaling while decoding: a 40 MP photo never exists in memory at full size.
                image.draft("RGB", (draft_side, draft_side))
            image.load()
            return image
    except UploadRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UploadRejected(
            "image_too_large",
            _("The image has too many pixels (limit %(megapixels)d megapixels). Upload a smaller photo.")
            % {"megapixels": max_pixels // 1_000_000},
            413,
        ) from None
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


def clean_upload(data, *, max_bytes, max_pixels, min_side, stored_max_side):
    """Validate raw upload bytes and return a metadata-free, upright RGB JPEG plus a thumbnail."""
    if not data:
        raise UploadRejected("empty_file", _("The file is empty (0 bytes). Choose a photo to upload."))
    if len(data) > max_bytes:
        raise UploadRejected("file_too_large", too_large_message(max_bytes), 413)
    image = _open(data, max_pixels, stored_max_side)
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
