"""Reads of the lead scoring app for other apps' pages."""

from .models import ScoringModel


def scoring_model_primary() -> ScoringModel | None:
    """The primary scoring model (the one whose score the leads carry), or None when none is set up."""
    return ScoringModel.objects.filter(is_primary=True).first()
