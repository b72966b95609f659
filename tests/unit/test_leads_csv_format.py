"""Reading lead CSV files: encoding, delimiter and header detection, streaming records."""

from __future__ import annotations

import csv
import io
import runpy
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from scaliyo.domain.leads.column_mapping import header_names
from scaliyo.domain.leads.csv_format import (
    DELIMITERS,
    FIELD_SIZE_LIMIT,
    UNDECODABLE,
    CsvFormat,
    MalformedCsv,
    UnreadableFile,
    read_records,
    sniff,
)
from scaliyo.domain.shared.errors import ValidationFailed

FIXTURES = Path(__file__).parents[1] / "fixtures" / "imports"
MAKER = runpy.run_path(str(FIXTURES / "make_fixtures.py"))
EXPECTED: dict[str, tuple[str, str, bool] | str] = MAKER["EXPECTED"]


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def records_of(data: bytes, *, complete: bool = True) -> tuple[CsvFormat, list[list[str]]]:
    fmt = sniff(data, complete=complete)
    return fmt, list(read_records(io.BytesIO(data), fmt))


# --- the fixture files ---------------------------------------------------------------------


def test_the_fixture_files_are_what_the_script_makes():
    assert sorted(MAKER["fixtures"]()) == sorted(EXPECTED)
    for name, data in MAKER["fixtures"]().items():
        assert fixture(name) == data, f"{name}: run tests/fixtures/imports/make_fixtures.py"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_fixture_is_sniffed_as_expected(name):
    expected = EXPECTED[name]
    if isinstance(expected, str):
        with pytest.raises(UnreadableFile) as raised:
            sniff(fixture(name), complete=True)
        assert raised.value.code == expected
        assert isinstance(raised.value, ValidationFailed)
        assert raised.value.detail
    else:
        fmt = sniff(fixture(name), complete=True)
        assert (fmt.encoding, fmt.delimiter, fmt.has_header) == expected


def test_a_utf8_bom_is_dropped_and_quoted_commas_kept():
    _, records = records_of(fixture("apollo_bom.csv"))
    assert records[0][0] == "First Name"
    assert records[1][:4] == ["Jane", "Doe", "VP, Sales", "Acme Inc."]
    assert len(records) == 3


def test_utf16_text_comes_back_whole():
    _, records = records_of(fixture("hubspot_utf16.csv"))
    assert records[1] == ["zoë@müller.de", "Zoë", "Müller", "Müller & Söhne", "Germany"]
    assert records[2][1:4] == ["李", "王", "北京公司"]


def test_windows_1252_with_semicolons_keeps_accents_and_decimal_commas():
    _, records = records_of(fixture("windows1252_semicolon.csv"))
    assert records[1] == ["rene@cafe.fr", "René", "Crème", "Café Noël SARL", "Orléans", "1250,50"]
    assert records[2][3] == "Étoile — € 5"


def test_quoted_line_breaks_and_quotes_stay_in_their_cell():
    _, records = records_of(fixture("quoted_newlines.csv"))
    assert records[1][2] == 'Met at the fair.\nCall back, maybe "soon".\r\nBye'
    assert len(records) == 3


def test_formulas_are_read_as_the_text_they_are():
    _, records = records_of(fixture("formulas.csv"))
    assert records[1][1] == '=HYPERLINK("http://evil.com","click")'
    assert records[2][1:] == ["+cmd|' /C calc'!A0", "@SUM(A1)"]


def test_a_ten_thousand_character_cell_is_read():
    _, records = records_of(fixture("long_cells.csv"))
    assert records[1] == ["long@example.com", MAKER["LONG_NOTE"]]
    assert len(records[1][1]) == 10_000


def test_ragged_rows_are_returned_as_they_are():
    _, records = records_of(fixture("ragged_rows.csv"))
    assert records[1] == ["a@example.com", "Ann"]
    assert records[2] == ["b@example.com", "Ben", "Bell", "Bell Co", "extra", "more"]
    assert records[3] == []  # the blank line
    assert records[4] == ["c@example.com", "Cat", "Cole", "Cole Co"]


def test_nul_bytes_are_dropped():
    _, records = records_of(fixture("pipes_with_nul.csv"))
    assert records[1] == ["nul@example.com", "Nul Corp", "Head of Sales"]


def test_duplicate_and_blank_headers_get_distinct_names():
    fmt, records = records_of(fixture("duplicate_headers.csv"))
    assert fmt.has_header
    width = max(map(len, records))
    assert header_names(records[0], width) == ["Email", "Name", "Email (2)", "column_4", "Phone"]


