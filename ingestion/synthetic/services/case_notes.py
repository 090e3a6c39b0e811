"""Case-worker notes: realistic Indonesian prose that leaks identifiers, on purpose.

Free text is where pseudonymisation usually fails: a note repeats the child's name, a
guardian's phone in a different format than the registry stores it, a NIK typed from the KK,
an e-mail. Every identifier a template mentions is taken verbatim from the generated registry
(phones may be re-formatted but normalise to the same digits), so a leak test can search the
lake for exactly these strings.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ingestion.synthetic.context import ChildRecord, GuardianRecord
from ingestion.synthetic.people import (
    PHONE_FORMATS,
    PeopleFactory,
    Person,
    format_phone,
    indonesian_date,
)

# Placeholders: {child} {child_first} {g} ("Ibu Siti Rahayu") {g_call} ("Bu Siti") {g_name}
# {g_rel} {phone} {nik} {g_nik} {email} {birth} {visit} {risk} {g2} {address} {n}
TEMPLATES: tuple[str, ...] = (
    "Kunjungan rumah bersama {g} ({phone}). Anak {child} (NIK {nik}) dalam kondisi baik, "
    "makan teratur dan sudah kembali bersekolah.",
    "Asesmen awal: {child_first} diantar oleh {g} ke LKSA pada {visit}. Keluarga dapat "
    "dihubungi di {phone} atau melalui email {email}.",
    "Pertemuan dengan {g_rel} anak, {g}. {child_first} menunjukkan tanda-tanda trauma ringan "
    "dan dirujuk ke psikolog. Kontak wali: {phone}.",
    "Anak {child}, lahir {birth}, belum memiliki akta kelahiran. Pengurusan dokumen "
    "kependudukan dibantu pekerja sosial bersama {g}.",
    "Telepon ke {phone} tidak diangkat. Kunjungan ulang ke rumah {g} dijadwalkan minggu depan "
    "untuk membahas rencana pengasuhan {child_first}.",
    "{child_first} mengikuti kegiatan kelompok dengan antusias. {g_call} menyampaikan "
    "keinginan untuk reunifikasi keluarga; nomor yang bisa dihubungi {phone}.",
    "Verifikasi data: NIK {nik} atas nama {child} sudah dicocokkan dengan KK. Nomor HP wali "
    "{g_name}: {phone}.",
    "Case conference: risiko bagi {child} dinilai {risk}. Rencana intervensi disepakati "
    "bersama {g} dan kepala LKSA pada {visit}.",
    "Surat keterangan tidak mampu untuk keluarga {child_first} dikirim via email ke {email}. "
    "Konfirmasi melalui WhatsApp {phone}.",
    "Kondisi kesehatan {child_first} membaik setelah pemeriksaan di puskesmas. {g} hadir saat "
    "kunjungan tanggal {visit}.",
    "Laporan sekolah {child} menunjukkan kehadiran meningkat. Koordinasi dengan wali kelas dan "
    "{g} (HP {phone}) berjalan baik.",
    "{g} menghubungi kantor melalui {phone}, menanyakan jadwal kunjungan {child_first}. "
    "Dijadwalkan ulang pada {visit}.",
    "Pendampingan psikososial sesi ke-{n}: {child_first} mulai terbuka menceritakan pengalaman "
    "di rumah. {g_call} belum dapat hadir, dihubungi di {phone}.",
    "Rujukan ke Dinas Sosial untuk bantuan PKH bagi keluarga {child}. Data pendukung: NIK anak "
    "{nik}, NIK wali {g_nik}, email keluarga {email}.",
    "Monitoring pasca-reunifikasi: {child_first} tinggal bersama {g}. Rumah bersih, kebutuhan "
    "dasar terpenuhi. No. kontak {phone}.",
    "Anak atas nama {child} (lahir {birth}) diterima dari rujukan unit PPA kepolisian. {g} "
    "belum dapat dihubungi di {phone}.",
    "Penilaian ulang risiko: {child_first} tidak lagi tinggal serumah dengan terduga pelaku. "
    "Rencana penutupan kasus dibahas dengan {g} dan {g2}.",
    "Catatan singkat: {child_first} demam sejak kemarin, sudah diberi obat. {g_call} diberi "
    "kabar lewat SMS ke {phone}.",
    "Home visit ke alamat {address}. {g} menerima petugas dengan baik; {child_first} tampak "
    "ceria dan dekat dengan {g_rel}.",
    "Mediasi keluarga bersama {g} dan {g2} terkait pengasuhan {child}. Kesepakatan ditandatangani "
    "pada {visit}; salinan dikirim ke {email}.",
    "Pemantauan bulanan: berat badan {child_first} naik 1,5 kg. {g_call} ({phone}) diminta "
    "membawa buku KIA pada pertemuan berikutnya.",
)

# Third parties (a teacher, a neighbour, an uncle) whom no table holds: the redactor cannot
# look them up, it has to recognise them as names. Their names go into the generation
# manifest so that the leak tests can look for them in the lake.
THIRD_PARTY_SENTENCES: tuple[str, ...] = (
    "Anak dijemput oleh {rel}, {title} {name}, sepulang sekolah.",
    "Wali kelasnya, {title} {name}, melaporkan {child_first} sering terlambat.",
    "Tetangga bernama {name} ikut mendampingi saat kunjungan.",
    "{title} {name} dari RT setempat bersedia menjadi saksi.",
    "Informasi tambahan diberikan oleh guru mengaji {child_first}, {title} {name}.",
    "{child_first} sering bermain di rumah {title} {name} sepulang sekolah.",
    "Keterangan saksi a.n. {name} dicatat petugas.",
    "{rel_cap} {child_first}, {name}, datang menjenguk pada akhir pekan.",
)
#: The templates a case with one guardian can use (no second guardian to name), and all.
_USABLE = (tuple(t for t in TEMPLATES if "{g2}" not in t), TEMPLATES)
_THIRD_PARTY_RELATIONS = {"M": ("paman", "om", "kakek"), "F": ("bibi", "tante", "nenek")}

_RISK_LABELS = {"low": "rendah", "medium": "sedang", "high": "tinggi", "critical": "kritis"}
_REL_LABELS = {
    ("mother", "F"): "ibu kandung",
    ("father", "M"): "ayah kandung",
    ("grandparent", "F"): "nenek",
    ("grandparent", "M"): "kakek",
    ("aunt_uncle", "F"): "bibi",
    ("aunt_uncle", "M"): "paman",
    ("sibling", "F"): "kakak perempuan",
    ("sibling", "M"): "kakak laki-laki",
    ("legal_guardian", "F"): "wali",
    ("legal_guardian", "M"): "wali",
}


@dataclass(frozen=True)
class NoteSubject:
    """Everything a note about one case may mention."""

    child: ChildRecord
    risk_level: str


def _title(guardian: GuardianRecord) -> tuple[str, str]:
    return ("Ibu", "Bu") if guardian.sex == "F" else ("Bapak", "Pak")


def write_notes(
    rng: random.Random, people: PeopleFactory, subject: NoteSubject, count: int, visits: list[str]
) -> list[str]:
    """``count`` different notes about one case; ``visits`` are dates already in prose form."""
    child = subject.child
    guardians = child.guardians
    usable = _USABLE[len(guardians) > 1]
    # What every note of the case says the same way, built once; each note sets the rest.
    fields: dict[str, object] = {
        "child": child.full_name,
        "child_first": child.first_name,
        "nik": child.nik,
        "birth": indonesian_date(child.birth_date),
        "risk": _RISK_LABELS[subject.risk_level],
        "address": child.address,
    }
    notes = []
    for i, template in enumerate(rng.sample(usable, min(count, len(usable)))):
        g = rng.choice(guardians)
        title, call = _title(g)
        others = [o for o in guardians if o is not g]
        g2 = others[0] if others else g
        email_owner = rng.choice(guardians)
        fields["g"] = f"{title} {g.full_name}"
        fields["g_call"] = f"{call} {g.first_name}"
        fields["g_name"] = g.full_name
        fields["g_rel"] = _REL_LABELS[(g.relationship, g.sex)]
        fields["g_nik"] = g.nik
        fields["visit"] = visits[i % len(visits)]
        fields["g2"] = f"{_title(g2)[0]} {g2.full_name}"
        # The three draws in the order the notes have always made them.
        fields["phone"] = format_phone(g.phone, rng.choice(PHONE_FORMATS))
        fields["email"] = people.email(rng, Person(email_owner.full_name, email_owner.sex))
        fields["n"] = rng.randint(2, 9)
        notes.append(template.format_map(fields))
    return notes


def third_party_sentence(
    rng: random.Random, people: PeopleFactory, child_first: str, taken: set[str]
) -> tuple[str, str]:
    """A sentence naming somebody no table holds, and that person's name.

    ``taken`` holds the registry's full names: a third party never shares one.
    """
    sex = rng.choice("MF")
    person = people.person(rng, sex)
    while person.full_name in taken:
        person = people.person(rng, sex)
    relation = rng.choice(_THIRD_PARTY_RELATIONS[sex])
    sentence = rng.choice(THIRD_PARTY_SENTENCES).format(
        rel=relation,
        rel_cap=relation.capitalize(),
        title="Ibu" if sex == "F" else "Bapak",
        name=person.full_name,
        child_first=child_first,
    )
    return sentence, person.full_name
