"""CSV and TSV files: encoding, delimiter and decimal-comma sniffing, exact line numbers.

Values are read as text (``str``); the checks in :mod:`alliance_stats.validation` decide
which columns hold numbers, so identifiers such as ``007`` keep their leading zeros.
Every physical line keeps its number: blank lines stay in the table (validation reports
them), and a quoted value that spans lines counts all of its lines.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io as _io
import os
import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alliance_stats.errors import InputError
from alliance_stats.io._raw import RawTable

#: Delimiters tried when sniffing, in order of preference on a tie.
DELIMITERS = (",", ";", "\t", "|")
#: Cell text read as missing in text files by default; each use is recorded as a note.
NA_MARKERS = ("NA", "N/A", "#N/A", "NaN", "nan", "NULL", "null")

_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}
_DECIMAL_COMMA = re.compile(r"\s*[-+]?\d*,\d+\s*")
_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")
_TEXT_OPTIONS = {"sep", "delimiter", "decimal", "encoding", "na_values"}
#: Characters that sniffing and the header read: ``_records`` keeps ``4096 * (limit + 1)``.
_START = 4096 * (201 + 1)
#: Encodings that write ``\n``, ``\r`` and ``"`` as the single bytes ASCII does.
_ASCII_COMPATIBLE = {"ascii", "utf-8", "utf-8-sig", "cp1252", "iso8859-1"}


#: Largest file (or decompressed content) read, in bytes: 512 MiB unless the environment
#: variable ``ALLIANCE_STATS_MAX_BYTES`` says otherwise; a guard against decompression bombs
#: (1,000,000 sessions x 32 columns are about 150 MB of CSV).
DEFAULT_MAX_BYTES = 512 * 2**20


def max_bytes() -> int:
    """The size cap in force (``ALLIANCE_STATS_MAX_BYTES`` or :data:`DEFAULT_MAX_BYTES`)."""
    raw = os.environ.get("ALLIANCE_STATS_MAX_BYTES", "").strip()
    if not raw:
        return DEFAULT_MAX_BYTES
    try:
        value = int(float(raw))
    except ValueError:
        raise InputError(
            f"ALLIANCE_STATS_MAX_BYTES must be a number of bytes (e.g. 4e9); got {raw!r}"
        ) from None
    if value <= 0:
        raise InputError(f"ALLIANCE_STATS_MAX_BYTES must be positive; got {raw!r}")
    return value


def _too_large(name: str, what: str, cap: int) -> InputError:
    return InputError(
        f"'{name}' {what} more than {cap / 2**30:.3g} GiB, the size limit for a session file; "
        "if it really holds that much data, raise the limit with the environment variable "
        "ALLIANCE_STATS_MAX_BYTES (bytes, e.g. 8e9)"
    )


def check_size(path: Path, name: str) -> None:
    """Refuse a file larger than the size cap before reading it."""
    cap = max_bytes()
    if path.stat().st_size > cap:
        raise _too_large(name, "holds", cap)


def read_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed when it ends in .gz, .bz2, .xz or .zip (one file);
    decompressing stops with an :class:`InputError` beyond the size cap (:func:`max_bytes`)."""
    data = path.read_bytes()
    suffix = path.suffix.lower()
    if suffix == ".zip":
        return refuse_binary(str(path), _unzip(path, data))
    import bz2
    import gzip
    import lzma

    opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}.get(suffix)
    if opener is None:
        return refuse_binary(str(path), data)
    cap = max_bytes()
    try:
        with opener(_io.BytesIO(data)) as stream:
            content = stream.read(cap + 1)
        if len(content) > cap:
            raise _too_large(str(path), "decompresses to", cap)
        return content
    except (OSError, EOFError, ValueError, lzma.LZMAError) as exc:
        raise InputError(
            f"cannot decompress '{path}' ({exc}): the file is damaged or is not "
            f"{suffix[1:]}-compressed; re-export it, or rename it to what it is"
        ) from None
    return refuse_binary(str(path), content)


#: Leading bytes of binary files a text reader must not read as text: (signature, what the
#: file is, the name ending that reads it).
_SIGNATURES = (
    (b"PK\x03\x04", "a zip archive (or an Excel .xlsx workbook)", ".zip or .xlsx"),
    (b"\x1f\x8b", "gzip-compressed", ".csv.gz"),
    (b"BZh", "bzip2-compressed", ".csv.bz2"),
    (b"\xfd7zXZ\x00", "xz-compressed", ".csv.xz"),
    (b"PAR1", "a Parquet file", ".parquet"),
    (b"$FL2", "an SPSS data file", ".sav"),
    (b"$FL3", "an SPSS data file", ".sav"),
    (b"<stata_dta>", "a Stata data file", ".dta"),
    (b"\xd0\xcf\x11\xe0", "an old-style Excel .xls workbook", ".xls"),
    (b"%PDF", "a PDF document", None),
)


