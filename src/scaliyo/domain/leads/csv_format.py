"""Reading lead CSV files as people export them: any common encoding, delimiter, with or
without a header row.

``sniff`` tells the format from the file's first bytes; ``read_records`` then streams every
record of the whole file in that format, never holding the file in memory.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import BinaryIO

import msgspec
from charset_normalizer import from_bytes

from scaliyo.domain.leads.column_mapping import header_names, is_known_header, looks_like_value
from scaliyo.domain.shared.errors import ValidationFailed

__all__ = [
    "DELIMITERS",
    "UNDECODABLE",
    "BinaryFile",
    "CsvFormat",
    "EmptyFile",
    "MalformedCsv",
    "NoDataRows",
    "UnknownEncoding",
    "UnreadableFile",
    "header_names",
    "read_records",
    "sniff",
]

DELIMITERS = (",", ";", "\t", "|")
FIELD_SIZE_LIMIT = 1_048_576  # characters in one cell; beyond it the file is malformed
SNIFF_RECORDS = 1000  # records of the sample the delimiter and header are judged on

# The csv module's limit is process-wide; only ever raised here.
csv.field_size_limit(max(csv.field_size_limit(), FIELD_SIZE_LIMIT))

# What ``read_records`` puts where the file's bytes are not text in its encoding (the encoding
# is told from the file's start; a file can change part way, e.g. rows appended from another
# export). A Unicode noncharacter, which text does not hold, so that a row reading it can be
# refused instead of importing a name with "�" in it.
UNDECODABLE = "\uffff"
_UNDECODABLE_ERRORS = "scaliyo.undecodable"


def _mark_undecodable(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return UNDECODABLE, error.end


codecs.register_error(_UNDECODABLE_ERRORS, _mark_undecodable)


class CsvFormat(msgspec.Struct, frozen=True, kw_only=True):
    """How a file is written: ``encoding`` is a Python codec name (``utf-8``, ``utf-8-sig``,
    ``utf-16``, ``cp1252``…), ``delimiter`` one of ``,`` ``;`` tab ``|``."""

    encoding: str
    delimiter: str
    has_header: bool


class UnreadableFile(ValidationFailed):
    """A file that cannot be imported as CSV; each subclass has its own code."""

    code = "unreadable_file"
    title = "The file cannot be read as CSV"


class EmptyFile(UnreadableFile):
    code = "empty_file"
    title = "The file is empty"


class BinaryFile(UnreadableFile):
    code = "binary_file"
    title = "The file is not a text (CSV) file"


class UnknownEncoding(UnreadableFile):
    code = "unknown_encoding"
    title = "The file's text encoding is not recognised"


class NoDataRows(UnreadableFile):
    code = "no_data_rows"
    title = "The file has no data rows"


class MalformedCsv(UnreadableFile):
    code = "malformed_csv"
    title = "The file is not valid CSV"


_SAVE_AS_CSV = "Save it as CSV (in Excel: File › Save As › CSV UTF-8) and upload that file."

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: it starts with the same bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive or an Excel workbook (.xlsx)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel 97-2003 workbook (.xls)"),
    (b"\x1f\x8b", "a gzip archive"),
)

# Control bytes that text files do not contain (tab, line feed, form feed, carriage return
# and the old DOS end-of-file mark are fine).
_BINARY_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 26))
_BINARY_SHARE = 0.05
_LEGACY_PREFERENCE = "cp1252"  # most legacy exports are Windows-1252 (Excel on Windows)


# ---------------------------------------------------------------------------------------------
# Sniffing


def sniff(sample: bytes, *, complete: bool) -> CsvFormat:
    """The format of a file from its first bytes (``complete``: the sample is the whole file).

    Rules:
    - encoding: a byte-order mark decides (UTF-8 → ``utf-8-sig``, UTF-16 → ``utf-16``); else
      UTF-16 without a mark when every other byte is NUL; else strict UTF-8 (a multibyte
      character cut at the sample's end is fine when not ``complete``); else UTF-8 when it is
      UTF-8 but for some bytes (as many characters read from multibyte sequences as sequences
      fail, or more: its stray rows are reported, not every accent of the file misread);
      else Windows-1252 when the text reads as a Western language in it; else
      charset-normalizer's best guess;
    - ``empty_file`` for no bytes or only blanks; ``binary_file`` for a known binary format
      (image, PDF, Excel workbook, archive) or more than 5% control bytes;
      ``unknown_encoding`` when no encoding gives plausible text;
    - delimiter: of ``,`` ``;`` tab ``|``, the one that splits most records into the same
      number (2 or more) of fields, quote-aware; ties go to more fields, then that order;
      a file of one column gets ``,``;
    - header: the first record reads like labels: no emails, links, numbers or long texts;
      and half of its cells are known export headers, or its distinct labels sit above
      columns of such values;
    - ``no_data_rows`` for a complete file whose header has no record under it.
    """
    if not sample.strip(b" \t\r\n\x00"):
        raise EmptyFile("The file is empty.")
    encoding, text = _decode_sample(sample, complete)
    text = text.lstrip("\ufeff").replace("\x00", "")
    if not text.strip():
        raise EmptyFile("The file has no text.")
    if not complete:
        text = _cut_last_line(text)
    delimiter, records = _delimiter_and_records(text, complete)
    has_header = _looks_like_header(records)
    if has_header and complete and not any(_filled(record) for record in records[1:]):
        raise NoDataRows("The file has a header row but no data rows.")
    return CsvFormat(encoding=encoding, delimiter=delimiter, has_header=has_header)


def _decode_sample(sample: bytes, complete: bool) -> tuple[str, str]:
    """(codec name, decoded sample) or the ``UnreadableFile`` that says why not."""
    for bom, encoding in _BOMS:
        if sample.startswith(bom):
            return encoding, _decode(sample, encoding, complete, errors="replace")
    for signature, what in _SIGNATURES:
        if sample.startswith(signature):
            raise BinaryFile(f"This looks like {what}, not a CSV file. {_SAVE_AS_CSV}")
    utf16 = _bomless_utf16(sample)
    if utf16 is not None:
        return utf16, _decode(sample, utf16, complete, errors="replace")
    if sum(sample.count(byte) for byte in _BINARY_BYTES) > _BINARY_SHARE * len(sample):
        raise BinaryFile(f"This is not a text file. {_SAVE_AS_CSV}")
    try:
        return "utf-8", _decode(sample, "utf-8", complete, errors="strict")
    except UnicodeDecodeError:
        pass
    marked = _decode(sample, "utf-8", complete, errors=_UNDECODABLE_ERRORS)
    if _mostly_utf8(marked):
        return "utf-8", marked.replace(UNDECODABLE, "\ufffd")
    encoding = _legacy_encoding(sample)
    return encoding, _decode(sample, encoding, complete, errors="replace")


def _decode(sample: bytes, encoding: str, complete: bool, *, errors: str) -> str:
    decoder = codecs.getincrementaldecoder(encoding)(errors=errors)
    return decoder.decode(sample, final=complete)


def _bomless_utf16(sample: bytes) -> str | None:
    head = sample[:4096]
    if len(head) < 4:
        return None
    even, odd = head[0::2], head[1::2]
    for zeros, text, encoding in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if zeros.count(0) >= 0.7 * len(zeros) and text.count(0) <= 0.05 * len(text):
            return encoding
    return None


def _mostly_utf8(marked: str) -> bool:
    """A sample of UTF-8 with some bytes of something else (rows pasted from a legacy export):
    at least as many characters read from valid multibyte sequences as sequences fail (each
    ``UNDECODABLE`` in ``marked``; a "�" the file holds is a character read). Legacy text
    hardly ever forms a valid multibyte sequence: Western and Cyrillic code pages none, the
    CJK ones under 0.2 a failure. Read as UTF-8, the stray rows are reported; read as
    Windows-1252, every accent of every other row would be imported as two wrong characters
    ("Ã©")."""
    failed = marked.count(UNDECODABLE)
    read = len(_NON_ASCII.findall(marked)) - failed
    return read >= failed


def _legacy_encoding(sample: bytes) -> str:
    """Windows-1252 when the sample reads as Western text in it or charset-normalizer finds it
    as plausible as its best guess (it guesses poorly on a few accented words); else
    charset-normalizer's best guess; else ``unknown_encoding``."""
    head = sample[:262_144]
    if _reads_as_western(head):
        return _LEGACY_PREFERENCE
    matches = list(from_bytes(head))
    if not matches:
        raise UnknownEncoding(
            "The file's text encoding was not recognised. Save it as CSV UTF-8 and upload it again."
        )
    best = min(match.chaos for match in matches)
    for match in matches:
        # Code pages that decode the sample alike are grouped under one name.
        if match.chaos <= best + 0.02 and _LEGACY_PREFERENCE in match.could_be_from_charset:
            return _LEGACY_PREFERENCE
    return codecs.lookup(matches[0].encoding).name


_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_ASCII_LETTER = re.compile(r"[A-Za-z]")
_WORD_PUNCTUATION = frozenset("’‘–—·™®©°€")  # may follow a letter in Western text
_WESTERN_ACCENT_SHARE = 0.3


def _reads_as_western(sample: bytes) -> bool:
    """Whether the bytes are Windows-1252 text of a Western language: no unassigned or
    control bytes; the non-ASCII characters are mostly accented letters, a minority of the
    letters (Cyrillic or Greek code pages fill words with them); no symbol right after a
    letter (``Pawe³`` is Polish text in another code page)."""
    try:
        text = sample.decode(_LEGACY_PREFERENCE)
    except UnicodeDecodeError:
        return False
    accented = 0
    for found in _NON_ASCII.finditer(text):
        char, start = found.group(), found.start()
        if char.isalpha():
            accented += 1
        elif char not in _WORD_PUNCTUATION and start and text[start - 1].isalpha():
            return False
    if not accented:
        return True
    letters = accented + len(_ASCII_LETTER.findall(text))
    return accented <= _WESTERN_ACCENT_SHARE * letters


def _cut_last_line(text: str) -> str:
    """The sample without its last, maybe partial, line (kept when it is the only one)."""
    end = max(text.rfind("\n"), text.rfind("\r"))
    return text[: end + 1] if end > 0 else text


def _filled(record: list[str]) -> bool:
    return any(cell.strip() for cell in record)


def _parse(text: str, delimiter: str, complete: bool) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    try:
        records = list(islice(reader, SNIFF_RECORDS + 1))
    except csv.Error:
        return []
    if not complete and len(records) > 1:
        records.pop()  # may end inside a quoted cell
    return records[:SNIFF_RECORDS]


def _delimiter_and_records(text: str, complete: bool) -> tuple[str, list[list[str]]]:
    best: tuple[float, int, int] | None = None
    chosen = DELIMITERS[0]
    chosen_records: list[list[str]] = []
    for order, delimiter in enumerate(DELIMITERS):
        records = _parse(text, delimiter, complete)
        widths = [len(record) for record in records if _filled(record)]
        if not widths:
            continue
        (width, count), *_ = Counter(widths).most_common(1)
        if width < 2:
            if not chosen_records:
                chosen_records = records
            continue
        score = (round(count / len(widths), 2), width, -order)
        if best is None or score > best:
            best, chosen, chosen_records = score, delimiter, records
    if best is None:
        return DELIMITERS[0], _parse(text, DELIMITERS[0], complete)
    return chosen, chosen_records


def _looks_like_header(records: list[list[str]]) -> bool:
    if not records:
        return False
    cells = [cell.strip() for cell in records[0]]
    labels = [cell for cell in cells if cell]
    if not labels or any(looks_like_value(cell) for cell in labels):
        return False
    known = sum(map(is_known_header, labels)) / len(labels)
    if known >= 0.5:
        return True
    if len({label.casefold() for label in labels}) != len(labels):
        return False
    rows = [record for record in records[1:] if _filled(record)]
    for position, label in enumerate(cells):
        values = [r[position].strip() for r in rows if position < len(r) and r[position].strip()]
        if label and values and sum(map(looks_like_value, values)) >= 0.5 * len(values):
            return True  # a label above a column of emails, links or numbers
    return False


# ---------------------------------------------------------------------------------------------
# Reading


def read_records(stream: BinaryIO, fmt: CsvFormat) -> Iterator[list[str]]:
    """Every record of the file from the stream's position, the header included.

    Rules:
    - decoded as it is read (the file is never whole in memory); bytes that are not text in
      the encoding become ``UNDECODABLE``; a byte-order mark is dropped; NUL characters are
      dropped;
    - quoted cells may hold delimiters, quotes (``""``) and line breaks; records are returned
      as they are, short or long; blank lines are empty records;
    - a cell longer than ``FIELD_SIZE_LIMIT`` characters (an unclosed quote, usually) is
      ``malformed_csv``, with its line number.
    The stream is left open (the reader detaches from it when done or dropped).
    """
    text = io.TextIOWrapper(stream, encoding=fmt.encoding, errors=_UNDECODABLE_ERRORS, newline="")
    try:
        reader = csv.reader(_clean_lines(text), delimiter=fmt.delimiter, strict=False)
        try:
            yield from reader
        except csv.Error as error:
            raise MalformedCsv(
                f"The file is not valid CSV near line {reader.line_num}: {error}."
                " Is a quote left open?"
            ) from None
    finally:
        text.detach()


def _clean_lines(lines: Iterable[str]) -> Iterator[str]:
    iterator = iter(lines)
    first = next(iterator, None)
    if first is None:
        return
    first = first.removeprefix("\ufeff")
    yield first.replace("\x00", "") if "\x00" in first else first
    for line in iterator:
        yield line.replace("\x00", "") if "\x00" in line else line
