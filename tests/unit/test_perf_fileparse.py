"""UTF-8 files are checked on their bytes (never decoded whole); every verdict equals the one the decoded
text gets. The same content sent as UTF-16 with its mark goes through the decoded-text path, so the two
must agree on the table, the rejected rows and every reason."""

import pytest

from datafactory.sources.fileparse import FileRejected, parse_csv

pytestmark = pytest.mark.unit

BODIES = [
    "a,b\n1,2\n",
    "a,b\r\n1,中\r\n",
    "a,b\n1,中文",
    "a,b\n1,2\n\x1a",
    "a,b\n1,2\x1a",
    "a,b\n1,2\n\x1a\x1a\r\n",
    " \n",
    "\u3000\n",
    "\u3000x\n",
    "\x1c\n",
    "a,b\n1,\x00\n",
    "报表标题\na,b\n1,2\n3,4\n",
    "a,b,\n1,2,\n3,4,5\n",
    "a,b\n1,2\n合计,3\n",
    "a,b\n1,2\na,b\n,\n",
    "a,b\n1,2,3\n4,5\n",
    'a,b\n"x\ny",2\n',
    "a\n" + "中" * 70000 + "\n1\n",
    "a,b\n1,𠮷\n",
    "a,b\n1,2\n\ufeffa,b\n",
]


def _verdict(data: bytes, **options):
    try:
        parsed = parse_csv("f.csv", data, "utf-8", **options)
    except FileRejected as exc:
        return str(exc)
    return parsed.table.to_pydict(), parsed.rejected.drop(columns="_file").to_dict("list"), parsed.layout_rows


@pytest.mark.parametrize("body", BODIES)
@pytest.mark.parametrize("options", [{}, {"header_row": 2}, {"require_final_newline": False}])
def test_utf8_bytes_path_agrees_with_the_decoded_text_path(body, options):
    as_text = _verdict(b"\xff\xfe" + body.encode("utf-16-le"), **options)
    assert _verdict(body.encode("utf-8"), **options) == as_text
    assert _verdict(b"\xef\xbb\xbf" + body.encode("utf-8"), **options) == as_text


@pytest.mark.parametrize("data", [b"a,b\n1,\xe4\xb8\n", b"a,b\n1,\xe4\xb8", b"a,b\n\xff,2\n", b"a,b\n\xed\xa0\x80,1\n"])
def test_invalid_utf8_is_still_rejected_with_its_byte(data):
    with pytest.raises(FileRejected, match=r"not valid utf-8 at byte|truncated"):
        parse_csv("f.csv", data, "utf-8")