def refuse_binary(name: str, data: bytes) -> bytes:
    """``data`` unchanged, or an :class:`InputError` when it starts like a binary file kind.

    Examples
    --------
    >>> refuse_binary("s.csv", b"client,session\\n")
    b'client,session\\n'
    """
    for signature, what, ending in _SIGNATURES:
        if data.startswith(signature):
            fix = (
                f"rename it to end in {ending} so it is read as what it is"
                if ending
                else "export the session table as CSV, Excel, SPSS, Stata or Parquet"
            )
            raise InputError(f"'{name}' is {what}, not a text table: {fix}")
    return data


def _unzip(path: Path, data: bytes) -> bytes:
    import io
    import zipfile

    cap = max_bytes()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            if len(members) == 1 and members[0].file_size > cap:
                raise _too_large(str(path), "decompresses to", cap)
            content = archive.read(members[0]) if len(members) == 1 else None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise InputError(
            f"cannot read '{path}' as a zip archive ({exc}): it is damaged or is not a zip "
            "file; rename it to what it is"
        ) from None
    if content is None:
        names = [m.filename for m in members][:5]
        raise InputError(
            f"'{path}' is a zip archive with {len(members)} files {names}; it must hold exactly "
            "one session file (unzip it and read the file you mean)"
        )
    return content


def _mixed_lines(body: bytes) -> tuple[str, str, str]:
    """A UTF-8 file (by its byte-order mark) with some lines in Windows-1252: line by line."""
    lines, other = [], []
    for number, line in enumerate(body.split(b"\n"), start=1):
        try:
            lines.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            lines.append(line.decode("cp1252", errors="replace"))
            other.append(number)
    shown = ", ".join(map(str, other[:10])) + (f" and {len(other) - 10} more" if len(other) > 10
                                               else "")  # fmt: skip
    note = (
        f"the file starts with a UTF-8 byte-order mark, but line(s) {shown} are not UTF-8; "
        "they were read as Windows-1252 (cp1252): check their accented letters, or save the "
        "file in one encoding"
    )
    return "\n".join(lines), "utf-8-sig", note


def decode(data: bytes, encoding: str | None = None) -> tuple[str, str, str | None]:
    """Text of a file: ``(text, encoding used, note or None)``.

    Tries a byte-order mark (UTF-8, UTF-16), then UTF-8, then Windows-1252, then Latin-1
    (which never fails); falling back is reported in the note.

    Examples
    --------
    >>> decode("Zoë".encode("cp1252"))[1]
    'cp1252'
    >>> decode(codecs.BOM_UTF8 + b"a,b")[:2]
    ('a,b', 'utf-8-sig')
    """
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError as exc:
            raise InputError(f"unknown encoding {encoding!r}; try 'utf-8' or 'cp1252'") from exc
        try:
            return data.decode(encoding), encoding, None
        except UnicodeDecodeError as exc:
            raise InputError(
                f"the file is not in the encoding {encoding!r} (byte {exc.start} cannot be "
                "decoded); leave encoding= out to let alliance_stats detect it"
            ) from exc
    if data.startswith(codecs.BOM_UTF8):
        body = data[len(codecs.BOM_UTF8) :]
        try:
            return body.decode("utf-8"), "utf-8-sig", None
        except UnicodeDecodeError:
            return _mixed_lines(body)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16", None
        except UnicodeDecodeError:
            pass
    if len(data) >= 4 and data[:200].count(b"\x00") * 3 >= min(len(data), 200):
        # UTF-16 without a byte-order mark: every other byte of ASCII text is zero.
        guess = "utf-16-le" if data[1] == 0 else "utf-16-be"
        try:
            return data.decode(guess), guess, f"the file has no byte-order mark; read as {guess}"
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), "utf-8", None
    except UnicodeDecodeError:
        pass
    for fallback, label in (("cp1252", "Windows-1252 (cp1252)"), ("latin-1", "Latin-1")):
        try:
            text = data.decode(fallback)
        except UnicodeDecodeError:
            continue
        return (
            text,
            fallback,
            f"the file is not UTF-8; it was read as {label}. If accented letters look wrong, "
            "pass encoding= (for example encoding='mac-roman'), or save the file as UTF-8",
        )
    raise AssertionError("latin-1 decodes any bytes")  # pragma: no cover


