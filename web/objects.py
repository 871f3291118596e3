"""The object store of the trade's documents (applicants' uploads, the signed
confirmations, the refund files sent to and received from the bank): content-addressed
(an object is named by the SHA-256 of its bytes, and that hash is what the record
keeps), written once.

:class:`ObjectStore` is the interface a center may implement over its own store (S3,
MinIO, a document system); :class:`FileObjectStore` is the default, a directory
(``DATA/objects/ab/abcdef...``) written atomically (a temporary file, fsync, rename).
"""

import abc
import asyncio
import hashlib
import os
import re
import tempfile
from pathlib import Path

_SHA256 = re.compile(r"[0-9a-f]{64}")
#: The default store's directory under the data directory.
OBJECTS_DIR = "objects"


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ObjectStore(abc.ABC):
    @abc.abstractmethod
    async def put(self, data: bytes) -> str:
        """Store ``data`` (idempotent); its SHA-256 in hex."""

    @abc.abstractmethod
    async def get(self, sha256: str) -> bytes | None:
        """The bytes named ``sha256``, or None; never bytes of another hash."""

    def where(self, sha256: str) -> str | None:
        """Where a person finds the object outside the server (a path, a URL), when the
        store can say."""
        return None


class FileObjectStore(ObjectStore):
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        if not _SHA256.fullmatch(sha256):
            raise ValueError("not a SHA-256 in lower-case hex")
        return self.root / sha256[:2] / sha256

    def where(self, sha256: str) -> str:
        return str(self._path(sha256))

    async def put(self, data: bytes) -> str:
        digest = sha256_of(data)
        await asyncio.to_thread(self._write, self._path(digest), data)
        return digest

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def get(self, sha256: str) -> bytes | None:
        try:
            path = self._path(sha256)
        except ValueError:
            return None
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None
        return data if sha256_of(data) == sha256 else None
