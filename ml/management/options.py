"""What the ml management commands share: their common options and loading the model to run."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import TYPE_CHECKING

from django.core.management.base import CommandError

from ml.runtime import ModelUnavailable, predictor_for

if TYPE_CHECKING:
    from ml.core.inference import Predictor


def add_data_option(parser: ArgumentParser) -> None:
    parser.add_argument("--data", action="append", required=True, help="DIR/<class>/*; may be given several times")


def add_model_option(parser: ArgumentParser) -> None:
    parser.add_argument("--model", help="artifact directory (default: the active version)")


def load_predictor_or_fail(model_dir: str | None) -> Predictor:
    """The predictor for ``model_dir`` (default: the active version), or a CommandError saying why not."""
    try:
        return predictor_for(model_dir)
    except ModelUnavailable as exc:
        raise CommandError(str(exc)) from exc
