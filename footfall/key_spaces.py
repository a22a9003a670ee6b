"""One key space per store and epoch: the sightings of an epoch must all be keyed
with the same salt, or one phone becomes several devices that can never be linked.

Two salts for one epoch happen when sensors of a store are collected against
different secrets folders (two working folders, two configurations), or when data of
an epoch arrives after its salt was destroyed. Nothing in a pseudonym tells which
salt made it, so each sightings part records, in its Parquet footer, a *key id* per
epoch it holds: the first 8 bytes of HMAC-SHA256(salt, a fixed tag), in hex. It says
only whether two parts share a salt; it is no pseudonym of anything (the tagged
message is never 6 or 30 bytes long, the lengths of what the collector hashes), and
once the salt is destroyed nobody can tie it to anything.

The collector refuses to add sightings of an epoch to a date that already holds that
epoch under another key id (`check_partition`); `footfall run` refuses a store-day
whose inputs mix key ids for one epoch (`mixed_epochs`), wherever they came from. It
lives in the common layer: the collector writes key ids, the pipeline reads them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from Crypto.Hash import HMAC, SHA256

from footfall.errors import CaptureError

METADATA_KEY = b"footfall.key_ids"
_TAG = b"footfall/key-id/v1"


def key_id(salt: bytes) -> str:
    """The key id of a salt (once per epoch: the public HMAC is fast enough)."""
    return HMAC.new(salt, _TAG, SHA256).digest()[:8].hex()


def metadata(key_ids: Mapping[str, str]) -> dict[bytes, bytes]:
    """The footer entry of a part holding these epochs."""
    return {METADATA_KEY: json.dumps(dict(sorted(key_ids.items()))).encode()}


def read(footer_metadata: Mapping[bytes, bytes] | None) -> dict[str, str]:
    """Epoch -> key id, from a part's footer (empty for parts written before key ids)."""
    try:
        found = json.loads((footer_metadata or {})[METADATA_KEY])
    except (KeyError, ValueError):
        return {}
    if not isinstance(found, dict):
        return {}
    return {str(epoch): str(value) for epoch, value in found.items()}


def read_file(path: Path) -> dict[str, str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return read(pq.read_metadata(path).metadata)
    except (OSError, pa.ArrowException):
        return {}


def check_partition(folder: Path, store: str, epoch: str, own: str) -> None:
    """Raises when published sightings in the folder hold the epoch under another key
    id. The first part that holds the epoch decides (parts that agree with each other
    are the rule, so reading one footer is enough)."""
    if not folder.is_dir():
        return
    for part in sorted(folder.glob("part-*.parquet")):
        found = read_file(part).get(epoch)
        if found is None:
            continue
        if found != own:
            raise CaptureError(
                f"store {store!r}, epoch {epoch}: {folder} already holds sightings of this epoch made "
                "under another salt (another secrets folder, or a salt destroyed since); pseudonyms of two "
                "salts never link, so every phone would count twice. Collect with the secrets_dir those "
                "were made with, or delete them first"
            )
        return


def mixed_epochs(parts: Iterable[Mapping[str, str]], epochs: Iterable[str]) -> dict[str, int]:
    """Of the given epochs, those that the parts hold under more than one key id, with
    how many."""
    seen: dict[str, set[str]] = {}
    for key_ids in parts:
        for epoch, value in key_ids.items():
            seen.setdefault(epoch, set()).add(value)
    return {epoch: len(seen[epoch]) for epoch in sorted(set(epochs)) if len(seen.get(epoch, ())) > 1}
