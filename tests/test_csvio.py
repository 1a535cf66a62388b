"""read_csv_safely: the one CSV reader behind uploads and `predict --csv` — encodings, separators, limits, errors."""
import io
import time
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bigmodel_core.data import csvio
from bigmodel_core.data.csvio import read_csv_safely
from bigmodel_core.errors import DataError

CHINESE = "名字,城市,评分\n张三,北京,4.5\n李四,上海,3.0\n"


# ----------------------------------------------------------------------------- encodings

def test_utf8_file_reads_with_its_encoding_named(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("name,city,score\nJosé,Zürich,1.5\nАнна,Москва,2\n", encoding="utf-8")
    frame, encoding = read_csv_safely(path, with_encoding=True)
    assert list(frame.columns) == ["name", "city", "score"]
    assert frame["name"].tolist() == ["José", "Анна"] and frame["city"].tolist() == ["Zürich", "Москва"]
    assert frame["score"].tolist() == [1.5, 2.0]
    assert encoding.replace("-sig", "") == "utf-8"


def test_utf8_bom_does_not_leak_into_the_first_column_name(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("id,名字\n1,张三\n2,李四\n".encode("utf-8-sig"))
    frame, encoding = read_csv_safely(str(path), with_encoding=True)
    assert list(frame.columns) == ["id", "名字"]                        # not "\ufeffid"
    assert frame["id"].tolist() == [1, 2] and frame["名字"].tolist() == ["张三", "李四"]
    assert encoding.startswith("utf-8")


def test_gbk_chinese_file_is_decoded_and_named(tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes(CHINESE.encode("gbk"))
    frame, encoding = read_csv_safely(path, with_encoding=True)
    assert list(frame.columns) == ["名字", "城市", "评分"]
    assert frame["城市"].tolist() == ["北京", "上海"] and frame["评分"].tolist() == [4.5, 3.0]
    assert encoding in ("gbk", "gb2312", "gb18030")


def test_cp1252_file_with_accents_before_separators_is_decoded_and_named(tmp_path):
    text = "name,dish\nJosé,café au lait\nFrançois,crème brûlée\n"
    path = tmp_path / "latin.csv"
    path.write_bytes(text.encode("cp1252"))
    frame, encoding = read_csv_safely(path, with_encoding=True)
    assert frame["name"].tolist() == ["José", "François"]
    assert frame["dish"].tolist() == ["café au lait", "crème brûlée"]
    assert encoding == "cp1252"


def test_cp1252_file_with_accents_inside_words_is_not_read_as_chinese():
    frame, encoding = read_csv_safely("name,city\nMüller,Zürich\nJürgen,München\n".encode("cp1252"),
                                      with_encoding=True)
    assert frame["city"].tolist() == ["Zürich", "München"]
    assert encoding == "cp1252"


def test_undecodable_bytes_are_a_data_error():
    # 0x81 is undefined in cp1252 and not a valid GB18030 sequence here; not UTF-8 either
    with pytest.raises(DataError):
        read_csv_safely(b"a,b\n\x81,\x81\n")


# ----------------------------------------------------------------------------- separators and shapes

def test_semicolon_separated_file_gives_separate_columns():
    frame = read_csv_safely(b"Name;Preis;Menge\nBrot;2,50;3\nMilch;1,20;1\n")
    assert list(frame.columns) == ["Name", "Preis", "Menge"]
    assert frame["Name"].tolist() == ["Brot", "Milch"] and frame["Menge"].tolist() == [3, 1]
    assert frame.shape == (2, 3)


def test_empty_file_is_a_clear_error(tmp_path):
    for content in (b"", b"   \n\n  \r\n"):
        (tmp_path / "empty.csv").write_bytes(content)
        with pytest.raises(DataError, match="empty"):
            read_csv_safely(tmp_path / "empty.csv")


def test_header_only_file_says_there_are_no_rows():
    with pytest.raises(DataError, match="no rows"):
        read_csv_safely(b"sepal_length,sepal_width,species\n")


def test_duplicated_column_names_are_named_in_the_error():
    with pytest.raises(DataError, match="Duplicated column names: price") as info:
        read_csv_safely(b"item,price,price\napple,1,2\n")
    assert info.value.hint


def test_missing_path_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="Cannot read"):
        read_csv_safely(tmp_path / "nope.csv")


# ----------------------------------------------------------------------------- size limit

def test_file_over_the_limit_is_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "rows.csv"
    path.write_text("a,b\n" + "1,2\n" * 300)                   # 1,204 bytes

    def no_read(self, *a, **k):
        raise AssertionError("the file was read although stat() showed it is over the limit")

    monkeypatch.setattr(Path, "read_bytes", no_read)
    monkeypatch.setattr(Path, "open", no_read)
    with pytest.raises(DataError, match="too large"):
        read_csv_safely(path, max_bytes=1_000)
    monkeypatch.undo()
    assert read_csv_safely(path, max_bytes=2_000).shape == (300, 2)   # under the limit it reads


def test_huge_sparse_file_is_refused_from_stat_alone(tmp_path, monkeypatch):
    path = tmp_path / "huge.csv"
    with open(path, "wb") as f:
        f.write(b"a,b\n1,2\n")
        f.truncate(csvio.MAX_CSV_BYTES + 10 * 1024 * 1024)          # 60 MB, sparse: no disk used
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("read a file over the limit"))
    t0 = time.perf_counter()
    with pytest.raises(DataError, match=r"too large \(63 MB; the limit is \d+ MB\)"):
        read_csv_safely(path)
    assert time.perf_counter() - t0 < 0.5


def test_file_object_over_the_limit_is_refused_without_reading_all_of_it():
    class Upload:                               # a file-like object with read() only (no getvalue)
        def __init__(self, data):
            self.stream, self.asked = io.BytesIO(data), []

        def read(self, n=-1):
            self.asked.append(n)
            return self.stream.read(n)

    up = Upload(b"a,b\n" + b"1,2\n" * 10_000)
    with pytest.raises(DataError, match="too large"):
        read_csv_safely(up, max_bytes=500)
    assert up.asked and all(0 <= n <= 501 for n in up.asked)
    with pytest.raises(DataError, match="too large"):
        read_csv_safely(b"a,b\n" + b"1,2\n" * 200, max_bytes=500)


# ----------------------------------------------------------------------------- input kinds

def test_bytes_and_file_object_inputs_give_the_same_frame(tmp_path):
    data = b"x,y,label\n1,2.5,cat\n3,4.5,dog\n"
    (tmp_path / "f.csv").write_bytes(data)
    ref = read_csv_safely(tmp_path / "f.csv")
    pd.testing.assert_frame_equal(read_csv_safely(data), ref)
    pd.testing.assert_frame_equal(read_csv_safely(bytearray(data)), ref)
    pd.testing.assert_frame_equal(read_csv_safely(io.BytesIO(data)), ref)
    with open(tmp_path / "f.csv", "rb") as fb:
        pd.testing.assert_frame_equal(read_csv_safely(fb), ref)
    with open(tmp_path / "f.csv", encoding="utf-8") as ft:                # text mode: read() gives str
        pd.testing.assert_frame_equal(read_csv_safely(ft), ref)
    frame, encoding = read_csv_safely(io.BytesIO(CHINESE.encode("gbk")), with_encoding=True)
    assert frame["名字"].tolist() == ["张三", "李四"] and encoding == "gb18030"


def test_stringio_input_reads_like_bytes():
    frame = read_csv_safely(io.StringIO("x,y\n1,2\n"))
    assert frame.to_dict("list") == {"x": [1], "y": [2]}


def test_giant_first_field_is_a_data_error_not_a_csv_error():
    with pytest.raises(DataError):
        read_csv_safely(b'"' + b"x" * 200_000 + b",1\n2,3\n")


def test_windows_line_endings_read_like_unix_ones():
    frame = read_csv_safely(b"a,b\r\n1,2\r\n3,4\r\n")
    assert frame.to_dict("list") == {"a": [1, 3], "b": [2, 4]}


def test_classic_mac_line_endings_read_or_give_a_data_error():
    try:
        frame = read_csv_safely(b"a,b\r1,2\r3,4\r")
    except DataError:
        return
    assert frame.to_dict("list") == {"a": [1, 3], "b": [2, 4]}


# ----------------------------------------------------------------------------- fuzzing

def _outcome(raw):
    try:
        frame = read_csv_safely(raw)
    except DataError as exc:
        assert str(exc)                                     # a message the user can read
        return
    assert isinstance(frame, pd.DataFrame) and len(frame) > 0


FUZZ = settings(max_examples=250, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=600))
def test_arbitrary_bytes_only_ever_raise_data_error(raw):
    _outcome(raw)


CSVISH = st.text(alphabet=st.sampled_from(list('ab1.,;\t|"\'\n\r =-é中\x00\ufeff')), max_size=200)


@FUZZ
@given(CSVISH, st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"]))
def test_arbitrary_csv_like_text_only_ever_raises_data_error(text, encoding):
    _outcome(text.encode(encoding))
