"""The visit thresholds in force for a store: its own where it sets one, else the
defaults of [visits]. The pipeline runs on them and the privacy report shows them,
so both read them here."""

from __future__ import annotations

from footfall.config import Settings, StoreSettings, VisitSettings


def visit_thresholds(settings: Settings, store: str) -> VisitSettings:
    """A store the configuration does not list (a folder name) gets the defaults."""
    own = settings.file.stores.get(store, StoreSettings())
    defaults = settings.file.visits
    overrides = {key: getattr(own, key) for key in VisitSettings.model_fields if getattr(own, key) is not None}
    return defaults.model_copy(update=overrides)
