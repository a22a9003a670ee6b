"""Which pseudonyms are one phone, and how many people the phones stand for.

A store-epoch's pseudonyms (one per address the sensors heard) become phones in four
steps, each a module of this package:

* `scans`: addresses that live for hours are devices of their own; short-lived ones
  are gathered into scans (the probes one phone sends in one sweep of the channels);
  layouts a phone alternates between are found from the data;
* `evidence`: what the phones that can be followed (whose sequence numbers run on
  across address changes) teach about phones in this store today: the sequence step
  per scan, how signal drifts between scans, how long phones stay silent, how often
  they leave;
* `assignment`: every scan either continues a phone or starts a new one: a min-cost
  bipartite assignment over all scans of the epoch, with costs from that evidence
  and a cost for starting a new phone;
* `stitching`: phones present for hours whose track breaks (a staff break) are
  joined again;

Only pseudonymous data of one store and epoch enters: nothing here can link across
epochs or stores, or reach an address.
"""

from footfall.pipeline.tracking.resolve import Resolved, StoreRules, resolve
from footfall.pipeline.tracking.scans import Pseudonyms

__all__ = ["Pseudonyms", "Resolved", "StoreRules", "resolve"]
