"""Passages stored by column: small metadata arrays plus one UTF-8 blob of texts and headings.

A million `Passage` objects cost gigabytes and seconds to load; the table makes one only when
a caller indexes or iterates it. On disk the arrays are memory-mapped and the texts read on
demand.
"""

from __future__ import annotations

import io
import os
import tempfile
from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any, overload

import numpy as np
import numpy.typing as npt

from retrieval.corpus import Passage

Int32Array = npt.NDArray[np.int32]
Int64Array = npt.NDArray[np.int64]


class FileBlob:
    """Bytes of an open file, read with pread on demand. Not memory-mapped: the kernel maps
    64 KB around every faulted page, so a few thousand looked-up passages would make most of
    the texts resident in this process."""

    def __init__(self, fh: IO[bytes]) -> None:
        self._fh = fh  # kept open for as long as the table lives
        self._fd = fh.fileno()
        self._size = os.fstat(self._fd).st_size

    def __del__(self) -> None:
        self._fh.close()

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, span: slice) -> bytes:
        start, stop, _ = span.indices(self._size)
        return os.pread(self._fd, max(stop - start, 0), start) if stop > start else b""

    def copy_to(self, out: IO[bytes], step: int = 1 << 23) -> None:
        done = 0
        try:
            # In the kernel, without passing the bytes through this process (20x faster
            # than reading and writing 800 MB here).
            out.flush()
            while done < self._size:
                n = os.copy_file_range(self._fd, out.fileno(), self._size - done, done)
                if n == 0:
                    break
                done += n
        except (AttributeError, OSError, io.UnsupportedOperation):
            pass  # not Linux, or not between these files: copy through memory
        for start in range(done, self._size, step):
            out.write(os.pread(self._fd, min(step, self._size - start), start))


Blob = bytes | FileBlob

# Column name -> dtype, as saved in the index folder (`passage_<name>.npy`).
COLUMNS: dict[str, type[np.generic]] = {
    "file": np.int32,
    "line_start": np.int32,
    "line_end": np.int32,
    "ordinal": np.int32,
    "reference": np.bool_,
    "offsets": np.int64,
}
_ITER_CHUNK = 4096


def _decode(data: bytes) -> str:
    return data.decode("utf-8", "surrogatepass")


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


class PassageTable(Sequence[Passage]):
    """Read-only sequence of passages. Passage i's text is blob[offsets[2i]:offsets[2i+1]]
    and its heading runs on to offsets[2i+2]."""

    def __init__(
        self,
        files: list[str],
        columns: dict[str, npt.NDArray[Any]],
        blob: Blob,
    ) -> None:
        self.files = files
        self.columns = columns
        self.blob = blob
        # Plain ndarray views of (possibly memory-mapped) columns: indexing a numpy memmap
        # runs Python code on every access.
        self._file = np.asarray(columns["file"])
        self._line_start = np.asarray(columns["line_start"])
        self._line_end = np.asarray(columns["line_end"])
        self._ordinal = np.asarray(columns["ordinal"])
        self.reference: npt.NDArray[np.bool_] = np.asarray(columns["reference"])
        self._offsets = np.asarray(columns["offsets"])
        self._file_ids: dict[str, int] | None = None

    @classmethod
    def from_passages(cls, passages: Iterable[Passage]) -> PassageTable:
        writer = TableWriter()
        for p in passages:
            writer.add(p.file, p.line_start, p.line_end, p.ordinal, p.text, p.heading, p.reference)
        return writer.finish()

    def __len__(self) -> int:
        return len(self._file)

    def _make(self, i: int) -> Passage:
        lo, mid, hi = (int(x) for x in self._offsets[2 * i : 2 * i + 3])
        return Passage(
            file=self.files[int(self._file[i])],
            line_start=int(self._line_start[i]),
            line_end=int(self._line_end[i]),
            ordinal=int(self._ordinal[i]),
            text=_decode(self.blob[lo:mid]),
            heading=_decode(self.blob[mid:hi]),
            reference=bool(self.reference[i]),
        )

    @overload
    def __getitem__(self, i: int) -> Passage: ...

    @overload
    def __getitem__(self, i: slice) -> list[Passage]: ...

    def __getitem__(self, i: int | slice) -> Passage | list[Passage]:
        if isinstance(i, slice):
            return [self._make(j) for j in range(*i.indices(len(self)))]
        n = len(self)
        j = int(i) + n if i < 0 else int(i)
        if not 0 <= j < n:
            raise IndexError("passage index out of range")
        return self._make(j)

    def __iter__(self) -> Iterator[Passage]:
        # Columns go to Python lists a chunk at a time: numpy scalars are slow one by one.
        for start in range(0, len(self), _ITER_CHUNK):
            stop = min(start + _ITER_CHUNK, len(self))
            offsets = self._offsets[2 * start : 2 * stop + 1].tolist()
            rows = zip(
                self._file[start:stop].tolist(),
                self._line_start[start:stop].tolist(),
                self._line_end[start:stop].tolist(),
                self._ordinal[start:stop].tolist(),
                self.reference[start:stop].tolist(),
                strict=True,
            )
            for k, (f, ls, le, o, ref) in enumerate(rows):
                lo, mid, hi = offsets[2 * k : 2 * k + 3]
                yield Passage(
                    self.files[f], ls, le, o, _decode(self.blob[lo:mid]),
                    _decode(self.blob[mid:hi]), ref,
                )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or len(other) != len(self):
            return False
        return all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"PassageTable({len(self)} passages, {len(self.files)} files)"

    def present_files(self) -> list[str]:
        """The files that have at least one passage, sorted."""
        return sorted(self.files[i] for i in np.unique(self._file).tolist())

    def file_id(self, i: int) -> int:
        """The number of passage i's file in `files`."""
        return int(self._file[i])

    def file_ids(self, indices: npt.NDArray[Any]) -> npt.NDArray[Any]:
        found: npt.NDArray[Any] = self._file[indices]
        return found

    def indices_of(self, file: str) -> list[int]:
        if self._file_ids is None:
            self._file_ids = {name: i for i, name in enumerate(self.files)}
        fid = self._file_ids.get(file)
        if fid is None:
            return []
        found: list[int] = np.flatnonzero(self._file == fid).tolist()
        return found

    def spans(self) -> list[tuple[str, int, int]]:
        """(file, line_start, line_end) of every passage, without decoding any text."""
        return [
            (self.files[f], ls, le)
            for f, ls, le in zip(
                self._file.tolist(),
                self._line_start.tolist(),
                self._line_end.tolist(),
                strict=True,
            )
        ]

    def write_blob(self, out: IO[bytes]) -> None:
        if isinstance(self.blob, FileBlob):
            self.blob.copy_to(out)
        else:
            out.write(self.blob)


