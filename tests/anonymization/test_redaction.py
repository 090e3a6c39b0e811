"""Free-text redaction: realistic Indonesian case notes, token consistency, speed."""

from __future__ import annotations

import itertools
import random
import re

import pandas as pd
import pytest

from anonymization.redaction import RedactionResult, Redactor, scan_for_pii
from anonymization.tokens import Tokenizer

KEY = b"redaction-test-key-32-bytes-long"

CHILD, MOTHER, FATHER = "Budi Santoso", "Siti Aminah", "Agus Wijaya"
TABLE_PHONE = "081234567890"  # as stored in the guardians table
NIK_CHILD = "3201011203150001"
NIK_MOTHER = "3201015203850002"

NOTE = (
    "Kunjungan rumah 12 Januari 2024. Ibu Siti Aminah (HP +62 812-3456-7890, email "
    "siti.aminah@gmail.com) melaporkan bahwa Budi belum kembali ke sekolah. "
    "NIK anak 3201 0112 0315 0001, NIK ibu 3201015203850002, No. KK: 3201011203159999. "
    "Ayah (agus) bekerja di luar kota, dapat dihubungi di 0813-9876-5432. "
    "Bantuan sembako nomor pesanan 9912345678901234 sudah diterima. "
    "BUDI SANTOSO lahir 03/08/2015."
)
KNOWN = {"person_name": [CHILD, MOTHER, FATHER], "phone": [TABLE_PHONE]}


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer(KEY)


@pytest.fixture(scope="module")
def redactor(tokenizer: Tokenizer) -> Redactor:
    return Redactor(tokenizer)


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def test_realistic_note_is_fully_redacted(redactor: Redactor) -> None:
    out = redactor.redact(NOTE, KNOWN).text
    lowered = out.lower()
    for word in ["budi", "santoso", "siti", "aminah", "agus", "wijaya", "gmail"]:
        assert word not in lowered, (word, out)
    digits = _digits(out)
    for number in [NIK_CHILD, NIK_MOTHER, "3201011203159999", "81234567890", "81398765432"]:
        assert number not in digits, (number, out)
    assert "12 Januari 2024" not in out and "03/08/2015" not in out
    assert out.count("[date]") == 2
    assert scan_for_pii(out) == []


def test_tokens_in_notes_equal_table_tokens(redactor: Redactor, tokenizer: Tokenizer) -> None:
    out = redactor.redact(NOTE, KNOWN).text
    phone_token = tokenizer.token("phone", TABLE_PHONE)
    assert f"[phone:{phone_token}]" in out
    # a phone NOT in `known` is found by the pattern and gets its table token too
    assert f"[phone:{tokenizer.token('phone', '+6281398765432')}]" in out
    assert f"[nik:{tokenizer.token('nik', NIK_CHILD)}]" in out
    assert f"[nik:{tokenizer.token('nik', NIK_MOTHER)}]" in out
    assert f"[kk_number:{tokenizer.token('kk_number', '3201011203159999')}]" in out
    assert f"[email:{tokenizer.token('email', 'Siti.Aminah@gmail.com')}]" in out
    child = f"[person_name:{tokenizer.token('person_name', CHILD)}]"
    assert out.count(child) == 2  # "Budi" alone (rare enough) and "BUDI SANTOSO"
    # "agus" alone: 1,901 of KPU's 257,208 candidates carry it, so it names a person, not which
    assert f"[person_name:{tokenizer.token('person_name', FATHER)}]" not in out
    assert "Ayah ([person])" in out


def test_order_number_failing_nik_structure_is_kept(redactor: Redactor) -> None:
    result = redactor.redact(NOTE, KNOWN)
    assert "9912345678901234" in result.text
    assert not any(NOTE[start:end] == "9912345678901234" for _, start, end in result.entities)


def test_entities_are_spans_of_the_original_text(redactor: Redactor) -> None:
    result = redactor.redact(NOTE, KNOWN)
    spans = {(kind, NOTE[start:end]) for kind, start, end in result.entities}
    assert ("ID_NIK", "3201 0112 0315 0001") in spans
    assert ("ID_KK", "3201011203159999") in spans
    assert ("EMAIL_ADDRESS", "siti.aminah@gmail.com") in spans
    starts = [start for _, start, _ in result.entities]
    assert starts == sorted(starts)
    assert all(a[2] <= b[1] for a, b in itertools.pairwise(result.entities))  # no overlaps


def test_overlaps_keep_the_longest(redactor: Redactor, tokenizer: Tokenizer) -> None:
    # "budi" (known name) inside an e-mail address: the whole address is one entity
    out = redactor.redact("email budi.santoso@yahoo.co.id", {"person_name": [CHILD]}).text
    assert out == f"email [email:{tokenizer.token('email', 'budi.santoso@yahoo.co.id')}]"


def test_adjacent_names_are_not_merged(redactor: Redactor, tokenizer: Tokenizer) -> None:
    known = {"person_name": [CHILD, MOTHER]}
    out = redactor.redact("Budi Santoso Siti Aminah bermain", known).text
    budi = tokenizer.token("person_name", CHILD)
    siti = tokenizer.token("person_name", MOTHER)
    assert out == f"[person_name:{budi}] [person_name:{siti}] bermain"
    # Words of two known people run together may be a third person ("Budi Siti"): nobody's token
    assert redactor.redact("Budi Siti bermain", known).text == "[person] bermain"


def test_notes_without_pii_are_unchanged(redactor: Redactor) -> None:
    text = "Anak mengikuti kegiatan belajar kelompok 3 kali seminggu di kelas 5."
    assert redactor.redact(text, KNOWN) == RedactionResult(text, [])
    assert redactor.redact(None).text == ""
    assert redactor.redact("").text == ""


