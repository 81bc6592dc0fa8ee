"""Single images for prediction: any file, converted and resized to what a model expects."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from linclass.data import load_image
from linclass.errors import DataError


def test_rgba_photo_becomes_a_small_greyscale_image(tmp_path, rng):
    pixels = rng.integers(0, 256, (480, 640, 4), dtype=np.uint8)
    Image.fromarray(pixels, "RGBA").save(tmp_path / "photo.png")
    image, note = load_image(tmp_path / "photo.png", (28, 28))
    assert note == "converted RGBA→L, resized 640×480→28×28"
    expected = Image.fromarray(pixels, "RGBA").convert("L").resize((28, 28), Image.Resampling.BILINEAR)
    assert image.dtype == np.uint8 and image.shape == (28, 28)
    np.testing.assert_array_equal(image, np.asarray(expected))


def test_greyscale_jpeg_becomes_rgb_for_a_colour_model(tmp_path, rng):
    Image.fromarray(rng.integers(0, 256, (32, 32), dtype=np.uint8)).save(tmp_path / "g.jpg")
    image, note = load_image(tmp_path / "g.jpg", (32, 32, 3))
    assert note == "converted L→RGB" and image.shape == (32, 32, 3)
    np.testing.assert_array_equal(image[:, :, 0], image[:, :, 2])


def test_an_image_that_fits_is_used_as_is(tmp_path, rng):
    pixels = rng.integers(0, 256, (28, 28), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "digit.png")
    image, note = load_image(tmp_path / "digit.png", (28, 28))
    assert note == "used as is (28×28 L)"
    np.testing.assert_array_equal(image, pixels)


def test_a_single_channel_shape_keeps_its_channel_axis(tmp_path, rng):
    Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(tmp_path / "d.png")
    assert load_image(tmp_path / "d.png", (8, 8, 1))[0].shape == (8, 8, 1)


def test_exif_orientation_is_applied(tmp_path):
    pixels = np.zeros((10, 20, 3), dtype=np.uint8)
    pixels[:, :10] = 255  # left half white
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    Image.fromarray(pixels).save(tmp_path / "phone.jpg", exif=exif, quality=100)
    image, note = load_image(tmp_path / "phone.jpg", (20, 10, 3))
    assert note.startswith("rotated by its EXIF orientation") and "resized" not in note
    assert image[:10].mean() > 200 and image[10:].mean() < 50  # the white half is now on top


def test_an_unreadable_file_is_named(tmp_path):
    (tmp_path / "model.json").write_text("{}")
    with pytest.raises(DataError, match=r"model\.json: not an image Pillow can read"):
        load_image(tmp_path / "model.json", (28, 28))
    with pytest.raises(DataError, match=r"missing\.png: file not found"):
        load_image(tmp_path / "missing.png", (28, 28))


def test_an_unsupported_image_shape_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"image_shape=\(28, 28, 2\): expected \(H, W\)"):
        load_image(tmp_path / "x.png", (28, 28, 2))
