"""Pure model code for FaceDiag (no Django imports).

Everything the classifier needs - preprocessing, face detection, quality flags,
the VGG16 transfer model, training, calibration, evaluation, Grad-CAM and the
inference ``Predictor`` - lives here so it can be tested and reused on its own.
TensorFlow is imported lazily inside functions so that importing this package
(e.g. from Django at start-up) stays cheap.
"""

CLASSES = ("acne", "eczema", "healthy", "rosacea")
UNCERTAIN = "uncertain"
NO_SKIN = "no_skin"