def test_redact_series(redactor: Redactor, tokenizer: Tokenizer) -> None:
    texts = pd.Series(["Budi sakit", None, "", "hubungi 0812 3456 7890"], index=[5, 6, 7, 8])
    out = redactor.redact_series(texts, [KNOWN, KNOWN, None, None])
    assert list(out.index) == [5, 6, 7, 8]
    assert out[5] == f"[person_name:{tokenizer.token('person_name', CHILD)}] sakit"
    assert out[6] is None and out[7] == ""
    assert out[8] == f"hubungi [phone:{tokenizer.token('phone', TABLE_PHONE)}]"
    with pytest.raises(ValueError):
        redactor.redact_series(texts, [KNOWN])


def test_scan_for_pii_reports_types_not_values() -> None:
    found = scan_for_pii(NOTE)
    # Names too: a name that escaped redaction blocks publication.
    assert sorted(set(found)) == ["EMAIL_ADDRESS", "ID_KK", "ID_NIK", "ID_PERSON", "ID_PHONE"]
    assert sorted(set(scan_for_pii(NOTE, prose=False))) == [
        "EMAIL_ADDRESS",
        "ID_KK",
        "ID_NIK",
        "ID_PHONE",
    ]
    assert found.count("ID_NIK") == 2
    assert all("@" not in f and not any(c.isdigit() for c in f) for f in found)
    assert scan_for_pii(None) == [] and scan_for_pii("total 1234 anak") == []
    assert scan_for_pii("Anak dijemput oleh pamannya, Pak Yusuf Hasibuan.") == ["ID_PERSON"]
    assert scan_for_pii("tinggal di Jl. Melati No. 5 RT 02/RW 03") == ["ID_ADDRESS"]
    # Codes, categories and the names of places and institutions are not names.
    for value in ["panti_asuhan_keagamaan", "Kota Bandung", "Nusa Tenggara Timur", "2026-Q1"]:
        assert scan_for_pii(value) == [], value


def test_scan_ignores_our_own_tokens(tokenizer: Tokenizer) -> None:
    tokens = [tokenizer.token("nik", f"32010112031{i:05d}") for i in range(20_000)]
    text = " ".join(f"[nik:{t}]" for t in tokens)
    assert scan_for_pii(text) == []


def _synthetic_notes(n: int) -> tuple[list[str], list[dict[str, list[str]]]]:
    rng = random.Random(11)
    first = ["Budi", "Siti", "Agus", "Dewi", "Rina", "Joko", "Putri", "Ahmad", "Wayan", "Intan"]
    last = ["Santoso", "Aminah", "Wijaya", "Lestari", "Hidayat", "Saputra", "Nasution", "Kusuma"]
    template = (
        "Kunjungan tanggal 12 Januari 2024. {c} tinggal bersama ibunya {g}. Kondisi rumah "
        "cukup baik, anak terlihat sehat. {f} sudah kembali bersekolah sejak minggu lalu. Ibu "
        "dapat dihubungi di {p}. Tindak lanjut: koordinasi dengan sekolah dan puskesmas."
    )
    notes, known = [], []
    for _ in range(n):
        c = f"{rng.choice(first)} {rng.choice(last)}"
        g = f"{rng.choice(first)} {rng.choice(last)}"
        p = "08" + "".join(rng.choice("0123456789") for _ in range(10))
        notes.append(template.format(c=c, g=g, f=c.split()[0], p=p))
        known.append({"person_name": [c, g], "phone": [p]})
    return notes, known


def test_a_batch_is_redacted_note_by_note(redactor: Redactor) -> None:
    """Speed is measured by bench/redaction.py, not here."""
    notes, known = _synthetic_notes(1500)
    out = redactor.redact_series(pd.Series(notes), known)
    assert all("[phone:ph_" in text for text in out)


def test_large_batches_are_redacted_in_worker_processes_to_the_same_text(
    tokenizer: Tokenizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers find the spans, the parent (which alone holds the key) puts the tokens in."""
    import anonymization.redaction as redaction

    notes, known = _synthetic_notes(300)
    texts = pd.Series([*notes, None], index=range(10, 311))
    rows = [*known, None]
    alone = Redactor(tokenizer, workers=1).redact_series(texts, rows)
    monkeypatch.setattr(redaction, "PARALLEL_MIN_NOTES", 100)
    monkeypatch.setattr(redaction, "_CHUNK", 64)
    together = Redactor(tokenizer, workers=2).redact_series(texts, rows)
    assert together.equals(alone)
    assert together.index.equals(texts.index) and together.iloc[-1] is None


def test_a_whole_name_that_may_be_another_persons_is_not_linked(
    redactor: Redactor, tokenizer: Tokenizer
) -> None:
    """ "Faridah" when the record holds "Faridah" and "Mahani Faridah", or a name held twice:
    either person may be meant, so neither token is shown (issue #9: no wrong link)."""
    known = {
        "person_name": ["Faridah", "Mahani Faridah", "Margarita Taneo", "Margarita Dina Taneo"]
    }
    text = "Faridah datang bersama Mahani Faridah; Margarita Taneo menelepon Margarita Dina Taneo."
    out = redactor.redact(text, known).text
    full = tokenizer.token("person_name", "Mahani Faridah")
    dina = tokenizer.token("person_name", "Margarita Dina Taneo")
    assert out == (
        f"[person] datang bersama [person_name:{full}]; [person] menelepon [person_name:{dina}]."
    )


def test_a_batch_leaves_the_callers_collector_thresholds_as_they_were(
    redactor: Redactor,
) -> None:
    import gc

    before = gc.get_threshold()
    redactor.redact_series(pd.Series(["Pak Budi, HP 0812 3456 7890", None]), None)
    assert gc.get_threshold() == before
