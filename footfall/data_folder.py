"""The data folder as `footfall run` reads and writes it: on this machine's disk, or at a
URI of an object store or a distributed file system (s3://, s3a://, gs://, abfss://,
file://), which a chain running Spark on a cluster keeps its data in.

The runner does everything it does to the data folder through here: the partitions of
the collector's datasets and their published files, with sizes and times (for change
detection), each input's Parquet footer, the run state, the leftovers of killed runs,
a staging folder, and the swap of an output file into place.

- On this machine's disk these are storage.py's and leftovers.py's own functions
  (renames and fsyncs: a file is on disk as a whole once it is visible).
- At a URI they go through pyarrow's file systems, with the credentials and endpoint
  they find in the environment (AWS_*, GOOGLE_APPLICATION_CREDENTIALS,
  AZURE_STORAGE_*). Spark itself reads the inputs and writes the staging files through
  its own Hadoop connectors, by the URI as the user gave it (s3a:// for Hadoop's S3
  connector); the swap is then a move of one object (a copy and a delete on an object
  store: a reader sees the old file or the new one, as one object is written whole).
  The engines' scratch space (spill and shuffle files, which hold pseudonyms) stays on
  this machine's disk, in a folder of its own removed at the end.

Every other command (collect, the dashboard, sql, export, the privacy tools) works on a
folder of this machine's disk: a data folder at a URI is mounted for them (mountpoint-s3,
gcsfuse, blobfuse2), and Settings.data_dir says so in one line.
"""

from __future__ import annotations

import contextlib
import posixpath
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from footfall import leftovers, storage
from footfall.errors import FootfallError, writing
from footfall.outputs import COLLECTOR_DATASETS

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.dataset as pads
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    from footfall.config import Settings

URI = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")
# Hadoop's names of the stores, as pyarrow names them (Spark and pyarrow then reach the
# same objects by the same URI)
PYARROW_SCHEMES = {"s3a": "s3", "s3n": "s3"}
SUPPORTED = ("s3", "s3a", "s3n", "gs", "abfs", "abfss", "file")
# A staging or scratch folder at a URI whose newest file is older than this is a killed
# run's: the process ids that tell a live writer on this machine mean nothing on a store
# that several machines share, and no run stays this long without writing.
STALE_RUN_SECONDS = 24 * 3600


def is_uri(text: str) -> bool:
    return URI.match(text) is not None


def of(settings: Settings) -> DataFolder:
    """The configuration's data folder (data_dir, or --data)."""
    return RemoteFolder(settings.data) if isinstance(settings.data, str) else DataFolder(settings.data)


class DataFolder:
    """A data folder on this machine's disk."""

    parallel_reads = 1  # footers read at once (a local read is a page-cache hit)

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def name(self) -> str:
        """As messages show it."""
        return str(self.root)

    @property
    def base(self) -> str:
        """The root as this folder's paths start."""
        return str(self.root)

    def exists(self) -> bool:
        return self.root.is_dir()

    def require(self, doing: str) -> None:
        """The one wording of every command that needs a data folder and finds none."""
        if not self.exists():
            raise FootfallError(f"no data folder at {self.name}: nothing to {doing} (see --data)")

    def join(self, *parts: str) -> str:
        return posixpath.join(self.base, *parts)

    def partition(self, dataset: str, store: str, day: date | str) -> str:
        return storage.partition_folder(self.base, dataset, store, day)

    def uri(self, path: str) -> str:
        """A path as the engines read it."""
        return path

    # --- reading ---------------------------------------------------------------------------

    def partitions(self, dataset: str, store: str | None = None) -> Iterator[storage.Partition]:
        return storage.partitions(self.root, dataset, store)

    def published_files(self, folder: str) -> list[str]:
        """A partition's published parts, sorted by name."""
        return [posixpath.join(folder, name) for name in storage.published_names(folder)]

    def stat(self, file: str) -> tuple[int, int]:
        """Size and modification time (ns) of a file."""
        found = Path(file).stat()
        return found.st_size, found.st_mtime_ns

    def footer(self, file: str) -> pq.FileMetaData:
        import pyarrow.parquet as pq

        return pq.read_metadata(file)

    def read_text(self, file: str) -> str | None:
        try:
            return Path(file).read_text()
        except (OSError, UnicodeDecodeError):
            return None

    def write_text(self, file: str, text: str) -> None:
        storage.write_atomically(Path(file), text)

    # --- a run's own folders ------------------------------------------------------------------

    def remove_leftovers(self) -> None:
        """Removes the staging and scratch folders of runs that were killed."""
        leftovers.remove(leftovers.pipeline_runs(self.root))

    def staging(self) -> str:
        """A new folder for this run's outputs before their swap into place."""
        return self.join(leftovers.PIPELINE, leftovers.staging_name())

    def scratch(self) -> Path:
        """This run's folder for the engines' spill and shuffle files, on this machine."""
        return leftovers.spill_dir(self.root)

    def parquet_writer(self, file: str, schema: pa.Schema) -> pq.ParquetWriter:
        import pyarrow.parquet as pq

        Path(file).parent.mkdir(parents=True, exist_ok=True)
        return pq.ParquetWriter(file, schema, compression="zstd")

    def files(self, folder: str, suffix: str) -> list[str]:
        """The files directly in a folder whose name ends with suffix, sorted."""
        return sorted(str(p) for p in Path(folder).glob(f"*{suffix}") if p.is_file())

    def publish(self, written: str | None, target: str) -> str | None:
        """Puts a store-day's new output file in place of the partition's files."""
        final = storage.publish_partition(Path(written) if written else None, Path(target))
        return str(final) if final else None

    def remove_tree(self, folder: str) -> None:
        shutil.rmtree(folder, ignore_errors=True)


