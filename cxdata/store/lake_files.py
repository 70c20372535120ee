"""Where the lake lives: a local folder or any URL Spark reads (`s3a://`, `gs://`, `hdfs://`,
`abfs://`), written through pyarrow's file systems (S3, GCS, HDFS, Azure and local, one
API). Object stores have no atomic rename of a folder, so the lake never renames one:
every file is written once under a new name and the manifest, one small file replaced in a
single write, is what makes it part of the lake (`cxdata.store.lake`)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pyarrow.fs as pafs

from cxdata.store.database import StoreError

_SPARK_ONLY_SCHEMES = {"s3a": "s3", "s3n": "s3", "gcs": "gs"}
"""Hadoop's names for a store pyarrow knows by another name (the bucket and key are the same)."""


class LakeError(StoreError):
    """The lake cannot be written (not a folder, busy with another sync...)."""


@dataclass(frozen=True)
class LakeFiles:
    """The lake at `url` (as Spark reads it) seen through the file system `fs`, at `root`."""

    url: str
    fs: pafs.FileSystem
    root: str

    @classmethod
    def at(cls, lake: str | Path) -> LakeFiles:
        """The lake a folder or URL names; a clear LakeError when no file system reads it."""
        text = str(lake)
        scheme = urlparse(text).scheme
        if scheme in ("", "file") or re.fullmatch(r"[A-Za-z]", scheme):  # a drive letter
            path = Path(urlparse(text).path if scheme == "file" else text).resolve()
            return cls(str(path), pafs.LocalFileSystem(), path.as_posix())
        uri = _SPARK_ONLY_SCHEMES.get(scheme, scheme) + text[len(scheme) :]
        try:
            fs, root = pafs.FileSystem.from_uri(uri)
        except (OSError, ValueError) as exc:
            raise LakeError(f"Cannot open the lake {text}: {exc}") from None
        return cls(text.rstrip("/"), fs, root.rstrip("/"))

    @property
    def local(self) -> Path | None:
        """The folder on this machine, or None for a remote lake."""
        return Path(self.root) if isinstance(self.fs, pafs.LocalFileSystem) else None

    def path(self, relative: str) -> str:
        """The file system's path of `relative` (a `/`-separated name inside the lake)."""
        return f"{self.root}/{relative}" if relative else self.root

    def spark_path(self, relative: str) -> str:
        """What Spark reads for `relative`."""
        return f"{self.url}/{relative}"

    def kind(self, relative: str = "") -> pafs.FileType:
        return self.fs.get_file_info(self.path(relative)).type

    def read_text(self, relative: str) -> str | None:
        """The file's text, or None when it does not exist."""
        if self.kind(relative) != pafs.FileType.File:
            return None
        with self.fs.open_input_stream(self.path(relative)) as stream:
            return bytes(stream.read()).decode()

    def write_text(self, relative: str, text: str) -> None:
        """Replace the file in one step: a local file by rename, an object by one upload
        (a reader sees the old or the new text, never part of it)."""
        target = self.path(relative)
        if self.local is not None:
            tmp = Path(f"{target}.{uuid.uuid4().hex}.tmp")
            tmp.write_text(text)
            tmp.replace(target)
            return
        with self.fs.open_output_stream(target) as stream:
            stream.write(text.encode())

    def upload(self, source: Path, relative: str) -> None:
        """Copy a file of this machine into the lake at `relative`."""
        self.fs.create_dir(self.path(relative.rsplit("/", 1)[0]), recursive=True)
        local = pafs.LocalFileSystem()
        pafs.copy_files(str(source), self.path(relative), local, self.fs)

    def files(self, relative: str) -> list[str]:
        """Every file under `relative`, as names relative to the lake; none when it is absent."""
        if self.kind(relative) != pafs.FileType.Directory:
            return []
        found = self.fs.get_file_info(pafs.FileSelector(self.path(relative), recursive=True))
        start = len(self.root) + 1
        return sorted(i.path[start:] for i in found if i.type == pafs.FileType.File)

    def delete(self, relative: str) -> None:
        """Remove a file or a folder with everything in it; nothing when it is absent."""
        kind = self.kind(relative)
        if kind == pafs.FileType.Directory:
            self.fs.delete_dir(self.path(relative))
        elif kind == pafs.FileType.File:
            self.fs.delete_file(self.path(relative))
        folder = Path(self.path(relative)).parent
        local = self.local is not None and folder != self.local and folder.is_dir()
        if local and not any(folder.iterdir()):
            folder.rmdir()  # a local folder left empty (object stores have none)
