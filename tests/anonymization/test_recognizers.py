"""Indonesian identifier recognizers (no NLP model involved)."""

from __future__ import annotations

from anonymization.recognizers import (
    IdDateRecognizer,
    IdEmailRecognizer,
    IdPhoneRecognizer,
    KkRecognizer,
    KnownValuesRecognizer,
    NikRecognizer,
    TextRecognizer,
)


def _spans(recognizer: TextRecognizer, text: str) -> list[str]:
    results = recognizer.analyze(text, recognizer.supported_entities, None)
    return [text[r.start : r.end] for r in sorted(results, key=lambda r: r.start)]


def test_nik_formats_and_rejections() -> None:
    rec = NikRecognizer()
    text = (
        "NIK 3201011203150001, ktp ibu 3201 0152 0385 0002, ayah 32.01.01.120380.0003. "
        "Nomor pesanan 9912345678901234. Rekening 12345678901234567890."
    )
    assert _spans(rec, text) == [
        "3201011203150001",
        "3201 0152 0385 0002",
        "32.01.01.120380.0003",
    ]


def test_kk_only_with_context() -> None:
    rec = KkRecognizer()
    assert _spans(rec, "No. KK: 3201011203150099 dan nomor 3201011203150098") == [
        "3201011203150099"
    ]
    assert _spans(rec, "kartu keluarga nomor 1234 5678 9012 3456") == ["1234 5678 9012 3456"]
    assert _spans(rec, "pesanan 1234567890123456") == []


def test_phone_formats() -> None:
    rec = IdPhoneRecognizer()
    text = (
        "HP +62 812-3456-7890, WA 6281298765432, rumah 0813 1111 2222, "
        "kantor (021) 555-1234, kode 0812345678901234567, lainnya 08123."
    )
    assert _spans(rec, text) == [
        "+62 812-3456-7890",
        "6281298765432",
        "0813 1111 2222",
        "(021) 555-1234",
    ]
    written = [
        "(0812) 34567890",
        "+62 (812) 3456 7890",
        "0812.3456.7890",
        "0812-3456-7890 ext 12",
        "0274-512345",
        "+6281234567890",
    ]
    assert _spans(rec, "; ".join(f"hp {w}" for w in written)) == written
    # dates, money, NIKs and short codes are not phones
    assert (
        _spans(rec, "tgl 12-03-2014, 2014-03-12, Rp 1.500.000, 3201011203150001, 0274 2019") == []
    )


def test_email() -> None:
    rec = IdEmailRecognizer()
    assert _spans(rec, "kirim ke siti.aminah+lksa@dinsos.jabarprov.go.id ya") == [
        "siti.aminah+lksa@dinsos.jabarprov.go.id"
    ]


def test_dates() -> None:
    rec = IdDateRecognizer()
    text = "Lahir 12 Januari 2015, kunjungan 3 Agustus 2020 dan 03/08/2021, rapat 2024-02-29."
    assert _spans(rec, text) == ["12 Januari 2015", "3 Agustus 2020", "03/08/2021", "2024-02-29"]
    assert _spans(rec, "kelas 3 tahun 2020, 45 anak") == []


def test_known_values_match_words_case_insensitively() -> None:
    rec = KnownValuesRecognizer(
        {"person_name": ["Budi Santoso", "Siti Aminah"], "phone": ["081234567890"]}
    )
    text = "BUDI  santoso bermain dengan budi; Budiman bukan Budi. siti\ndatang. +62 812 3456 7890"
    found = [
        (text[r.start : r.end], r.recognition_metadata["canonical"]) for r in rec.analyze(text)
    ]
    assert ("BUDI  santoso", "budi santoso") in found
    assert ("budi", "budi santoso") in found  # first name alone -> full-name token
    assert ("siti", "siti aminah") in found
    assert ("+62 812 3456 7890", "081234567890") in found
    assert not any(span == "Budiman" for span, _ in found)


def test_known_names_are_found_where_casefolding_changes_the_note_length() -> None:
    """ "İ" and "ß" grow when casefolded: positions must still be the note's own."""
    rec = KnownValuesRecognizer({"person_name": ["Budi Santoso"], "address": ["Jl. Straße 4"]})
    text = "İbu İlham: BUDİ? Budi  Santoso ke jl. straße 4 lagi, ßudi."
    found = sorted(text[r.start : r.end] for r in rec.analyze(text))
    assert found == ["Budi", "Budi  Santoso", "Santoso", "jl. straße 4"]  # and its parts


def test_known_names_with_a_typo_match_and_say_so() -> None:
    rec = KnownValuesRecognizer({"person_name": ["Petronela Hutapea"]})
    text = "Petonela Hutappea datang; Petronela juga."
    found = {
        (text[r.start : r.end], r.recognition_metadata.get("exact")) for r in rec.analyze(text)
    }
    assert ("Petonela Hutappea", False) in found
    assert ("Petronela", None) in found


