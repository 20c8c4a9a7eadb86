"""Training in phases, one module each (``ml.core.train.train`` runs them in order): ``prepare``,
``features``, ``selection`` (leave one source out, with ``head``), ``calibrate``, ``final``; ``evaluation``
holds the figures they report."""