def test_a_file_without_a_header_starts_with_data():
    fmt, records = records_of(fixture("no_header.csv"))
    assert not fmt.has_header
    assert records[0] == ["jane@acme.com", "Jane", "Doe", "Acme"]


# --- sniffing rules --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty_file"),
        (b"  \r\n\r\n", "empty_file"),
        (b"\xef\xbb\xbf", "empty_file"),
        (b"\xff\xfe", "empty_file"),
        (b"PK\x03\x04\x14\x00\x06\x00", "binary_file"),  # an .xlsx workbook
        (b"%PDF-1.7\n", "binary_file"),
        (bytes(range(256)) * 8, "binary_file"),
        (b"Email\r\n\r\n", "no_data_rows"),
        (bytes(range(128, 256)) * 4, "unknown_encoding"),
    ],
)
def test_unreadable_files_say_why(data, code):
    with pytest.raises(UnreadableFile) as raised:
        sniff(data, complete=True)
    assert raised.value.code == code


def test_a_header_only_sample_of_a_bigger_file_is_not_refused():
    assert sniff(b"First Name,Email\r\n", complete=False).has_header


def test_utf16_without_a_mark_is_recognised():
    data = "Email,Name\r\nzoë@x.de,Zoë\r\n".encode("utf-16-be")
    fmt, records = records_of(data)
    assert fmt.encoding == "utf-16-be"
    assert records == [["Email", "Name"], ["zoë@x.de", "Zoë"]]


def test_a_multibyte_character_cut_at_the_end_of_a_sample_is_still_utf8():
    data = "Email,Name\nzoe@x.de,Zoë\nann@x.de,Ann Lindström\n".encode()
    cut = data[: data.index("ö".encode()) + 1]  # half of the ö
    assert sniff(cut, complete=False).encoding == "utf-8"
    # more bytes fail than characters read: not UTF-8
    assert sniff(cut[:-1] + b"\xff\xfe", complete=False).encoding != "utf-8"


def test_legacy_code_pages_other_than_windows_1252_are_told_apart():
    cyrillic = (
        "Email,Имя,Компания\nivan@x.ru,Иван Петров,Рога и копыта\nolga@y.ru,Ольга Смирнова,"
        "ООО Ромашка\n"
    ).encode("cp1251")
    fmt, records = records_of(cyrillic)
    assert fmt.encoding == "cp1251"
    assert records[1] == ["ivan@x.ru", "Иван Петров", "Рога и копыта"]
    western = "Email,Name,Company\nx@y.fr,Noël O’Brien,Acme™ Crème\n".encode("cp1252")
    assert records_of(western)[1][1] == ["x@y.fr", "Noël O’Brien", "Acme™ Crème"]


def test_utf8_with_a_few_legacy_bytes_stays_utf8_and_its_stray_rows_are_marked():
    """Rows pasted from a Windows-1252 export into a UTF-8 file: read as Windows-1252, every
    other accent would be misread ("ZoÃ«"); read as UTF-8, only the stray bytes are marked."""
    utf8_rows = "".join(f"p{n}@x.example,Zoë Ångström\n" for n in range(3)).encode()
    data = b"Email,Name\n" + utf8_rows + b"jose@x.example,Jos\xe9\n"
    fmt, records = records_of(data)
    assert fmt.encoding == "utf-8"
    assert records[1] == ["p0@x.example", "Zoë Ångström"]
    assert records[4] == ["jose@x.example", f"Jos{UNDECODABLE}"]
    mostly_legacy = (
        b"Email,Name\n"
        + "".join(f"p{n}@x.example,Noël Müller\n" for n in range(3)).encode("cp1252")
        + "z@x.example,Zoë\n".encode()
    )
    assert records_of(mostly_legacy)[0].encoding == "cp1252"
    # one UTF-8 row and one pasted row are enough; a "�" the file holds is not a failure
    one_each = "a@x.example,José O’Brien\n".encode() + "b@x.example,Renée\n".encode("cp1252")
    assert records_of(b"Email,Name\n" + one_each)[0].encoding == "utf-8"
    damaged = "".join(f"p{n}@x.example,M\ufffdller\n" for n in range(40)).encode()
    stray = "r@x.example,Renée\n".encode("cp1252")
    assert records_of(b"Email,Name\n" + damaged + stray)[0].encoding == "utf-8"