class RemoteFolder(DataFolder):
    """A data folder at a URI, reached through pyarrow's file systems."""

    parallel_reads = 32  # each read is a request to the store

    def __init__(self, uri: str) -> None:
        self.root_uri = uri.rstrip("/")
        scheme = URI.match(uri)
        if scheme is None or scheme.group(1).lower() not in SUPPORTED:
            raise FootfallError(
                f"data_dir {uri}: footfall reads and writes data folders on this machine's disk or at "
                f"{', '.join(s + '://' for s in SUPPORTED)} URIs"
            )
        self.scheme = scheme.group(1).lower()
        self._listings: dict[str, dict[str, list[pafs.FileInfo]]] = {}

    @property
    def fs(self) -> pafs.FileSystem:
        return self._opened[0]

    @property
    def name(self) -> str:
        return self.root_uri

    @property
    def base(self) -> str:
        return self._opened[1].rstrip("/")

    @cached_property
    def _opened(self) -> tuple[pafs.FileSystem, str]:
        """The store's file system and the folder's path in it, made once (a client each)."""
        import pyarrow.fs as pafs

        own = PYARROW_SCHEMES.get(self.scheme, self.scheme)
        try:
            return pafs.FileSystem.from_uri(own + self.root_uri[len(self.scheme) :])
        except (OSError, ValueError) as exc:
            raise FootfallError(f"data_dir {self.root_uri}: cannot reach it: {_first_line(exc)}") from None

    def exists(self) -> bool:
        import pyarrow.fs as pafs

        try:
            return self.fs.get_file_info(self.base).type == pafs.FileType.Directory
        except OSError as exc:
            raise FootfallError(f"data_dir {self.root_uri}: cannot reach it: {_first_line(exc)}") from None

    def uri(self, path: str) -> str:
        return self.root_uri + path[len(self.base) :]

    # --- reading ---------------------------------------------------------------------------

    def partitions(self, dataset: str, store: str | None = None) -> Iterator[storage.Partition]:
        """From one listing of the dataset (a request per thousand files on an object
        store, where a request per folder would take hours for a chain's year)."""
        listing = self._listing(dataset)
        for folder in sorted(listing):
            store_part, date_part = folder.rsplit("/", 2)[-2:]
            name = store_part.removeprefix(storage.STORE_KEY)
            day = storage.parse_day(date_part.removeprefix(storage.DATE_KEY))
            if day is None or (store is not None and name != store):
                continue
            names = tuple(sorted(posixpath.basename(f.path) for f in listing[folder]))
            yield storage.Partition(dataset, name, day, folder, tuple(n for n in names if not n.startswith(".")))

    def published_files(self, folder: str) -> list[str]:
        return sorted(f.path for f in self._files_in(folder) if storage.is_published(posixpath.basename(f.path)))

    def stat(self, file: str) -> tuple[int, int]:
        infos = self._files_in(posixpath.dirname(file))
        found = next((f for f in infos if f.path == file), None) or self.fs.get_file_info(file)
        return found.size or 0, found.mtime_ns or 0

    def _files_in(self, partition: str) -> list[pafs.FileInfo]:
        """A partition folder's files: from the dataset's one listing for the collector's
        inputs, listed afresh for the outputs (which a run replaces)."""
        dataset = posixpath.relpath(partition, self.base).rsplit("/", 2)[0]
        if dataset in COLLECTOR_DATASETS:
            return self._listing(dataset).get(partition, [])
        return self._list(partition)

    def _listing(self, dataset: str) -> dict[str, list[pafs.FileInfo]]:
        """The files of a dataset by partition folder, listed once for the life of this
        object (one command): the inputs do not change under a run (change detection and
        the run read the same)."""
        if dataset not in self._listings:
            by_folder: dict[str, list[pafs.FileInfo]] = {}
            for info in self._list(self.join(dataset), recursive=True):
                parts = posixpath.relpath(info.path, self.join(dataset)).split("/")
                if len(parts) == 3 and parts[0].startswith(storage.STORE_KEY) and parts[1].startswith(storage.DATE_KEY):
                    by_folder.setdefault(posixpath.dirname(info.path), []).append(info)
            self._listings[dataset] = by_folder
        return self._listings[dataset]

    def _list(self, folder: str, recursive: bool = False) -> list[pafs.FileInfo]:
        import pyarrow.fs as pafs

        selector = pafs.FileSelector(folder, allow_not_found=True, recursive=recursive)
        return [f for f in self.fs.get_file_info(selector) if f.type == pafs.FileType.File]

    def footer(self, file: str) -> pq.FileMetaData:
        import pyarrow.parquet as pq

        return pq.read_metadata(file, filesystem=self.fs)

    def arrow_dataset(self, dataset: str, files: list[str], columns: pa.Schema) -> pads.Dataset:
        """Parquet files of a dataset as one Arrow dataset of the declared columns (older
        files' missing columns null), its Hive partitions typed as declared: DuckDB scans
        it as a table, streamed, where it cannot reach the store itself."""
        import pyarrow as pa
        import pyarrow.dataset as pads

        keys = pa.schema([columns.field("store"), columns.field("date")])
        return pads.dataset(
            files,
            schema=columns,
            format="parquet",
            filesystem=self.fs,
            partitioning=pads.partitioning(keys, flavor="hive"),
            partition_base_dir=self.join(dataset),
        )

    def read_text(self, file: str) -> str | None:
        try:
            with self.fs.open_input_stream(file) as stream:
                return stream.read().decode()
        except (OSError, UnicodeDecodeError):
            return None

    def write_text(self, file: str, text: str) -> None:
        """One object written whole (a reader sees the old state or the new)."""
        with writing(file):
            self.fs.create_dir(posixpath.dirname(file))  # a file system with folders needs it
            with self.fs.open_output_stream(file) as stream:
                stream.write(text.encode())

    # --- a run's own folders ------------------------------------------------------------------

    def remove_leftovers(self) -> None:
        now = time.time_ns()
        for folder in self._list_folders(self.join(leftovers.PIPELINE)):
            name = posixpath.basename(folder)
            if not name.startswith(("staging-", "tmp-")):
                continue
            newest = max((f.mtime_ns or 0 for f in self._list(folder, recursive=True)), default=0)
            if now - newest > STALE_RUN_SECONDS * 1_000_000_000:
                self.remove_tree(folder)
        leftovers.remove(leftovers.pipeline_runs(local_scratch_root()))  # this machine's killed runs

    def _list_folders(self, folder: str) -> list[str]:
        import pyarrow.fs as pafs

        selector = pafs.FileSelector(folder, allow_not_found=True)
        return [f.path for f in self.fs.get_file_info(selector) if f.type == pafs.FileType.Directory]

    def scratch(self) -> Path:
        return leftovers.spill_dir(local_scratch_root())

    def parquet_writer(self, file: str, schema: pa.Schema) -> pq.ParquetWriter:
        import pyarrow.parquet as pq

        self.fs.create_dir(posixpath.dirname(file))
        return pq.ParquetWriter(file, schema, compression="zstd", filesystem=self.fs)

    def files(self, folder: str, suffix: str) -> list[str]:
        return sorted(f.path for f in self._list(folder) if f.path.endswith(suffix))

    def publish(self, written: str | None, target: str) -> str | None:
        final = None
        if written is not None:
            final = posixpath.join(target, "part-0.parquet")
            with writing(final):
                self.fs.create_dir(target)
                self.fs.move(written, final)
        for old in self.published_files(target):
            if old != final:
                self.fs.delete_file(old)
        return final

    def remove_tree(self, folder: str) -> None:
        with contextlib.suppress(OSError):  # already gone
            self.fs.delete_dir(folder)


def local_scratch_root() -> Path:
    """Where runs on a data folder at a URI keep their scratch space on this machine."""
    return Path(tempfile.gettempdir()) / "footfall-scratch"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