class TableWriter:
    """Appends passages; texts go to an unlinked temporary file, so a large corpus's text is
    not held in memory while the index is built."""

    def __init__(self) -> None:
        self._files: list[str] = []
        self._file_ids: dict[str, int] = {}
        self._ints = {name: array("i") for name in ("file", "line_start", "line_end", "ordinal")}
        self._reference = bytearray()
        self._offsets = array("q", [0])
        self._size = 0
        # Unlinked at once, so it needs no clean-up; the table keeps it open.
        self._blob: IO[bytes] = tempfile.TemporaryFile(prefix="citebot-texts-")  # noqa: SIM115

    def file_id(self, name: str) -> int:
        fid = self._file_ids.get(name)
        if fid is None:
            fid = self._file_ids[name] = len(self._files)
            self._files.append(name)
        return fid

    def add(
        self,
        file: str,
        line_start: int,
        line_end: int,
        ordinal: int,
        text: str,
        heading: str,
        reference: bool,
    ) -> None:
        self.add_encoded(
            self.file_id(file), line_start, line_end, ordinal, _encode(text), _encode(heading),
            reference,
        )

    def add_encoded(
        self,
        file_id: int,
        line_start: int,
        line_end: int,
        ordinal: int,
        text: bytes,
        heading: bytes,
        reference: bool,
    ) -> None:
        ints = self._ints
        ints["file"].append(file_id)
        ints["line_start"].append(line_start)
        ints["line_end"].append(line_end)
        ints["ordinal"].append(ordinal)
        self._reference.append(reference)
        self._blob.write(text)
        self._blob.write(heading)
        self._offsets.append(self._size + len(text))
        self._size += len(text) + len(heading)
        self._offsets.append(self._size)

    def add_plain(
        self,
        file_id: int,
        line_start: npt.NDArray[np.int32],
        line_end: npt.NDArray[np.int32],
        reference: npt.NDArray[np.bool_],
        texts: bytes,
        lengths: npt.NDArray[np.int64],
    ) -> None:
        """One file's passages without headings: `texts` is their texts back to back."""
        n = len(lengths)
        ints = self._ints
        ints["file"].extend([file_id] * n)
        ints["line_start"].frombytes(line_start.astype(np.int32).tobytes())
        ints["line_end"].frombytes(line_end.astype(np.int32).tobytes())
        ints["ordinal"].extend(range(n))
        self._reference.extend(reference.astype(np.bool_).tobytes())
        self._blob.write(texts)
        ends = self._size + np.cumsum(lengths, dtype=np.int64)
        self._offsets.frombytes(np.repeat(ends, 2).tobytes())  # each heading is empty
        self._size += len(texts)

    def finish(self) -> PassageTable:
        self._blob.flush()
        columns: dict[str, npt.NDArray[Any]] = {
            name: np.frombuffer(values, dtype=np.int32).copy()
            for name, values in self._ints.items()
        }
        columns["reference"] = np.frombuffer(bytes(self._reference), dtype=np.bool_).copy()
        columns["offsets"] = np.frombuffer(self._offsets, dtype=np.int64).copy()
        return PassageTable(self._files, columns, FileBlob(self._blob))


def check_table(files: list[str], columns: dict[str, npt.NDArray[Any]], blob_size: int) -> str:
    """Why loaded columns cannot describe a table, or "" when they can."""
    n = len(columns["file"])
    if any(len(columns[name]) != n for name in ("line_start", "line_end", "ordinal", "reference")):
        return "passage columns differ in length"
    offsets = columns["offsets"]
    if len(offsets) != 2 * n + 1 or (n and (offsets[0] != 0 or offsets[-1] != blob_size)):
        return "passage text offsets do not span the text blob"
    if n and bool(np.any(np.diff(offsets) < 0)):
        return "passage text offsets are not increasing"
    fid = columns["file"]
    if n and (int(fid.min()) < 0 or int(fid.max()) >= len(files)):
        return "passage file ids out of range"
    return ""

