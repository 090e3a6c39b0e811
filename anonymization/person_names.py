"""Person names in Indonesian free text, without a language model.

Why rules and a gazetteer
-------------------------
No NER model may be downloaded here, and case notes mention people the record does not hold (a
teacher, a neighbour, an uncle). Indonesian notes carry strong cues instead: an honorific or a
kinship word in front of almost every name ("Pak Yusuf", "Bu Siti", "pamannya, Yusuf
Hasibuan", "tetangga bernama ..."), and names come from a limited stock of tokens. So a span is
a name when **cues and the gazetteer together** say so:

* a *cue* (honorific, kinship or role word, "bernama", "atas nama"/"a.n.") followed by tokens
  that are capitalised or in the gazetteer starts a name for certain;
* without a cue, a run of capitalised tokens is a name when its gazetteer evidence is strong
  enough: two name tokens, or one name token that is not also an ordinary word, not at a
  sentence start unless the token is a clear name;
* in a note written in capitals (or all lower case) capitalisation says nothing, and only cues
  and the gazetteer decide.

What keeps places and institutions out: a run that holds an institution word ("Panti Asuhan
Kasih Bunda", "SDN 2 Sukamaju", "RSUD Dr. Soetomo") is an institution, a region of
:mod:`lakehouse.reference.regions` or a run right after "di/ke/dari" that has no given name is a
place, and months, days, holidays and programme names are words.

The gazetteer (``lakehouse/reference/person_names/``) counts name tokens of the 2024
legislative candidates (KPU's public list) with a few additions; ``collisions.txt`` holds name
tokens that are also ordinary words, which count as names only next to other name evidence.
``SOURCES.md`` there cites every source.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from presidio_analyzer import RecognizerResult

from anonymization.recognizers import ModelFreeRecognizer
from lakehouse.reference.regions import PROVINCES

__all__ = [
    "PERSON_ENTITY",
    "PersonNameRecognizer",
    "institution_spans",
    "is_cased",
    "name_lexicon",
    "note_is_cased",
    "shared_person_recognizer",
]

PERSON_ENTITY = "ID_PERSON"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_GAZETTEER = Path(__file__).resolve().parents[1] / "lakehouse" / "reference" / "person_names"

# Honorifics and kinship words written directly before a name ("Pak Yusuf", "Ny. Siti").
_HONORIFICS = _words(
    """
    bapak bpk bp pak ibu bu ibunda sdr sdri saudara saudari kak kakak mas mbak mba bang
    abang dik adik om tante nenek kakek mbah eyang ustadz ustad ustaz ustadzah ustazah
    pendeta pdt romo pastor suster sr bruder haji hj tn ny nn nona nyonya tuan uda uni cik
    encik koh koko ci cici cece teh teteh aa kang akang ceu bli mbok cak daeng opung ompung
    amang inang tulang nantulang uwak wak pakde bude budhe bulik paklik oma opa mama bapa
    pace mace abah umi ummi abi buya gus mak amak ayah ayahanda paman bibi datuk engku ajo
    etek mamak dr drg ns bd yth dokter bidan perawat
    """
)
# Role or relation words that introduce a name, possibly after a comma: "gurunya, Yusuf".
_ROLE_CUES = _words(
    """
    guru gurunya tetangga tetangganya pamannya bibinya kakaknya adiknya ayahnya ibunya
    neneknya kakeknya sepupunya sepupu temannya teman sahabatnya pacarnya suaminya istrinya
    walinya wali pengasuh pengasuhnya pendamping pendampingnya pelapor terlapor pelaku saksi
    korban bernama bernamakan namanya nama keluarga kepsek omnya tantenya mbahnya ayah_tiri ibu_tiri
    kerabatnya anaknya lurah camat kades kadus sekdes bupati walikota gubernur babinsa
    bhabinkamtibmas kapolsek kapolres danramil dandim kanit kasat satpam
    """
)
# Titles inside an institution's name ("RSUP Dr. Sardjito", "Universitas Prof. Dr. Hamka"):
# the institution's, not a person in the case.
_TITLES_IN_INSTITUTION_NAMES = frozenset({"dr", "drg", "prof", "ir", "haji", "hj", "kh"})
# Form labels that introduce a person only as a label ("Termohon: Tukiyem", "Keluar:Hana"):
# as words in a sentence they are ordinary ("masuk Jakarta", "calon guru").
_LABEL_CUES = _words(
    """
    hadir masuk keluar calon kader supervisor termohon pemohon penelepon petugas relawan
    pengirim penerima kontak penanggung pj narasumber responden informan
    """
)
# Two-word cues, matched on lower-cased words.
_PHRASE_CUES = frozenset(
    {
        ("wali", "kelas"),
        ("atas", "nama"),
        ("kepala", "sekolah"),
        ("pekerja", "sosial"),
        ("ayah", "tiri"),
        ("ibu", "tiri"),
        ("ibu", "kandung"),
        ("ayah", "kandung"),
        ("ibu", "asuh"),
        ("ayah", "asuh"),
        ("orang", "tua"),
        ("dijemput", "oleh"),
        ("diantar", "oleh"),
        ("dikunjungi", "oleh"),
        ("ditemani", "oleh"),
    }
)
# Words that make a capitalised run an institution, a place or a programme, not a person.
_INSTITUTION_WORDS = _words(
    """
    panti asuhan lksa lpks yayasan dinas sosial kabupaten kab kota provinsi prov kecamatan
    kec desa kelurahan kel dusun kampung kp jalan jl gg gang rt rw blok perum perumahan
    komplek rsud rsu rs rumah sakit puskesmas klinik posyandu pustu sd sdn sdit smp smpn smp
    smk smkn sma sman mi min mts mtsn ma man madrasah pesantren ponpes pondok sekolah
    universitas univ institut akademi politeknik stikes program programme kartu keluarga
    harapan bpjs kip pkh kis kks bansos bank bri bni btn mandiri polres polsek polda polri
    pengadilan kejaksaan kantor balai badan kementerian kemensos kemendikbud dukcapil
    disdukcapil dp3a dp3akb p2tp2a upt uptd unit pusat lembaga komisi kpai lpsk masjid
    musala mushola gereja gki gkj hkbp pura vihara klenteng pasar terminal stasiun bandara
    pelabuhan gunung sungai kali danau pantai pulau teluk selat tanjung bukit lapangan taman alun
    alun hotel toko warung cv pt tbk ud koperasi kelompok forum karang taruna pkk rukun
    organisasi paud tk ra kb sanggar bimbel les santo santa st stadion gelora rsup rsia rsab
    rsj lapas lpka bapas rehabilitasi lksa rsupn rspad rsal rsau
    """
) - {
    "rumah",
    "tanjung",
    "kip",
    "pkh",
    "kis",
    "kks",
    "bansos",
    "bpjs",
    "keluarga",
}  # names, families and programmes, not institutions
_CALENDAR = _words(
    """
    januari februari pebruari maret april mei juni juli agustus september oktober november
    nopember desember jan feb mar apr jun jul agu agt ags sep sept okt nov des senin selasa
    rabu kamis jumat jum'at sabtu minggu ahad lebaran idul idulfitri iduladha fitri adha
    natal paskah nyepi waisak imlek galungan kuningan ramadan ramadhan syawal muharram
    maulid isra miraj tahun baru hut kemerdekaan nabi tuhan allah yesus kristus
    """
)
_PLACE_PREPOSITIONS = _words(
    """
    di ke dari asal menuju sekitar wilayah daerah kawasan pasar warga keliling posyandu
    kampung
    """
)
# Lower-case words allowed inside a name: "Siti binti Ahmad", "Rosa br. Sinaga".
_NAME_LINKS = frozenset(
    {"bin", "binti", "br", "boru", "van", "de", "da", "al", "el", "la", "daeng", "dg"}
)  # "Ramlah Daeng Sibali": a Makassar title inside a name
# Function words that are never a name on their own, however written.
_FUNCTION_WORDS = _words(
    """
    dan atau yang di ke dari pada untuk dengan oleh karena saat ketika setelah sebelum sudah
    belum akan sedang telah masih juga tidak bukan ini itu tersebut ada adalah ia dia mereka
    kami kita saya anak anaknya bersama serta tetapi namun sehingga agar supaya bahwa jika
    kalau maka lalu kemudian dalam luar atas bawah antara hari minggu bulan tahun pagi siang
    sore malam kemarin besok tadi sekarang nanti selama sejak hingga sampai per no nomor
    kelas catatan kunjungan laporan tanggal tgl hal perihal keterangan ket nik kk ktp hp wa
    telp tlp email rt rw ttl npsn nisn nip bpjs pkh kip kis kks bansos bk
    """
)
_TOKEN = re.compile(r"[A-Za-z][A-Za-z'’\-]*\.?")
_SENTENCE_OPENERS = frozenset('.!?:;\n\t"“(')
_MAX_NAME_TOKENS = 5
_NUMBER_GAP = re.compile(r" \d{1,3}[A-Za-z]? ")
# Words after which a capitalised word is a product, a brand or a team, not a person.
_PRODUCT_WORDS = _words(
    """
    gigi rokok minum mineral susu goreng teh kopi mie mi sabun sampo shampo biskuit roti dus
    kardus merek merk produk membeli beli dibelikan kelompok regu tim karyawan sponsor toko
    minimarket snack jajan permen obat vitamin kamar asrama
    """
)
# Words that are never a person named on their own: offices a note names instead of a person
# ("Pak Lurah", "Babinsa"), programmes and registers (KIA, Jampersal, Dapodik, DTKS), time
# zones, and the retail chains, brands and carriers of donation and expense lists.
_NOT_PEOPLE = _words(
    """
    lurah camat kades kadus sekdes bupati walikota gubernur babinsa bhabinkamtibmas kapolsek
    kapolres danramil dandim kanit kasat bidan kader posyandu satpam
    kia jampersal jkn dtks dapodik pbi prolanis sktm wib wita wit
    indomaret alfamart alfamidi indomie sarimi supermi bimoli sunco filma pampers mamypoko
    sweety zwitsal sunlight rinso lifebuoy pepsodent ciptadent aqua sgm dancow lactogen
    frisian ultra milo bebelac gojek grab maxim citilink garuda lion batik wings tokopedia
    shopee lazada
    """
)
# "Om Budi, Gara Maheswara, datang", "Meiliana dan Lanny": what joins a name to another.
_NAME_JOINERS = frozenset({", ", " dan ", " & ", " serta ", " atau "})
_ATAS_NAMA = re.compile(r"a\.\s?n\.", re.IGNORECASE)  # "a.n." = atas nama, "in the name of"
_WEEKDAYS = _words("senin selasa rabu kamis jumat sabtu minggu ahad")
_PHRASE_BREAKS = frozenset('\n;()[]"“”?!_/=@')
# "Ucok (panggilan untuk Benny Pigai)", "Dodit alias ...": the word before is a nickname.
_NICKNAME_MARK = re.compile(r"\(\s*(?:nama\s+)?panggilan\b|alias\b", re.IGNORECASE)


def _nickname_marks(text: str) -> set[int]:
    """Ends of the words right before "(panggilan ...)" or "alias": nicknames follow.

    The mark is searched first and the word looked for behind it (a pattern that starts
    with the word behind had to be tried at every position: 6 microseconds a note)."""
    out = set()
    for m in _NICKNAME_MARK.finditer(text):
        k = m.start()
        while k > 0 and text[k - 1].isspace():
            k -= 1
        if k > 0 and (text[k - 1].isalnum() or text[k - 1] == "_"):
            out.add(k)
    return out


#: Bound on the words a lexicon remembers looking up (a few MB).
_MEMO_WORDS = 100_000


@dataclass(frozen=True)
class NameLexicon:
    """Name tokens (given names, surnames) with counts, and the ones that are also words."""

    given: dict[str, int]
    surnames: dict[str, int]
    collisions: frozenset[str]
    places: frozenset[str]
    words: frozenset[str]  # an Indonesian dictionary (public domain, 79,898 words)
    #: Words already looked up: a case worker's vocabulary is small, and trying every affix
    #: of a word again was a fifth of the name recognizer's time.
    _in_dictionary: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)

    def is_name(self, word: str) -> bool:
        return word in self.given or word in self.surnames

    def in_dictionary(self, word: str) -> bool:
        """A dictionary word, or one made from a dictionary stem by Indonesian affixes
        ("melaporkan" from "lapor", "keluarganya" from "keluarga")."""
        known = self._in_dictionary.get(word)
        if known is None:
            known = word in self.words or any(stem in self.words for stem in _stems(word))
            if len(self._in_dictionary) >= _MEMO_WORDS:
                self._in_dictionary.clear()
            self._in_dictionary[word] = known
        return known

    def is_word(self, word: str) -> bool:
        """An ordinary word: in the dictionary and not a name token, or a known collision."""
        return (self.in_dictionary(word) and not self.is_name(word)) or word in self.collisions

    def count(self, word: str) -> int:
        return max(self.given.get(word, 0), self.surnames.get(word, 0))

    def is_clear_name(self, word: str) -> bool:
        """A name token that is not also an ordinary word, month, place or function word."""
        return (
            self.is_name(word)
            and word not in self.collisions
            and word not in self.places
            and word not in _CALENDAR
            and word not in _FUNCTION_WORDS
            and word not in _INSTITUTION_WORDS
        )


def _read_counts(path: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, count = line.partition("\t")
        out[name.strip()] = max(out.get(name.strip(), 0), int(count) if count.strip() else 1)
    return out


_PREFIXES = ("meng", "meny", "mem", "men", "me", "peng", "peny", "pem", "pen", "pe", "ber",
             "be", "ter", "di", "ke", "se", "per")  # fmt: skip
_SUFFIXES = ("nya", "kan", "lah", "kah", "pun", "an", "i")


def _stems(word: str) -> list[str]:
    """Candidate stems of an affixed word (no dictionary of affix rules: a stem only counts
    if the dictionary holds it)."""
    if len(word) < 5:
        return []
    cores = [word]
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            cores.append(word[: -len(suffix)])
    out = list(cores)
    for core in cores:
        for prefix in _PREFIXES:
            if core.startswith(prefix) and len(core) - len(prefix) >= 3:
                rest = core[len(prefix) :]
                out.append(rest)
                # meN- drops the stem's first consonant: menulis <- tulis, memukul <- pukul
                if prefix in ("men", "pen"):
                    out.append("t" + rest)
                elif prefix in ("mem", "pem"):
                    out.append("p" + rest)
                elif prefix in ("meny", "peny"):
                    out.append("s" + rest)
                elif prefix in ("meng", "peng"):
                    out.append("k" + rest)
    return out[1:]


@cache
def name_lexicon() -> NameLexicon:
    """The shipped gazetteer, read once per process."""
    collisions = frozenset(
        line.partition("\t")[0].strip()
        for line in (_GAZETTEER / "collisions.txt").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    )
    places: set[str] = set()
    for province in PROVINCES:
        places.update(w.casefold() for w in re.findall(r"[A-Za-z]+", province.name))
        for regency in province.regencies:
            places.update(w.casefold() for w in re.findall(r"[A-Za-z]+", regency.place_name))
    with gzip.open(_GAZETTEER / "id_words.txt.gz", "rt", encoding="utf-8") as f:
        words = frozenset(line.strip() for line in f if line.strip())
    return NameLexicon(
        given=_read_counts(_GAZETTEER / "given_names.txt"),
        surnames=_read_counts(_GAZETTEER / "surnames.txt"),
        collisions=collisions,
        places=frozenset(places),
        words=words,
    )


#: Words that may open a cue, written in any case.
_CUE_WORDS = _HONORIFICS | _ROLE_CUES | _LABEL_CUES | {a for a, _ in _PHRASE_CUES} | {"a"}
_QUOTES = frozenset('"“”')
_SPEAKER = re.compile(r"^[ \t\-*•>]*([A-Za-z][A-Za-z'’\-]{2,}) ?:(?!\d)", re.MULTILINE)
#: Labels of forms and messages, not speakers.
_LABEL_WORDS = _words(
    """
    telp tlp telepon ttl email surel cc re fw fwd subject subjek perihal lampiran kepada
    dari tempat lokasi waktu jam status uraian kronologi tindakan hasil catatan rencana
    """
)
#: What follows a name: the person's role in brackets, or an academic degree.
_ROLE_AFTER = re.compile(
    r"\s?\((?:"
    + "|".join(
        sorted(
            (
                _HONORIFICS
                | _ROLE_CUES
                | _LABEL_CUES
                | _words(
                    """
                kepala ketua lurah camat sekretaris bendahara anggota staf pekerja wali
                koordinator kakak adik anak cucu keponakan ipar mertua tetangga sepupu
                """
                )
            )
            - {"a"},
            key=len,
            reverse=True,
        )
    )
    + r")\b",
    re.IGNORECASE,
)
_DEGREE_AFTER = re.compile(
    r",\s?(?:[SM]\.\s?[A-Z][A-Za-z]{0,4}\.|Sp\.\s?[A-Z]{1,3}\b|A\.?\s?Md\.?)"
)
#: Words of a found name that say nothing when written again alone.
_NOT_A_NAME_AGAIN = _FUNCTION_WORDS | _CALENDAR | _INSTITUTION_WORDS | _CUE_WORDS


@dataclass(slots=True)
class _Token:
    start: int
    end: int
    text: str
    word: str  # lower case, without a trailing dot
    capitalised: bool
    sentence_start: bool


@lru_cache(maxsize=64)
def _analysed(text: str) -> tuple[list[_Token], bool]:
    """Tokens of a note and whether it is cased, once per note (three passes read them)."""
    return _tokens(text), is_cased(text)


def _tokens(text: str) -> list[_Token]:
    # A sentence starts after . ! ? : ; a line break, a quote or a bracket (spaces aside).
    openings = {m.end() for m in _OPENING.finditer(text)}
    out: list[_Token] = []
    for m in _TOKEN.finditer(text):
        raw = m.group()
        start, end = m.span()
        if raw[-1] == ".":
            if len(raw) > 2 and raw[:-1].casefold() not in _ABBREVIATIONS:
                raw = raw[:-1]  # a sentence's full stop, not part of the word
                end -= 1
            word = raw.rstrip(".").casefold()
        else:
            word = raw.casefold()
        if "’" in word:
            word = word.replace("’", "'")
        out.append(_Token(start, end, raw, word, raw[0].isupper(), not out or start in openings))
    return out


#: Where a sentence's first word may start: the note's start, or after an opener and spaces.
_OPENING = re.compile(r'[.!?:;\n\t"“(] *')


_ABBREVIATIONS = frozenset(
    {"bpk", "sdr", "sdri", "pdt", "hj", "tn", "ny", "nn", "jl", "gg", "kp", "no", "dr", "br"}
)


class PersonNameRecognizer(ModelFreeRecognizer):
    """Spans of person names (``ID_PERSON``), whether or not the record knows the person."""

    def __init__(self, lexicon: NameLexicon | None = None) -> None:
        self._lexicon = lexicon or name_lexicon()
        super().__init__([PERSON_ENTITY], "IdPersonNameRecognizer")

    def analyze(
        self, text: str, entities: list[str] | None = None, nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        return [
            RecognizerResult(PERSON_ENTITY, start, end, score)
            for start, end, score in self.spans(text)
        ]

    def spans(self, text: str) -> list[tuple[int, int, float]]:
        """(start, end, score) of every name; spans do not overlap."""
        tokens, cased = _analysed(text)
        if not tokens:
            return []
        found: list[tuple[int, int, float]] = []
        nicknamed = _nickname_marks(text)
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            if (
                cased
                and not tok.capitalised
                and tok.word not in _CUE_WORDS
                and tok.end not in nicknamed
            ):
                i += 1  # most words of a cased note: lower case, no cue, no name
                continue
            if tokens[i].word in _INSTITUTION_WORDS and (tokens[i].capitalised or not cased):
                i = self._institution_end(tokens, i, text, cased)
                continue
            cue_end = self._cue_at(tokens, i, text)
            if cue_end is not None:
                stop = self._extend(tokens, cue_end, text, cased, cued=True)
                # "Pelapor: Budi Santoso" is a form; "CATATAN PENGASUH: Hari Anak Nasional"
                # a heading. After a colon the name must stand on its own evidence.
                labelled = ":" in text[tokens[cue_end - 1].end : tokens[cue_end].start]
                if labelled and stop > cue_end:
                    stop = self._extend(tokens, cue_end, text, cased, cued=False)
                    if not self._uncued_is_name(tokens, cue_end, stop, cased, labelled=True):
                        stop = cue_end
                if all(t.word in _NOT_PEOPLE for t in tokens[cue_end:stop]):
                    stop = cue_end  # "Pak Lurah", "Bu Bidan": the office, not a name
                if stop > cue_end:
                    found.append((tokens[cue_end].start, tokens[stop - 1].end, 0.95))
                    i = stop
                    continue
                i = cue_end
                continue
            nickname = tokens[i].end in nicknamed
            # "Om Budi, Gara Maheswara, datang": a capitalised pair right after a name and a
            # comma is that name's apposition, another name.
            between = text[found[-1][1] : tokens[i].start] if found else ""
            appositive = cased and tokens[i].capitalised and between in _NAME_JOINERS
            if not (nickname or appositive) and tok.word in _NEVER_OPENS_A_NAME:
                i += 1  # "Anak", "Setelah" opening a sentence: no name starts here
                continue
            stop = self._extend(tokens, i, text, cased, cued=nickname or appositive)
            if appositive and between == ", " and stop - i < 2:
                appositive = False  # "Sleman, Bantul": a list, not an apposition
            if stop > i and (
                nickname or appositive or self._uncued_is_name(tokens, i, stop, cased)
            ):
                found.append((tokens[i].start, tokens[stop - 1].end, 0.7))
                i = stop
                continue
            i += 1
        if "\n" in text and ":" in text:
            found = self._chat_speakers(text, found)
        if cased:
            found = self._post_cued(tokens, text, found)
        if found and cased:
            found = self._named_again(tokens, found)
        return found

    def _chat_speakers(
        self, text: str, found: list[tuple[int, int, float]]
    ) -> list[tuple[int, int, float]]:
        """A pasted chat ("natanael: td sdh ke rmh", "meiske: sdh lapor"): on lines that
        open with a word and a colon, words no dictionary knows are the speakers' names.
        Only where at least two lines are written so, not a lone form label."""
        lines = list(_SPEAKER.finditer(text))
        if len(lines) < 2:
            return found
        lex = self._lexicon
        extra = []
        for m in lines:
            word = m.group(1).casefold()
            parts = word.split("-")
            if (
                (len(parts) > 1 and any(p in _CALENDAR or lex.in_dictionary(p) for p in parts))
                or word in _NOT_A_NAME_AGAIN
                or word in _LABEL_WORDS
                or (lex.in_dictionary(word) and not lex.is_clear_name(word))
            ):
                continue
            extra.append((*m.span(1), 0.7))
        return _with_new(found, extra)

    def _post_cued(
        self, tokens: list[_Token], text: str, found: list[tuple[int, int, float]]
    ) -> list[tuple[int, int, float]]:
        """Capitalised words with the person's role in brackets or a degree right after them
        ("Maman (pekerja sosial)", "Kho Khiam Fo (ketua RT)", "Ratna, S.Psi."): a name, even
        as a sentence's first word or one word no dictionary lacks."""
        cued_at = {m.start() for m in _DEGREE_AFTER.finditer(text)}
        if "(" in text:
            cued_at.update(m.start() for m in _ROLE_AFTER.finditer(text))
        if not cued_at and not _QUOTES.intersection(text):
            return found  # most notes: nothing to look at again
        extra: list[tuple[int, int, float]] = []
        lex = self._lexicon
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            if not tok.capitalised or tok.word in _NOT_A_NAME_AGAIN:
                i += 1
                continue
            if (
                tok.start > 0
                and text[tok.start - 1] in _QUOTES
                and text[tok.end : tok.end + 1] in _QUOTES
                and (lex.is_clear_name(tok.word) or not lex.in_dictionary(tok.word))
            ):
                extra.append((tok.start, tok.end, 0.7))  # a name quoted: "Nengah", "Jeremy"
                i += 1
                continue
            if not cued_at:
                i += 1
                continue
            stop = self._extend(tokens, i, text, True, cued=True)
            if stop > i and tokens[stop - 1].end in cued_at:
                extra.append((tok.start, tokens[stop - 1].end, 0.8))
                i = stop
                continue
            i += 1
        return _with_new(found, extra)

    def _named_again(
        self, tokens: list[_Token], found: list[tuple[int, int, float]]
    ) -> list[tuple[int, int, float]]:
        """A word of a name found in this note, written again alone, is that name again
        ("... antara Malem dan Hironimus Sogen. Hironimus mendorong"), even where a single
        word would not count on its own (a sentence's first word)."""
        lex = self._lexicon
        named: set[str] = set()
        k = 0
        for start, end, _ in found:
            while k < len(tokens) and tokens[k].start < start:
                k += 1
            while k < len(tokens) and tokens[k].end <= end:
                word = tokens[k].word
                if (
                    len(word) >= 3
                    and word not in _NOT_A_NAME_AGAIN
                    and (lex.is_clear_name(word) or not lex.in_dictionary(word))
                ):
                    named.add(word)
                k += 1
        return _with_new(
            found,
            [(t.start, t.end, 0.6) for t in tokens if t.capitalised and t.word in named],
        )

    def widen(
        self, text: str, start: int, end: int, barriers: list[tuple[int, int]]
    ) -> tuple[int, int]:
        """``text[start:end]`` widened over the name-like words right before and after it.

        A known first name followed by a surname the record does not hold ("Siti Nurhaliza"
        for a guardian "Siti Rahmawati") is another person: the caller sees the span grow and
        links nobody. Words inside ``barriers`` (other known names) are not taken.
        """
        tokens, cased = _analysed(text)
        inside = [k for k, t in enumerate(tokens) if start <= t.start and t.end <= end]
        if not inside:
            return start, end
        first, last = inside[0], inside[-1]

        def free(k: int) -> bool:
            t = tokens[k]
            return not any(a < t.end and t.start < b for a, b in barriers)

        def takes(k: int) -> bool:
            t = tokens[k]
            if not free(k) or self._cue_at(tokens, k, text) is not None:
                return False
            lex = self._lexicon
            if cased and not t.capitalised:
                # lower case in a cased note: a name word only if no dictionary knows it
                return (
                    len(t.word) >= 3 and not lex.in_dictionary(t.word) and t.word not in _CALENDAR
                )
            if (
                (not cased or t.text.isupper())
                and lex.is_name(t.word)
                and t.word not in _FUNCTION_WORDS
            ):
                # In capitals or lower case a name token next to a name is a name even when it
                # is also a word: "MEUTIA SARI RAHMATUN" is not the known "Darmawati Rahmatun".
                return True
            return self._name_token(t, cased, cued=True)

        while (
            last + 1 < len(tokens)
            and self._gap(tokens, last, last + 1, text) == " "
            and takes(last + 1)
        ):
            last += 1
        while first > 0 and self._gap(tokens, first - 1, first, text) == " ":
            if tokens[first].sentence_start:
                break
            k = first - 1
            after_cue = k > 0 and free(k) and self._cue_at(tokens, k - 1, text) == k
            if not (takes(k) or after_cue):
                break  # "ibu ubung anyeq": a word right after an honorific is a name
            first = k
        return tokens[first].start, tokens[last].end

    def _institution_end(self, tokens: list[_Token], i: int, text: str, cased: bool) -> int:
        """End of an institution's name: "Panti Asuhan Santo Yusup", "LKSA Mardi Siwi",
        "Balai Rehabilitasi Sosial Anak Handayani", "SD Negeri 1 Karanganyar". A person's
        name inside it (a hospital named after a doctor) is the institution's, not a person
        in the case."""
        j = i + 1
        while j < len(tokens) and j - i <= 6:
            tok = tokens[j]
            gap = text[tokens[j - 1].end : tok.start]
            if gap != " " and not _NUMBER_GAP.fullmatch(gap):  # "SDN 6 Sukarame"
                break
            if (
                tok.word in _CUE_WORDS and tok.word not in _TITLES_IN_INSTITUTION_NAMES
            ) or tok.word in _FUNCTION_WORDS:
                break
            if (
                cased
                and not tok.capitalised
                and tok.word not in _NAME_LINKS
                and tok.word not in _TITLES_IN_INSTITUTION_NAMES
            ):
                break
            if not cased and self._lexicon.is_clear_name(tok.word):
                break  # caseless: "di sekolah yosua berkelahi" — Yosua is a child, not a school
            j += 1
        return j

    def _cue_at(self, tokens: list[_Token], i: int, text: str) -> int | None:
        """Index of the first token after a cue that starts at ``i``, or None."""
        word = tokens[i].word
        if i + 1 < len(tokens) and (word, tokens[i + 1].word) in _PHRASE_CUES:
            nxt = i + 2
        elif (
            word in _HONORIFICS
            or word in _ROLE_CUES
            # a form label is a cue only as a label: "Termohon: Tukiyem"
            or (
                word in _LABEL_CUES
                and i + 1 < len(tokens)
                and ":" in text[tokens[i].end : tokens[i + 1].start]
            )
        ):
            nxt = i + 1
        elif word == "a" and _ATAS_NAMA.match(text, tokens[i].start):
            nxt = i + 2 if i + 1 < len(tokens) and tokens[i + 1].word == "n" else i + 1
        else:
            return None
        # "Ibu Kota", "Bapak Kepala Dinas": an honorific before an institution is not a cue.
        if nxt >= len(tokens) or self._gap(tokens, nxt - 1, nxt, text) is None:
            return None
        if tokens[nxt].word in _INSTITUTION_WORDS:
            return None
        # Honorifics may stack: "Bapak Haji Yusuf", "Ibu Hj. Siti", "pamannya, Pak Yusuf".
        again = self._cue_at(tokens, nxt, text)
        return again if again is not None else nxt

    @staticmethod
    def _gap(tokens: list[_Token], a: int, b: int, text: str) -> str | None:
        """The characters between two tokens when they may belong to one phrase, else None."""
        gap = text[tokens[a].end : tokens[b].start]
        if gap == " ":
            return gap
        if len(gap) > 3 or not _PHRASE_BREAKS.isdisjoint(gap):
            return None
        return gap

    def _name_token(self, tok: _Token, cased: bool, cued: bool) -> bool:
        lex = self._lexicon
        word = tok.word
        if word in _INSTITUTION_WORDS or word in _CALENDAR or word in _FUNCTION_WORDS:
            # After a cue or another name word, a capitalised name token that is also a
            # month or a common word is a name: "a.n. Hari Budiyanto", "Mulyanto Ramadan".
            return (
                cued
                and cased
                and tok.capitalised
                and lex.is_name(word)
                and word not in _WEEKDAYS
                and word not in _INSTITUTION_WORDS
            )
        if len(word) < 2 and word != "i":
            return False
        if cued and word in _BALINESE_ORDER:
            return True  # "I GEDE Sudiarsa", "Ni Luh ...": after a name, a name
        if cased:
            # (A token is ASCII letters, so "a capital after the first" is a lower() test.)
            if len(word) > 1 and (tok.text.isupper() or tok.text[1:] != tok.text[1:].lower()):
                # "KTP-el", "PKSA", a heading in capitals: an acronym or a word unless it is
                # a clear name ("BUDI SANTOSO lahir ...").
                return (lex.is_name(word) and (cued or not lex.is_word(word))) or (
                    cued and len(word) >= 3 and not lex.in_dictionary(word)
                )
            if tok.capitalised:
                return True
            # A lower-case word inside a cased note: a name only after a cue, never a word.
            return cued and lex.is_name(word) and not lex.in_dictionary(word)
        # Capitals or lower case throughout: the gazetteer and the dictionary decide.
        if lex.is_name(word) and not lex.is_word(word):
            return True
        return cued and not lex.in_dictionary(word)

    def _extend(self, tokens: list[_Token], i: int, text: str, cased: bool, cued: bool) -> int:
        """End (exclusive) of the name-like run starting at ``i``."""
        j = i
        while j < len(tokens) and j - i < _MAX_NAME_TOKENS:
            tok = tokens[j]
            if j > i:
                gap = self._gap(tokens, j - 1, j, text)
                if gap is None or "," in gap or "." in gap or ":" in gap:
                    break
                if tok.word in _NAME_LINKS and j + 1 < len(tokens):
                    nxt = tokens[j + 1]
                    if self._gap(tokens, j, j + 1, text) is not None and self._name_token(
                        nxt, cased, cued
                    ):
                        j += 2
                        continue
                    break
            if tok.word in _INSTITUTION_WORDS and j > i:
                return i  # "Yusuf Panti ..." is an institution name, not a person
            balinese = tok.word in ("i", "ni") and (
                j + 1 < len(tokens) and tokens[j + 1].word in _BALINESE_ORDER
            )
            if tok.word == "i" and not balinese:
                break  # "I" opens a Balinese name only before Wayan, Made, Gusti ...
            if balinese:
                j += 1
                continue
            if not self._name_token(tok, cased, cued or j > i) and not (
                j == i and self._opens_name(tokens, i, text, cased)
            ):
                break
            j += 1
        while j > i and tokens[j - 1].word in _NAME_LINKS:
            j -= 1  # a run never ends on "bin", "br."
        return j

    def _opens_name(self, tokens: list[_Token], i: int, text: str, cased: bool) -> bool:
        """ "LAMTIUR SIDABUTAR", "Anak Agung Gde", "Ida Bagus": a first word that is no
        dictionary word (or a Balinese title) right before a name token."""
        tok = tokens[i]
        if i + 1 >= len(tokens) or self._gap(tokens, i, i + 1, text) != " ":
            return False
        nxt = tokens[i + 1]
        if (tok.word, nxt.word) in _BALINESE_TITLES:
            return True
        lex = self._lexicon
        unknown = (
            len(tok.word) >= 3 and not lex.in_dictionary(tok.word) and not lex.is_name(tok.word)
        )
        if not unknown or (cased and not tok.capitalised):
            return False
        return lex.is_clear_name(nxt.word) and (nxt.capitalised or not cased)

    def _uncued_is_name(
        self, tokens: list[_Token], i: int, stop: int, cased: bool, labelled: bool = False
    ) -> bool:
        """Whether a run found without a cue is a name. ``labelled``: it follows a person's
        label and a colon ("Termohon: Tukiyem"), so its first word opens no sentence."""
        lex = self._lexicon
        run = tokens[i:stop]
        words = [t.word for t in run if t.word not in _NAME_LINKS]
        if any(w in lex.places for w in words) and not any(w in lex.given for w in words):
            return False
        if any(w in _NOT_PEOPLE for w in words):
            return False  # "Bhabinkamtibmas", "Ultra Milk", "KIA": an office, a brand
        clear = [w for w in words if lex.is_clear_name(w)]
        if i > 0 and tokens[i - 1].word in _PRODUCT_WORDS:
            return False  # "pasta gigi Pepsodent", "air minum Aqua", "kelompok Lokon"
        after_place_word = i > 0 and tokens[i - 1].word in _PLACE_PREPOSITIONS
        if after_place_word and not clear:
            return False  # "di Oesapa", "ke Tanjung Pinang": a place
        unknown = [w for w in words if not lex.in_dictionary(w) and not lex.is_name(w)]
        if len(words) >= 2 and (
            (words[0] in ("i", "ni") and words[1] in _BALINESE_ORDER)
            or (words[0], words[1]) in _BALINESE_TITLES
        ):
            return True  # "I Putu Sutarini", "Ni Made Ratnadi"
        if len(words) >= 2:
            # Two or more tokens: a clear name among them, or nothing but names and words no
            # dictionary knows ("Tuyang Juk", "Asang Sahay").
            # ("Gara Maheswara": a name token that is also a word, and a word no dictionary
            # knows), but not name tokens that are all ordinary words ("Puji Syukur").
            named = [w for w in words if lex.is_name(w)]
            return bool(clear) or (bool(unknown) and len(named) + len(unknown) == len(words))
        word = words[0] if words else ""
        if i > 0 and tokens[i - 1].word == "hari":
            return False  # "Hari Kartini", "Hari Pahlawan": a day
        opens = bool(run) and run[0].sentence_start and not labelled
        if clear:
            if opens or not cased:
                # A sentence's first word, or a word in a caseless note: a frequent name that
                # is no dictionary word ("Yusuf datang", not "Puji syukur").
                return lex.count(word) >= 20 and not lex.in_dictionary(word)
            return True
        # One capitalised word that no dictionary or gazetteer knows, inside a sentence.
        return cased and bool(unknown) and not opens and len(word) >= 3


