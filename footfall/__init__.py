"""footfall: privacy-first in-store presence analytics from Wi-Fi probe requests."""

__version__ = "0.1.0"
