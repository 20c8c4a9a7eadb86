"""Lining up two photos of the same face (ml.core.alignment, issue 32): the transform from the face detector's
boxes and eye line lays a retake's face over the first photo's face, checked by finding the face again on the
retake warped by it."""

import math

import cv2
import numpy as np
import pytest
from PIL import Image

from ml.core import alignment, faces, preprocess
from tests.support import face_shot


def geometry(image):
    rgb = preprocess.load_rgb(image)
    face = faces.detect_face(rgb)
    assert face is not None
    return alignment.FaceGeometry.from_face(face, rgb.shape[1], rgb.shape[0])


def test_a_transform_moves_a_box_onto_another():
    before = alignment.FaceGeometry(480, 600, (100, 150, 300, 350), ((150, 220), (250, 220)))
    after = alignment.FaceGeometry(480, 600, (200, 100, 300, 200), ((225, 130), (275, 130)))
    t = alignment.align(before, after)
    assert (t.scale, t.angle) == (2.0, 0.0)
    assert t.apply_box(after.box) == pytest.approx(before.box)
    assert alignment.box_difference(before.box, t.apply_box(after.box)) == pytest.approx((1.0, 0.0))
    # The eye line turned by 10 degrees: turned back; past MAX_ANGLE (a mislocated eye): not turned.
    turned = math.radians(10)
    tilted = alignment.FaceGeometry(480, 600, after.box, ((225, 130), (225 + 50 * math.cos(turned),
                                                                      130 + 50 * math.sin(turned))))
    assert alignment.align(before, tilted).angle == pytest.approx(-turned)
    wild = alignment.FaceGeometry(480, 600, after.box, ((225, 130), (225, 180)))
    assert alignment.align(before, wild).angle == 0.0
    # Faces of far different sizes are not the same framing: nothing to line up.
    tiny = alignment.FaceGeometry(480, 600, (10, 10, 40, 40))
    assert alignment.align(before, tiny) is None
    assert alignment.FaceGeometry.from_json(before.to_json()) == before


@pytest.mark.parametrize(("scale", "dx", "dy", "angle"), [
    (0.8, 0.1, -0.05, 0.0), (1.22, -0.12, 0.06, 0.0), (0.9, 0.05, 0.08, 8.0), (1.1, -0.06, -0.1, -6.0),
])
def test_a_retake_at_another_scale_and_place_ends_on_the_first_photos_face(scale, dx, dy, angle):
    first = face_shot()
    retake = face_shot(scale, dx, dy, angle)
    before, after = geometry(first), geometry(retake)
    ratio, offset = alignment.box_difference(before.box, after.box)
    assert ratio > 1.07 or offset > 0.15  # the retake is framed differently
    t = alignment.align(before, after)
    warped = cv2.warpAffine(np.asarray(retake), np.array(t.matrix()), (before.width, before.height),
                            flags=cv2.INTER_LINEAR, borderValue=(150, 160, 170))
    lined_up = geometry(Image.fromarray(warped))
    ratio, offset = alignment.box_difference(before.box, lined_up.box)
    assert ratio < 1.05 and offset < 0.08, (ratio, offset)  # within a few % of the face's size
