"""Reading a user's photo for restoration and writing the result in the same form: upright (EXIF
orientation applied), same size, grayscale kept grayscale, 16-bit kept 16-bit, alpha kept.

Every problem with an input is a PhotoError whose message is one line naming the file.
"""

import dataclasses
import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

GRAY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")
SIXTEEN_BIT_MODES = ("I", "I;16", "I;16B", "I;16L")
ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")
MIN_SIDE = 16


class PhotoError(ValueError):
    """An input that cannot be restored; the message names the file and the problem."""


@dataclasses.dataclass
class Photo:
    rgb: np.ndarray  # H x W x 3 float32 in [0, 1], upright
    grayscale: bool  # a gray image (or an RGB one whose channels are equal): written gray
    sixteen_bit: bool
    alpha: np.ndarray | None  # H x W uint8, kept as it was
    mode: str  # the file's mode, for the report

    @property
    def size(self) -> tuple[int, int]:
        return self.rgb.shape[0], self.rgb.shape[1]


def _decode(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None, bool]:
    """(H x W x 3 float32 in [0, 1], alpha or None, whether it holds 16-bit values)."""
    alpha = None
    if image.mode in ALPHA_MODES or (image.mode == "P" and "transparency" in image.info):
        alpha = np.asarray(image.convert("RGBA"))[..., 3].copy()
    if image.mode not in SIXTEEN_BIT_MODES and image.mode != "F":
        return np.asarray(image.convert("RGB"), np.float32) / 255.0, alpha, False
    values = np.asarray(image, np.float32)
    if image.mode == "F":
        top = 1.0 if values.max() <= 1.0 else 255.0
    else:  # "I" is also how some readers give 16-bit files: judge by the values
        top = 65535.0 if "16" in image.mode or values.max() > 255 else 255.0
    gray = np.clip(values / top, 0.0, 1.0)
    return np.repeat(gray[..., None], 3, axis=-1), alpha, top == 65535.0


def read_photo(path, max_pixels: int) -> Photo:
    path = Path(path)
    try:
        with Image.open(path) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise PhotoError(f"{path}: {width}x{height} is {width * height / 1e6:.1f} "
                                 f"megapixels, more than the limit of {max_pixels / 1e6:g}")
            image.load()
            image = ImageOps.exif_transpose(image)
            mode = image.mode
            rgb, alpha, sixteen_bit = _decode(image)
    except PhotoError:
        raise
    except Image.DecompressionBombError as error:
        raise PhotoError(f"{path}: too large to decode safely ({error})") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        message = str(error) or type(error).__name__
        if path.is_file() and path.stat().st_size == 0:
            message = "empty file"
        raise PhotoError(f"{path}: cannot read image ({message})") from None
    if min(rgb.shape[:2]) < MIN_SIDE:
        raise PhotoError(f"{path}: too small ({rgb.shape[1]}x{rgb.shape[0]} px; photos need at "
                         f"least {MIN_SIDE} px a side)")
    grayscale = mode in GRAY_MODES or bool(np.all(np.ptp(rgb, axis=-1) <= 1.5 / 255.0))
    return Photo(rgb=rgb, grayscale=grayscale, sixteen_bit=sixteen_bit, alpha=alpha, mode=mode)


def luma(rgb: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma, as PIL's "L" conversion."""
    return rgb @ np.array([0.299, 0.587, 0.114], np.float32)


def encode_like(photo: Photo, restored: np.ndarray) -> tuple[bytes, str | None]:
    """PNG bytes of `restored` (H x W x 3 float in [0, 1]) in `photo`'s form, and a note on what
    could not be kept (or None)."""
    note = None
    if photo.grayscale:
        gray = luma(restored)
        if photo.sixteen_bit:
            image = Image.fromarray(np.round(gray * 65535.0).astype(np.uint16))
            if photo.alpha is not None:
                note = "alpha dropped (16-bit grayscale PNG has no alpha here)"
        elif photo.mode in GRAY_MODES or photo.alpha is not None:
            image = Image.fromarray(np.round(gray * 255.0).astype(np.uint8), mode="L")
        else:  # an RGB file holding a gray photo: stays RGB, with equal channels
            image = Image.fromarray(np.repeat(np.round(gray * 255.0).astype(np.uint8)[..., None],
                                              3, axis=-1))
    else:
        image = Image.fromarray(np.round(restored * 255.0).astype(np.uint8))
    if photo.alpha is not None and note is None:
        image.putalpha(Image.fromarray(photo.alpha))
        note = "alpha channel kept unchanged"
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue(), note