def test_shared_family_name_is_not_attributed_to_one_person() -> None:
    rec = KnownValuesRecognizer({"person_name": ["Budi Santoso", "Rina Santoso"]})
    canonicals = {r.recognition_metadata["canonical"] for r in rec.analyze("Keluarga Santoso")}
    assert canonicals == {"santoso"}


def test_short_known_numbers_are_ignored_but_full_names_are_not() -> None:
    rec = KnownValuesRecognizer({"nik": ["123"], "person_name": ["Al"]})
    text = "kelas 123, Al datang"
    found = [(r.recognition_metadata["domain"], text[r.start : r.end]) for r in rec.analyze(text)]
    assert found == [("person_name", "Al")]


def test_a_single_string_is_one_known_value() -> None:
    rec = KnownValuesRecognizer({"person_name": "Budi Santoso"})
    text = "Budi dan Santoso, bukan B atau u"
    assert [text[r.start : r.end] for r in rec.analyze(text)] == ["Budi", "Santoso"]


def test_addresses_tried_at_head_words_are_what_a_full_scan_finds() -> None:
    """The recognizer runs its pattern only where a head word stands (speed); on every note
    of both corpora and on notes whose lower-casing moves positions it finds the same."""
    from anonymization.places import _ADDRESS, AddressRecognizer
    from tests.support.redaction_corpus import build_corpus
    from tests.support.redaction_corpus_heldout import build_heldout_corpus

    texts = [n.text for n in build_corpus()] + [n.text for n in build_heldout_corpus()]
    texts += ["İbu tinggal di Jl. Merdeka No. 12 RT 03/RW 05, İstanbul Gg. Mawar"]
    found = 0
    for text in texts:
        full = [m.span() for m in _ADDRESS.finditer(text)]
        assert [m.span() for m in AddressRecognizer._matches(text)] == full, text
        found += len(full)
    assert found > 400


def test_dates_in_every_form_met_in_notes() -> None:
    rec = IdDateRecognizer()
    text = (
        "lahir Oct 25, 2025; September 11, 2023; 2 - 04 - 2022; tgl 29 bln 9 thn 2023; "
        "29 Mrt 2025; skor 25, 2025 (no month: not a date)"
    )
    assert _spans(rec, text) == [
        "Oct 25, 2025",
        "September 11, 2023",
        "2 - 04 - 2022",
        "29 bln 9 thn 2023",
        "29 Mrt 2025",
    ]


def test_a_country_code_in_brackets_is_a_phone() -> None:
    text = "hp (+62) 856 1278 67968 atau ( +62 ) 812-3456-7890"
    assert _spans(IdPhoneRecognizer(), text) == ["(+62) 856 1278 67968", "( +62 ) 812-3456-7890"]


def test_sixteen_digits_after_a_nik_cue_are_a_nik_even_when_miswritten() -> None:
    text = "NIK anak tertulis 5371-0791-0107-0142; pesanan 5371079101070142."
    assert _spans(NikRecognizer(), text) == ["5371-0791-0107-0142"]


def test_schools_with_classes_as_written_across_indonesia() -> None:
    from anonymization.places import SchoolRecognizer

    rec = SchoolRecognizer()
    for text in [
        "MIN 1 Jakarta, Kelas VI-A",
        "grade 6 SD Negeri 24 Mokdale",
        "kelompok A RA Al-Hidayah",
        "RA Darul Ulum, TK B",
        "kelas X TKJ 1 SMKN 4 Maumere",
        "SMP Katolik St. Theresia kelas IX-C",
        "SD Negeri 107127 Kabanjahe kelas 2",
    ]:
        assert _spans(rec, f"Ia di {text}.") == [text]
    assert _spans(rec, "SDN 2 Sukamaju mengadakan lomba; ia kelas 4.") == []


def test_addresses_with_their_wider_areas_and_regional_heads() -> None:
    from anonymization.places import AddressRecognizer

    rec = AddressRecognizer()
    for text in [
        "Jl. Kebon Pala no 87 RT 13 RW 6, Kel. Kampung Tengah, Kec. Pasar Rebo",
        "Kampung Jiwika, Distrik Wamena",
        "dsn. buper, kel. asano, distrik heram",
        "Jaga III, Desa Kembes",
        "Rusun Tambora Blok E/101B, Kel. Tanah Sereal",
        "Jalan Prof. M. Yamin no 3 RT.004/RW.004, Desa Masbagik Utara, Kec. Sakra",
        "btn mooduto blok k4 no. 71b",
    ]:
        assert _spans(rec, f"Tinggal di {text}.") == [text]
    assert _spans(rec, "Ia jaga malam; di desa itu, kec. apa; blok ini rusak.") == []