def _with_new(
    found: list[tuple[int, int, float]], extra: list[tuple[int, int, float]]
) -> list[tuple[int, int, float]]:
    """``found`` and the spans of ``extra`` that overlap none of it, in order: what a later
    pass adds never cuts into a name already found."""
    new = [e for e in extra if not any(a < e[1] and e[0] < b for a, b, _ in found)]
    return sorted(found + new) if new else found


def note_is_cased(text: str) -> bool:
    """:func:`is_cased` of a note the recognizer has just read (cached with its tokens)."""
    return _analysed(text)[1]


def is_cased(text: str) -> bool:
    """Whether capitalisation carries a signal (not a note in capitals or all lower case)."""
    upper = len(_UPPER.findall(text))
    letters = upper + len(_LOWER.findall(text))
    return bool(letters) and 0.02 < upper / letters < 0.6


_UPPER = re.compile(r"[A-Z]")
_LOWER = re.compile(r"[a-z]")


_BALINESE_TITLES = frozenset({("anak", "agung"), ("ida", "bagus"), ("ida", "ayu"), ("i", "gusti")})
#: Function words that, uncued, cannot open a name (``_extend`` would stop at once): all of
#: them but the first words of Balinese titles ("Anak Agung", "Ida Bagus", "I Gusti").
_NEVER_OPENS_A_NAME = _FUNCTION_WORDS - {a for a, _ in _BALINESE_TITLES} - {"i", "ni"}
_BALINESE_ORDER = _words(
    """
    wayan made nyoman ketut putu kadek komang gede gde gusti ngurah luh ayu nengah agung
    bagus cokorda desak dewa
    """
)


def institution_spans(text: str) -> list[tuple[int, int]]:
    """Where institutions are named ("Panti Asuhan Tunas Melati"): a known person's first
    name inside one is the institution's, not the person."""
    recognizer = shared_person_recognizer()
    tokens, cased = _analysed(text)
    out = []
    i = 0
    while i < len(tokens):
        if tokens[i].word in _INSTITUTION_WORDS and (tokens[i].capitalised or not cased):
            end = recognizer._institution_end(tokens, i, text, cased)
            out.append((tokens[i].start, tokens[end - 1].end))
            i = end
        else:
            i += 1
    return out


@cache
def shared_person_recognizer() -> PersonNameRecognizer:
    """One recognizer per process (the gazetteer is read once)."""
    return PersonNameRecognizer()