def test_a_single_column_file_uses_a_comma():
    fmt, records = records_of(b"Email\njane@acme.com\nbob@beta.io\n")
    assert fmt == CsvFormat(encoding="utf-8", delimiter=",", has_header=True)
    assert records[2] == ["bob@beta.io"]


def test_the_delimiter_is_the_consistent_one_not_the_most_frequent():
    data = b"Name;Address;Email\nJane;1, Main St, Paris, France;j@x.com\nBob;2 Elm St;b@y.com\n"
    assert sniff(data, complete=True).delimiter == ";"
    data = b'Name,Note,Email\nJane,"a;b;c;d",j@x.com\nBob,"e;f",b@y.com\n'
    assert sniff(data, complete=True).delimiter == ","


def test_labels_above_columns_of_values_are_a_header_even_when_unknown():
    assert sniff(b"Who,Where\njane@x.com,https://x.com\nbob@y.com,https://y.com\n", complete=True)
    assert sniff(b"Who,Where\njane@x.com,https://x.com\n", complete=True).has_header
    assert not sniff(b"Jane,Doe,Acme\nBob,Roe,Beta\n", complete=True).has_header
    assert not sniff(b"jane@x.com,Jane\n", complete=True).has_header


def test_the_last_partial_line_of_a_sample_does_not_decide_the_delimiter():
    data = b"Email;Name\njane@x.com;Jane\nbob@y.com;Bob\nann@z.com,Ann,, "
    assert sniff(data, complete=False).delimiter == ";"


# --- reading rules -------------------------------------------------------------------------


def test_bytes_that_are_not_text_in_the_encoding_are_marked_not_replaced():
    """A file told UTF-8 from its start with Windows-1252 bytes later: each malformed
    sequence reads as ``UNDECODABLE`` (a noncharacter, not the "�" a file may hold), and the
    text around it is kept."""
    fmt = CsvFormat(encoding="utf-8", delimiter=",", has_header=True)
    data = "Email,Name\r\nzoe@x.example,Zoë \ufffd\r\n".encode() + b"jose@x.example,Jos\xe9\r\n"
    records = list(read_records(io.BytesIO(data), fmt))
    assert records[1] == ["zoe@x.example", "Zoë \ufffd"]  # a "�" the file holds stays one
    assert records[2] == ["jose@x.example", f"Jos{UNDECODABLE}"]
    utf16 = CsvFormat(encoding="utf-16", delimiter=",", has_header=False)
    broken = "a,b\r\n".encode("utf-16") + b"\x00\xd8,\x00"  # a lone surrogate half
    assert UNDECODABLE in "".join(
        cell for record in read_records(io.BytesIO(broken), utf16) for cell in record
    )


def test_a_mark_is_dropped_even_when_the_format_says_plain_utf8():
    fmt = CsvFormat(encoding="utf-8", delimiter=",", has_header=True)
    assert next(read_records(io.BytesIO(b"\xef\xbb\xbfEmail\n"), fmt)) == ["Email"]


def test_an_unclosed_quote_beyond_the_cell_limit_is_malformed_csv():
    data = b'Email,Notes\nj@x.com,"' + b"x" * (FIELD_SIZE_LIMIT + 10)
    fmt = CsvFormat(encoding="utf-8", delimiter=",", has_header=True)
    with pytest.raises(MalformedCsv) as raised:
        list(read_records(io.BytesIO(data), fmt))
    assert raised.value.code == "malformed_csv"


