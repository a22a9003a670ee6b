"""A shop on a street, simulated: people, their phones, the radio between them and the
sensors, and the ground truth of what the people did. See synthetic_shop.py."""

from .day import Day, generate, simulate, write
from .spec import RANGES, ShopSpec

__all__ = ["RANGES", "Day", "ShopSpec", "generate", "simulate", "write"]