def _records(text: str, delimiter: str, limit: int | None = None):
    """Yield ``(first line number, fields)`` for each record; blank lines give ``[]``."""
    if limit is not None:  # a prefix is enough, and copying a large text is slow
        end = text.find("\n", 4096 * (limit + 1))  # never cut a line (a long header)
        text = text if end < 0 else text[: end + 1]
    reader = csv.reader(_io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    previous = 0
    for count, fields in enumerate(reader):
        if limit is not None and count >= limit:
            return
        yield previous + 1, fields
        previous = reader.line_num


def sniff_delimiter(text: str, preferred: str = ",") -> str:
    """The delimiter among ``, ; tab |`` that splits the first lines most consistently.

    Examples
    --------
    >>> sniff_delimiter("client;wai\\na;3,5\\nb;4\\n")
    ';'
    """
    best, best_score = preferred, (0.0, 1, 0)
    for delimiter in sorted(DELIMITERS, key=lambda d: d != preferred):
        try:
            rows = [f for _, f in _records(text, delimiter, limit=50) if f]
        except csv.Error:
            continue
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        body = rows[1:] or rows
        consistent = sum(len(r) == width for r in body) / len(body)
        score = (consistent, width, delimiter == preferred)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _looks_decimal_comma(rows: Sequence[Sequence[str]]) -> bool:
    hits = 0
    for fields in rows:
        for value in fields:
            if "," in value and _DECIMAL_COMMA.fullmatch(value):
                hits += 1
    return hits > 0


def parse_records(
    text: str, delimiter: str, name: str
) -> tuple[list[str], int, list[tuple[int, list[str]]]]:
    """Header, its line number and the data records ``(line, fields)`` of a delimited text."""
    return _header_and_records(text, delimiter, name)


def _header(text: str, delimiter: str, name: str):
    """Header, its line number and the first 200 records, read with the csv module.

    ``text`` may be only the start of the file; ``None`` when it begins with 200 blank
    lines, so that the full parse must find the header.
    """
    return _header_and_records(text, delimiter, name, limit=200)


def _header_and_records(text: str, delimiter: str, name: str, limit: int | None = None):
    """The first non-blank record is the header; ``limit`` records after it at most."""
    try:
        records = list(_records(text, delimiter, None if limit is None else limit + 1))
    except csv.Error as exc:
        raise InputError(f"cannot read '{name}' as delimited text: {exc}") from exc
    at = 0
    while at < len(records) and not any(f.strip() for f in records[at][1]):
        at += 1
    if at == len(records):
        if limit is not None and len(records) > limit:
            return None
        raise InputError(
            f"'{name}' is empty: it has no header line naming the columns. "
            "Check that you chose the right file"
        )
    line, header = records[at]
    return header, line, records[at + 1 :]


def build_frame(
    header: list[str], records: list[tuple[int, list[str]]], name: str
) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """A ``str`` frame from records, padding short rows and refusing rows that are too long."""
    width = len(header)
    rows: list[list[Any]] = []
    lines = np.empty(len(records), dtype=np.int64)
    for i, (line, fields) in enumerate(records):
        lines[i] = line
        if len(fields) > width:
            extra = fields[width:]
            if any(v.strip() for v in extra):
                raise InputError(
                    f"'{name}' line {line} has {len(fields)} fields but the header has {width}; "
                    "a value probably contains the delimiter without quotes. Quote that value "
                    "or fix the line"
                )
            fields = fields[:width]
        rows.append(fields + [""] * (width - len(fields)))
    names = []
    for j, column in enumerate(header):
        column = column.strip()
        names.append(column if column else f"Unnamed: {j + 1}")
    if rows:
        values = np.array(rows, dtype=object)
    else:
        values = np.empty((0, width), dtype=object)
    columns = {}
    for j in range(width):
        col = pd.Series(values[:, j], dtype="str")
        columns[j] = col.where(col != "", np.nan)
    frame = _name_columns(pd.DataFrame(columns), header)
    return frame, lines, list(frame.columns)


def _name_columns(frame: pd.DataFrame, header: list[str]) -> pd.DataFrame:
    """Name the columns from the header; drop an unnamed empty column (trailing delimiter)."""
    frame.columns = [c.strip() or f"Unnamed: {j + 1}" for j, c in enumerate(header)]
    keep = [
        j for j, column in enumerate(header) if column.strip() or frame.iloc[:, j].notna().any()
    ]
    if len(keep) < len(header):
        frame = frame.iloc[:, keep]
    return frame


@dataclass(frozen=True)
class Scan:
    """What one pass over a file's content found: its digest and what line numbers need.

    Examples
    --------
    >>> found = scan_content([b"client,note", bytes([10]), b'1,"x"', bytes([13, 10])])
    >>> found.newlines, found.quote, found.carriage_return, found.final_newline
    (2, True, True, True)
    """

    sha256: str | None
    ascii: bool
    quote: bool
    carriage_return: bool
    newlines: int
    final_newline: bool


def scan_content(chunks: Iterable[bytes | bytearray | str]) -> Scan:
    """Scan chunks of bytes (or of text: then there is no digest) in one pass."""
    digest = hashlib.sha256()
    ascii_only, quote, carriage_return, newlines, last, is_text = True, False, False, 0, "", False
    for chunk in chunks:
        if not chunk:
            continue
        is_text = isinstance(chunk, str)
        if not is_text:
            digest.update(chunk)
        ascii_only = ascii_only and chunk.isascii()
        quote = quote or ('"' if is_text else b'"') in chunk
        carriage_return = carriage_return or ("\r" if is_text else b"\r") in chunk
        newlines += chunk.count("\n" if is_text else b"\n")
        last = chunk[-1:]
    return Scan(
        None if is_text else digest.hexdigest(),
        ascii_only,
        quote,
        carriage_return,
        newlines,
        last in ("\n", b"\n"),
    )


def file_chunks(path: Path, size: int = 1 << 20):
    """The file's bytes in chunks, read into one reused buffer (use each before the next)."""
    buffer = bytearray(size)
    view = memoryview(buffer)
    with path.open("rb", buffering=0) as handle:
        while n := handle.readinto(view):
            yield buffer if n == size else bytes(view[:n])


def _has_words(values) -> bool:
    """Whether any of these texts is not a number (then pandas keeps the column as text)."""
    return any(v.strip() and not _NUMBER.fullmatch(v) for v in values)


def _pandas_read(source, encoding, delimiter, decimal, names, header_line, keep_text):
    """pandas' C parser on the data lines, or ``None`` where it cannot read them.

    pandas warns (DtypeWarning) when its chunks disagree on a column's type; the caller reads
    identifier columns again as text, and validation judges the other columns' values.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pd.errors.DtypeWarning)
            return pd.read_csv(
                source,
                encoding=encoding,
                sep=delimiter,
                decimal=decimal or ".",
                header=0,
                names=names,
                index_col=False,
                skiprows=header_line - 1,
                dtype=keep_text,
                keep_default_na=False,
                na_values=[""],
                skip_blank_lines=False,
                engine="c",
                low_memory=True,
            )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, UnicodeError):
        return None


def _fast_frame(
    source,
    encoding: str,
    scan: Callable[[], Scan],
    delimiter: str,
    decimal: str | None,
    header: list[str],
    header_line: int,
    text_columns: Callable[[str], bool],
    first_records: list[tuple[int, list[str]]],
):
    """The data lines read by pandas' C parser, or ``None`` when line numbers would be wrong.

    pandas is many times faster than the csv module, but it cannot say which line a record
    started on. When every record is one physical line (no quoted line breaks, no ragged
    rows), record ``i`` is line ``header_line + 1 + i``; otherwise the caller falls back to
    the exact, slower path. Numbers are parsed here; columns picked by ``text_columns``
    (identifiers) stay text so that ``007`` keeps its zeros. ``scan`` gives the
    :class:`Scan` of the content (it may still be running while pandas parses).
    """
    if any(fields and len(fields) != len(header) for _, fields in first_records):
        return None  # ragged rows: the exact path pads or explains them
    names = [f"c{j}" for j in range(len(header))]  # placeholders: the file's may repeat
    # Identifier columns must stay text ("007"). Forcing that costs time, so it is skipped
    # where the first records already hold words; but pandas types each chunk it parses on
    # its own, so digit-only ids further down can still become numbers: such a column is
    # then read again as text (below).
    ids = {names[j] for j, c in enumerate(header) if text_columns(c)}
    keep_text = {
        names[j]: "str"
        for j, c in enumerate(header)
        if names[j] in ids and not _has_words(f[j] for _, f in first_records if len(f) > j)
    }
    frame = _pandas_read(source, encoding, delimiter, decimal, names, header_line, keep_text)
    retyped = [
        n
        for n in ids - set(keep_text)
        if frame is not None
        and n in frame
        and pd.api.types.infer_dtype(frame[n], skipna=True) not in ("string", "empty")
    ]
    if retyped:  # fmt: skip
        if hasattr(source, "seek"):
            source.seek(0)
        keep_text.update(dict.fromkeys(retyped, "str"))
        frame = _pandas_read(source, encoding, delimiter, decimal, names, header_line, keep_text)
    if frame is None or frame.shape[1] != len(header):
        return None
    # Only a quoted line break or a \r (a line end to pandas) makes a record other than one
    # line, blank lines included; without them, the count of lines is not needed.
    found = scan()
    if found.carriage_return and not found.newlines:
        return None  # old Mac line ends
    if found.quote or found.carriage_return:
        n_lines = found.newlines + (0 if found.final_newline else 1)
        if len(frame) != n_lines - header_line:
            return None
    frame = _name_columns(frame, header)
    return frame, range(header_line + 1, header_line + 1 + len(frame))


def check_options(options: dict[str, Any], name: str) -> None:
    """Refuse options a text reader does not know, naming the ones it does."""
    unknown = set(options) - _TEXT_OPTIONS
    if unknown:
        raise InputError(
            f"unknown option(s) {sorted(unknown)} for the text file '{name}'; "
            f"text files accept: {', '.join(sorted(_TEXT_OPTIONS))}"
        )


def read_text(
    path: Path,
    name: str,
    fmt: str,
    options: dict[str, Any],
    *,
    data: bytes | None = None,
    text_columns: Callable[[str], bool] = lambda name: False,
) -> RawTable:
    """Read a CSV or TSV file into a :class:`RawTable` (with the file's SHA-256 in ``sha256``).

    Options: ``sep`` (or ``delimiter``), ``decimal`` (``'.'`` or ``','``), ``encoding``, and
    ``na_values`` (cell text read as missing; default :data:`NA_MARKERS`, ``[]`` for none).
    Columns for which ``text_columns(name)`` is true are kept as text (identifiers).
    ``data`` is the file's content when it is already in memory (decompressed).

    A plain file that starts with ASCII text is read without loading it whole: the start
    gives the layout, pandas parses the file, and a second thread scans the bytes for the
    digest, for non-ASCII bytes and for what line numbers need. Any other file is decoded
    whole first (see :func:`decode`).
    """
    check_options(options, name)
    sep, decimal = _separator_and_decimal(options)
    with ThreadPoolExecutor(max_workers=1) as pool:
        fast = True  # whether pandas' parse may work (see _fast_frame)
        if data is None and options.get("encoding") is None and not is_compressed(path):
            scan = pool.submit(lambda: scan_content(file_chunks(path)))
            with path.open("rb") as handle:
                head = handle.read(_START)
            if head.isascii() and b"\x00" not in head[:200] and not head.isspace():
                # What decode() reads as UTF-8; pandas refuses bytes that are not UTF-8.
                try:
                    raw = _read(path, name, fmt, options, head.decode("ascii"), "utf-8",
                                scan.result, text_columns, sep, decimal, None)  # fmt: skip
                    raw.sha256 = scan.result().sha256
                    return raw
                except _WholeTextNeeded as need:  # an ASCII file pandas could not number
                    fast = not (need.pandas_failed and scan.result().ascii)
            data = read_bytes(path)
        else:
            data = read_bytes(path) if data is None else data
            scan = pool.submit(scan_content, [data])
        text, encoding, encoding_note = decode(data, options.get("encoding"))
        if not text or text.isspace():
            raise InputError(f"'{name}' is empty; check that you chose the right file")
        if codecs.lookup(encoding).name not in _ASCII_COMPATIBLE:  # count lines in the text
            digest = scan.result().sha256
            scan = pool.submit(lambda: replace(scan_content([text]), sha256=digest))
        source = _io.BytesIO(data) if is_compressed(path) else path
        raw = _read(source, name, fmt, options, text, encoding, scan.result, text_columns,
                    sep, decimal, encoding_note, whole=text, fast=fast)  # fmt: skip
        raw.sha256 = scan.result().sha256
    return raw


def is_compressed(path: Path | None) -> bool:
    """Whether pandas must be given the content rather than the file (or there is no file)."""
    return path is None or path.suffix.lower() in (".gz", ".bz2", ".xz", ".zip")


def _separator_and_decimal(options: dict[str, Any]) -> tuple[str | None, str | None]:
    sep = options.get("sep", options.get("delimiter"))
    if sep is not None and (not isinstance(sep, str) or len(sep) != 1):
        raise InputError(f"sep must be a single character such as ',' or ';'; got {sep!r}")
    decimal = options.get("decimal")
    if decimal not in (None, ".", ","):
        raise InputError(f"decimal must be '.' or ','; got {decimal!r}")
    return sep, decimal


class _WholeTextNeeded(Exception):
    """The start of the file was not enough (``pandas_failed``: pandas' parse was tried)."""

    def __init__(self, pandas_failed: bool):
        super().__init__()
        self.pandas_failed = pandas_failed


def _read(source, name, fmt, options, start, encoding, scan, text_columns, sep, decimal,
          encoding_note, whole: str | None = None, fast=True) -> RawTable:  # fmt: skip
    """Layout from the ``start`` of the text, then pandas' parse (if ``fast``), else the exact
    parse. Without the ``whole`` text, raise :class:`_WholeTextNeeded` where it is needed.
    """
    delimiter = sep or sniff_delimiter(start, preferred="\t" if fmt == "tsv" else ",")
    found = _header(start, delimiter, name)
    if found is None:
        if whole is None:
            raise _WholeTextNeeded(pandas_failed=False)
        found = parse_records(whole, delimiter, name)
    header, header_line, records = found
    if whole is None and not records:  # a header longer than the start, or no data lines
        raise _WholeTextNeeded(pandas_failed=False)
    if decimal == "," and delimiter == ",":
        raise InputError(
            f"'{name}' is comma-delimited, so decimal=',' is ambiguous; "
            "save it with ';' between values, or use decimal='.'"
        )
    decimal_note = None
    if decimal is None and delimiter != ",":
        sample = [f for _, f in records[:200]]
        if _looks_decimal_comma(sample):
            decimal = ","
            decimal_note = next(
                v for f in sample for v in f if "," in v and _DECIMAL_COMMA.fullmatch(v)
            )
    # pandas parses a file on disk much faster than bytes in memory
    parsed = fast and _fast_frame(
        source, encoding, scan, delimiter, decimal, header, header_line, text_columns, records
    )
    if not parsed:
        if whole is None:
            raise _WholeTextNeeded(pandas_failed=True)
        header, header_line, records = parse_records(whole, delimiter, name)
        raw_frame, lines, _ = build_frame(header, records, name)
    else:
        raw_frame, lines = parsed
    raw = RawTable(raw_frame, name, fmt, row_numbers=lines, row_unit="line")
    raw.header_line = header_line
    if encoding_note:
        raw.note("encoding", encoding_note, value=encoding)
    if decimal_note is not None:
        raw.note(
            "decimal_comma",
            "numbers are written with a decimal comma (such as 3,5); they were read as "
            "decimal numbers. Pass decimal='.' to keep them as text",
            value=decimal_note,
        )
    if decimal == ",":
        frame = raw.frame.copy()
        for column in frame.columns:
            values = frame[column]
            if isinstance(values, pd.DataFrame):  # duplicate names: validation reports them
                continue
            if not pd.api.types.is_string_dtype(values):
                continue
            hit = values.str.fullmatch(_DECIMAL_COMMA.pattern).fillna(False).astype(bool)
            if hit.any():
                frame[column] = values.where(~hit, values.str.replace(",", ".", regex=False))
        raw.frame = frame

    na_values = options.get("na_values", NA_MARKERS)
    if isinstance(na_values, str):
        na_values = [na_values]
    if na_values is not None and (
        not isinstance(na_values, (list, tuple, set))
        or not all(isinstance(v, str) for v in na_values)
    ):
        raise InputError(
            f"na_values must be a list of cell texts that mean missing, e.g. ['NA', '-']; got "
            f"{na_values!r} (numeric codes such as -99 go in missing_codes)"
        )
    raw.na_markers = list(na_values or [])
    return raw


def text_missing_codes(raw: RawTable) -> dict[str, list[Any]]:
    """Per text column, the NA markers to read as missing.

    Validation looks for them (once per distinct value) and notes each one it finds.
    """
    markers = raw.na_markers
    if not markers:
        return {}
    dtypes = raw.frame.dtypes
    dtypes = dtypes[~dtypes.index.duplicated(keep=False)]  # duplicates: validation reports them
    return {
        column: list(markers)
        for column, dtype in dtypes.items()
        if pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype)
    }
