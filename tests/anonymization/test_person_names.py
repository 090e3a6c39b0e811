"""Names of people in notes without a model (``anonymization/person_names.py``): the rules
added from corpus C's misses, each with the ordinary text it must leave alone."""

from __future__ import annotations

import pytest

from anonymization.person_names import shared_person_recognizer


def _names(text: str) -> list[str]:
    return [text[a:b] for a, b, _ in shared_person_recognizer().spans(text)]


def test_a_name_written_again_alone_is_that_name_again() -> None:
    text = "Terjadi perkelahian antara Malem dan Hironimus Sogen. Hironimus mendorong duluan."
    assert "Hironimus" in [n for n in _names(text) if n != "Hironimus Sogen"]


def test_a_word_of_a_found_name_that_is_an_ordinary_word_is_not_a_name_again() -> None:
    text = "Kami bertemu Ibu Lestari Bulan Usop. Bulan depan ada evaluasi."
    second = text.rindex("Bulan")
    spans = shared_person_recognizer().spans(text)
    assert spans and not any(a <= second < b for a, b, _ in spans)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("4. Maman (pekerja sosial, Dinas Sosial)", "Maman"),
        ("Hadir: Lurah, Kho Khiam Fo (ketua RT), dan warga.", "Kho Khiam Fo"),
        ("Kepada Yth. Ratna, S.Psi.\nMohon asesmen.", "Ratna"),
        ("Luka dibersihkan oleh Bd. Zurriyati.", "Zurriyati"),
        ("Termohon: Tukiyem\nAnak: dua orang", "Tukiyem"),
        ('Anak menyebut beberapa nama: "Kasmin", "Jeremy", dan "Retno".', "Jeremy"),
    ],
)
def test_names_told_by_what_is_around_them(text: str, name: str) -> None:
    assert name in _names(text)


def test_the_speakers_of_a_pasted_chat() -> None:
    text = "natanael: td sdh ke rmh\nmeiske: sdh lapor ke polsek?\nnatanael: blm"
    assert {"natanael", "meiske"} <= set(_names(text))


@pytest.mark.parametrize(
    "text",
    [
        "Jadwal piket\nSenin-Rabu: kak Lina\nKamis-Sabtu: relawan",
        "Kontrol ke poli anak RSUD dr. Slamet Garut hari Jumat.",
        "Koordinasi dengan RSUP Dr. Wahidin Sudirohusodo terkait rujukan.",
        "Anak masuk Sekolah Dasar; keluar Jakarta bulan depan.",
    ],
)
def test_labels_days_and_institutions_named_after_people_are_not_people(text: str) -> None:
    names = _names(text)
    assert not any(
        w in n for n in names for w in ("Senin", "Kamis", "Slamet", "Wahidin", "Jakarta")
    )


def test_offices_programmes_and_brands_are_not_people() -> None:
    text = (
        "Hadir perwakilan Puskesmas, Babinsa, dan Bhabinkamtibmas. Pak Lurah mengirim "
        "sambutan. Keluarga yang belum punya KIA diarahkan ke Disdukcapil. Bantuan: Indomie, "
        "Zwitsal, selimut; tiba 09.40 WITA dengan Citilink. Pak Lurah Yohanes Kolo hadir."
    )
    assert _names(text) == ["Yohanes Kolo"]