class CountingStream(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.read_bytes = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.read_bytes += len(chunk)
        return chunk

    def read1(self, size: int = -1) -> bytes:
        chunk = super().read1(size)
        self.read_bytes += len(chunk)
        return chunk


def test_records_are_read_as_the_file_is_read_not_all_at_once():
    data = b"Email,Name\n" + b"someone@example.com,Some One\n" * 100_000
    stream = CountingStream(data)
    records = read_records(stream, CsvFormat(encoding="utf-8", delimiter=",", has_header=True))
    assert next(records) == ["Email", "Name"]
    assert next(records) == ["someone@example.com", "Some One"]
    assert stream.read_bytes < len(data) // 10


def test_the_stream_stays_open_to_be_read_again():
    stream = io.BytesIO(b"Email\na@x.com\nb@x.com\n")
    fmt = CsvFormat(encoding="utf-8", delimiter=",", has_header=True)
    first = read_records(stream, fmt)
    next(first)
    first.close()  # abandoned half-way
    assert not stream.closed
    stream.seek(0)
    assert len(list(read_records(stream, fmt))) == 3
    assert not stream.closed
    stream.seek(0)
    assert stream.read(5) == b"Email"


# --- header names --------------------------------------------------------------------------


def test_header_names_without_a_header_are_numbered():
    assert header_names(None, 3) == ["column_1", "column_2", "column_3"]
    assert header_names(None, 0) == []


def test_header_names_are_stripped_unique_and_cover_every_column():
    names = header_names([" Email ", "email", "", "column_3", "EMAIL"], 7)
    assert names == ["Email", "email (2)", "column_3", "column_3 (2)", "EMAIL (3)", "column_6",
                     "column_7"]  # fmt: skip


@given(st.lists(st.text(max_size=8, alphabet=st.sampled_from("aA b_1()")), max_size=8),
       st.integers(0, 10))  # fmt: skip
def test_header_names_are_always_distinct_and_one_per_column(cells, width):
    names = header_names(cells, width)
    assert len(names) == max(width, len(cells))
    assert len({name.casefold() for name in names}) == len(names)
    assert all(name and name == name.strip() for name in names)


# --- round trips ---------------------------------------------------------------------------

CP1252_TEXT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .-'&éèêàâçüöäßñÉÖ€"
UNICODE = st.one_of(
    st.characters(exclude_categories=["Cs", "Cc"], exclude_characters="\ufeff"),
    st.sampled_from('"\n\r\t'),
)
TEXT_CHARS = {
    "utf-8": UNICODE,
    "utf-8-sig": UNICODE,
    "utf-16": UNICODE,
    "cp1252": st.sampled_from(CP1252_TEXT + '"\n\r,;\t|'),
}
HEADER = ["Email", "First Name", "Last Name", "Company", "Title", "City"]


@st.composite
def tables(draw, *, encoding: str, delimiter: str | None = None):
    width = draw(st.integers(2, 6))
    rows = draw(st.integers(1, 6))
    chosen = delimiter or draw(st.sampled_from(DELIMITERS))
    others = "".join(d for d in DELIMITERS if d != chosen)
    cell = st.text(TEXT_CHARS[encoding], max_size=12).map(
        lambda text: "".join(ch for ch in text if ch not in others)
    )
    body = [
        [f"person{row}@example.com", *draw(st.lists(cell, min_size=width - 1, max_size=width - 1))]
        for row in range(rows)
    ]
    header = draw(st.booleans())
    return chosen, ([HEADER[:width]] if header else []) + body, header


def csv_bytes(records: list[list[str]], delimiter: str, encoding: str) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(records)
    return out.getvalue().encode(encoding)


def same_text_encoding(found: str, written: str) -> bool:
    if written == "cp1252":
        return found in {"cp1252", "utf-8"}  # all-ASCII text is also UTF-8
    return found == written


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1252"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_written_table_is_sniffed_and_read_back_exactly(encoding, data):
    delimiter, records, header = data.draw(tables(encoding=encoding))
    raw = csv_bytes(records, delimiter, encoding)
    fmt, back = records_of(raw)
    assert same_text_encoding(fmt.encoding, encoding)
    assert fmt.delimiter == delimiter
    assert fmt.has_header == header
    assert back == records


@settings(max_examples=60, deadline=None)
@given(data=st.data(), cut=st.integers(1, 400))
def test_any_prefix_of_a_file_sniffs_or_is_refused_with_a_code(data, cut):
    encoding = data.draw(st.sampled_from(sorted(TEXT_CHARS)))
    delimiter, records, _ = data.draw(tables(encoding=encoding))
    raw = csv_bytes(records, delimiter, encoding)
    assume(cut < len(raw))
    try:
        fmt = sniff(raw[:cut], complete=False)
    except UnreadableFile as refused:
        assert refused.code in {"empty_file", "binary_file", "unknown_encoding"}
        return
    assert fmt.delimiter in DELIMITERS
    list(read_records(io.BytesIO(raw[:cut]), fmt))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300), st.booleans())
def test_any_bytes_sniff_to_a_readable_format_or_a_coded_refusal(raw, complete):
    try:
        fmt = sniff(raw, complete=complete)
    except UnreadableFile as refused:
        assert refused.code in {"empty_file", "binary_file", "unknown_encoding", "no_data_rows"}
        return
    assert fmt.delimiter in DELIMITERS
    for record in read_records(io.BytesIO(raw), fmt):
        assert all("\x00" not in cell for cell in record)
