"""Indonesian provinces and regencies/cities: codes, names, island groups, population weights.

The one list of regions every layer uses: NIK validation and recognizers take province codes
from here, the research release's region hierarchy its island groups, the API its province
scopes, the synthetic generator its regencies and weights, and dbt the ``bps_provinces`` seed
(written from this module by ``lakehouse.reference.seeds``).

Which code list
---------------
The codes are the *kode wilayah* of the Ministry of Home Affairs (Kepmendagri 100.1.1-6117/2022
and its 2023-2025 updates), i.e. the codes Dukcapil embeds in every NIK. They coincide with the
BPS statistical codes for all provinces and almost all regencies; they differ for the five DKI
Jakarta cities (BPS: 3171 Jakarta Selatan ... ; Kemendagri: 3174 Jakarta Selatan ...) and for
the Papua provinces (BPS numbers them 91, 92, 94-97). We use one scheme throughout so that a
child's NIK prefix equals the child's registered regency code; mixing schemes would make every
Jakarta NIK look inconsistent with its address.

All 38 provinces (11 Aceh ... 96 Papua Barat Daya) are present, each with an accurate subset of
3-15 of its regencies/cities. ``weight`` is the province population in millions (2020 census,
new Papua provinces from their 2022 split), used to place institutions: Java is large, the
Papua provinces are deliberately small, which is what the small-cell privacy tests need.

Island groups are the region level above the province (BPS's *pulau* grouping, with Bali and
Nusa Tenggara together and Maluku with Papua): the research release generalises a regency to
its province, then to its island group.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Regency:
    code: str  # 4 digits: province (2) + regency (2); 71-79 are cities (kota)
    name: str  # "Kabupaten Bandung", "Kota Bandung"
    province_code: str

    @property
    def is_city(self) -> bool:
        return self.name.startswith("Kota ")

    @property
    def place_name(self) -> str:
        """How a birthplace is written on documents: "Bandung", not "Kota Bandung"."""
        for prefix in ("Kabupaten ", "Kota "):
            if self.name.startswith(prefix):
                return self.name[len(prefix) :]
        return self.name


@dataclass(frozen=True)
class Province:
    code: str
    name: str
    weight: float
    regencies: tuple[Regency, ...]

    @property
    def island_group(self) -> str:
        return ISLAND_GROUP_OF_PROVINCE_PREFIX[self.code[0]]


#: Island group by the first digit of the province code (1 Sumatera ... 9 Papua), which is how
#: the code list itself is organised; 8 (Maluku) and 9 (Papua) form one group.
ISLAND_GROUP_OF_PROVINCE_PREFIX: dict[str, str] = {
    "1": "Sumatera",
    "2": "Sumatera",
    "3": "Jawa",
    "5": "Bali-Nusa Tenggara",
    "6": "Kalimantan",
    "7": "Sulawesi",
    "8": "Maluku-Papua",
    "9": "Maluku-Papua",
}


def _province(code: str, name: str, weight: float, *regencies: tuple[str, str]) -> Province:
    for rcode, _ in regencies:
        if len(rcode) != 4 or not rcode.startswith(code):
            raise ValueError(f"regency {rcode} does not belong to province {code}")
    return Province(code, name, weight, tuple(Regency(c, n, code) for c, n in regencies))


PROVINCES: tuple[Province, ...] = (
    _province(
        "11", "Aceh", 5.27,
        ("1106", "Kabupaten Aceh Besar"), ("1108", "Kabupaten Aceh Utara"),
        ("1111", "Kabupaten Bireuen"), ("1171", "Kota Banda Aceh"),
        ("1173", "Kota Lhokseumawe"), ("1174", "Kota Langsa"),
    ),
    _province(
        "12", "Sumatera Utara", 14.80,
        ("1205", "Kabupaten Langkat"), ("1207", "Kabupaten Deli Serdang"),
        ("1208", "Kabupaten Simalungun"), ("1209", "Kabupaten Asahan"),
        ("1271", "Kota Medan"), ("1272", "Kota Pematangsiantar"), ("1275", "Kota Binjai"),
    ),
    _province(
        "13", "Sumatera Barat", 5.53,
        ("1305", "Kabupaten Padang Pariaman"), ("1306", "Kabupaten Agam"),
        ("1371", "Kota Padang"), ("1375", "Kota Bukittinggi"), ("1376", "Kota Payakumbuh"),
    ),
    _province(
        "14", "Riau", 6.39,
        ("1401", "Kabupaten Kampar"), ("1403", "Kabupaten Bengkalis"),
        ("1404", "Kabupaten Indragiri Hilir"), ("1471", "Kota Pekanbaru"), ("1472", "Kota Dumai"),
    ),
    _province(
        "15", "Jambi", 3.55,
        ("1501", "Kabupaten Kerinci"), ("1502", "Kabupaten Merangin"),
        ("1505", "Kabupaten Muaro Jambi"), ("1571", "Kota Jambi"), ("1572", "Kota Sungai Penuh"),
    ),
    _province(
        "16", "Sumatera Selatan", 8.47,
        ("1602", "Kabupaten Ogan Komering Ilir"), ("1603", "Kabupaten Muara Enim"),
        ("1607", "Kabupaten Banyuasin"), ("1671", "Kota Palembang"),
        ("1673", "Kota Lubuk Linggau"), ("1674", "Kota Prabumulih"),
    ),
    _province(
        "17", "Bengkulu", 2.01,
        ("1702", "Kabupaten Rejang Lebong"), ("1703", "Kabupaten Bengkulu Utara"),
        ("1705", "Kabupaten Seluma"), ("1771", "Kota Bengkulu"),
    ),
    _province(
        "18", "Lampung", 9.01,
        ("1801", "Kabupaten Lampung Selatan"), ("1802", "Kabupaten Lampung Tengah"),
        ("1807", "Kabupaten Lampung Timur"), ("1871", "Kota Bandar Lampung"),
        ("1872", "Kota Metro"),
    ),
    _province(
        "19", "Kepulauan Bangka Belitung", 1.46,
        ("1901", "Kabupaten Bangka"), ("1902", "Kabupaten Belitung"),
        ("1903", "Kabupaten Bangka Selatan"), ("1971", "Kota Pangkal Pinang"),
    ),
    _province(
        "21", "Kepulauan Riau", 2.06,
        ("2101", "Kabupaten Bintan"), ("2102", "Kabupaten Karimun"),
        ("2171", "Kota Batam"), ("2172", "Kota Tanjung Pinang"),
    ),
    _province(
        "31", "DKI Jakarta", 10.56,
        ("3101", "Kabupaten Kepulauan Seribu"), ("3171", "Kota Jakarta Pusat"),
        ("3172", "Kota Jakarta Utara"), ("3173", "Kota Jakarta Barat"),
        ("3174", "Kota Jakarta Selatan"), ("3175", "Kota Jakarta Timur"),
    ),
    _province(
        "32", "Jawa Barat", 48.27,
        ("3201", "Kabupaten Bogor"), ("3202", "Kabupaten Sukabumi"), ("3203", "Kabupaten Cianjur"),
        ("3204", "Kabupaten Bandung"), ("3205", "Kabupaten Garut"),
        ("3206", "Kabupaten Tasikmalaya"), ("3209", "Kabupaten Cirebon"),
        ("3212", "Kabupaten Indramayu"), ("3215", "Kabupaten Karawang"),
        ("3216", "Kabupaten Bekasi"), ("3271", "Kota Bogor"), ("3273", "Kota Bandung"),
        ("3275", "Kota Bekasi"), ("3276", "Kota Depok"), ("3277", "Kota Cimahi"),
    ),
    _province(
        "33", "Jawa Tengah", 36.52,
        ("3301", "Kabupaten Cilacap"), ("3302", "Kabupaten Banyumas"),
        ("3305", "Kabupaten Kebumen"), ("3310", "Kabupaten Klaten"),
        ("3315", "Kabupaten Grobogan"), ("3318", "Kabupaten Pati"), ("3328", "Kabupaten Tegal"),
        ("3329", "Kabupaten Brebes"), ("3371", "Kota Magelang"), ("3372", "Kota Surakarta"),
        ("3374", "Kota Semarang"), ("3376", "Kota Tegal"),
    ),
    _province(
        "34", "DI Yogyakarta", 3.67,
        ("3401", "Kabupaten Kulon Progo"), ("3402", "Kabupaten Bantul"),
        ("3403", "Kabupaten Gunungkidul"), ("3404", "Kabupaten Sleman"),
        ("3471", "Kota Yogyakarta"),
    ),
    _province(
        "35", "Jawa Timur", 40.67,
        ("3507", "Kabupaten Malang"), ("3509", "Kabupaten Jember"),
        ("3510", "Kabupaten Banyuwangi"), ("3515", "Kabupaten Sidoarjo"),
        ("3517", "Kabupaten Jombang"), ("3522", "Kabupaten Bojonegoro"),
        ("3524", "Kabupaten Lamongan"), ("3525", "Kabupaten Gresik"),
        ("3526", "Kabupaten Bangkalan"), ("3529", "Kabupaten Sumenep"), ("3571", "Kota Kediri"),
        ("3573", "Kota Malang"), ("3578", "Kota Surabaya"), ("3579", "Kota Batu"),
    ),
    _province(
        "36", "Banten", 11.90,
        ("3601", "Kabupaten Pandeglang"), ("3602", "Kabupaten Lebak"),
        ("3603", "Kabupaten Tangerang"), ("3604", "Kabupaten Serang"), ("3671", "Kota Tangerang"),
        ("3672", "Kota Cilegon"), ("3673", "Kota Serang"), ("3674", "Kota Tangerang Selatan"),
    ),
    _province(
        "51", "Bali", 4.32,
        ("5102", "Kabupaten Tabanan"), ("5103", "Kabupaten Badung"), ("5104", "Kabupaten Gianyar"),
        ("5108", "Kabupaten Buleleng"), ("5171", "Kota Denpasar"),
    ),
    _province(
        "52", "Nusa Tenggara Barat", 5.32,
        ("5201", "Kabupaten Lombok Barat"), ("5202", "Kabupaten Lombok Tengah"),
        ("5203", "Kabupaten Lombok Timur"), ("5206", "Kabupaten Bima"),
        ("5271", "Kota Mataram"), ("5272", "Kota Bima"),
    ),
    _province(
        "53", "Nusa Tenggara Timur", 5.33,
        ("5301", "Kabupaten Kupang"), ("5302", "Kabupaten Timor Tengah Selatan"),
        ("5308", "Kabupaten Ende"), ("5310", "Kabupaten Manggarai"),
        ("5311", "Kabupaten Sumba Timur"), ("5371", "Kota Kupang"),
    ),
    _province(
        "61", "Kalimantan Barat", 5.41,
        ("6101", "Kabupaten Sambas"), ("6103", "Kabupaten Sanggau"),
        ("6104", "Kabupaten Ketapang"), ("6112", "Kabupaten Kubu Raya"),
        ("6171", "Kota Pontianak"), ("6172", "Kota Singkawang"),
    ),
    _province(
        "62", "Kalimantan Tengah", 2.67,
        ("6201", "Kabupaten Kotawaringin Barat"), ("6202", "Kabupaten Kotawaringin Timur"),
        ("6203", "Kabupaten Kapuas"), ("6271", "Kota Palangka Raya"),
    ),
    _province(
        "63", "Kalimantan Selatan", 4.07,
        ("6301", "Kabupaten Tanah Laut"), ("6302", "Kabupaten Kotabaru"),
        ("6303", "Kabupaten Banjar"), ("6371", "Kota Banjarmasin"), ("6372", "Kota Banjarbaru"),
    ),
    _province(
        "64", "Kalimantan Timur", 3.77,
        ("6401", "Kabupaten Paser"), ("6402", "Kabupaten Kutai Kartanegara"),
        ("6408", "Kabupaten Kutai Timur"), ("6471", "Kota Balikpapan"),
        ("6472", "Kota Samarinda"), ("6474", "Kota Bontang"),
    ),
    _province(
        "65", "Kalimantan Utara", 0.70,
        ("6501", "Kabupaten Bulungan"), ("6502", "Kabupaten Malinau"),
        ("6503", "Kabupaten Nunukan"), ("6571", "Kota Tarakan"),
    ),
    _province(
        "71", "Sulawesi Utara", 2.62,
        ("7101", "Kabupaten Bolaang Mongondow"), ("7102", "Kabupaten Minahasa"),
        ("7106", "Kabupaten Minahasa Utara"), ("7171", "Kota Manado"), ("7172", "Kota Bitung"),
    ),
    _province(
        "72", "Sulawesi Tengah", 2.99,
        ("7201", "Kabupaten Banggai"), ("7202", "Kabupaten Poso"),
        ("7208", "Kabupaten Parigi Moutong"), ("7210", "Kabupaten Sigi"), ("7271", "Kota Palu"),
    ),
    _province(
        "73", "Sulawesi Selatan", 9.07,
        ("7302", "Kabupaten Bulukumba"), ("7306", "Kabupaten Gowa"), ("7308", "Kabupaten Bone"),
        ("7309", "Kabupaten Maros"), ("7313", "Kabupaten Wajo"), ("7371", "Kota Makassar"),
        ("7372", "Kota Parepare"), ("7373", "Kota Palopo"),
    ),
    _province(
        "74", "Sulawesi Tenggara", 2.62,
        ("7401", "Kabupaten Kolaka"), ("7402", "Kabupaten Konawe"), ("7403", "Kabupaten Muna"),
        ("7405", "Kabupaten Konawe Selatan"), ("7471", "Kota Kendari"), ("7472", "Kota Baubau"),
    ),
    _province(
        "75", "Gorontalo", 1.17,
        ("7501", "Kabupaten Gorontalo"), ("7502", "Kabupaten Boalemo"),
        ("7503", "Kabupaten Bone Bolango"), ("7504", "Kabupaten Pohuwato"),
        ("7571", "Kota Gorontalo"),
    ),
    _province(
        "76", "Sulawesi Barat", 1.42,
        ("7601", "Kabupaten Pasangkayu"), ("7602", "Kabupaten Mamuju"),
        ("7604", "Kabupaten Polewali Mandar"), ("7605", "Kabupaten Majene"),
    ),
    _province(
        "81", "Maluku", 1.85,
        ("8101", "Kabupaten Maluku Tengah"), ("8104", "Kabupaten Buru"),
        ("8106", "Kabupaten Seram Bagian Barat"), ("8171", "Kota Ambon"), ("8172", "Kota Tual"),
    ),
    _province(
        "82", "Maluku Utara", 1.28,
        ("8201", "Kabupaten Halmahera Barat"), ("8203", "Kabupaten Halmahera Utara"),
        ("8204", "Kabupaten Halmahera Selatan"), ("8271", "Kota Ternate"),
        ("8272", "Kota Tidore Kepulauan"),
    ),
    _province(
        "91", "Papua", 1.06,
        ("9103", "Kabupaten Jayapura"), ("9105", "Kabupaten Kepulauan Yapen"),
        ("9106", "Kabupaten Biak Numfor"), ("9111", "Kabupaten Keerom"),
        ("9171", "Kota Jayapura"),
    ),
    _province(
        "92", "Papua Barat", 0.56,
        ("9202", "Kabupaten Manokwari"), ("9203", "Kabupaten Fakfak"),
        ("9206", "Kabupaten Teluk Bintuni"), ("9208", "Kabupaten Kaimana"),
    ),
    _province(
        "93", "Papua Selatan", 0.52,
        ("9301", "Kabupaten Merauke"), ("9302", "Kabupaten Boven Digoel"),
        ("9303", "Kabupaten Mappi"), ("9304", "Kabupaten Asmat"),
    ),
    _province(
        "94", "Papua Tengah", 1.43,
        ("9401", "Kabupaten Nabire"), ("9402", "Kabupaten Puncak Jaya"),
        ("9403", "Kabupaten Paniai"), ("9404", "Kabupaten Mimika"),
    ),
    _province(
        "95", "Papua Pegunungan", 1.45,
        ("9501", "Kabupaten Jayawijaya"), ("9503", "Kabupaten Yahukimo"),
        ("9504", "Kabupaten Tolikara"), ("9507", "Kabupaten Lanny Jaya"),
    ),
    _province(
        "96", "Papua Barat Daya", 0.60,
        ("9601", "Kabupaten Sorong"), ("9602", "Kabupaten Sorong Selatan"),
        ("9603", "Kabupaten Raja Ampat"), ("9671", "Kota Sorong"),
    ),
)  # fmt: skip

PROVINCE_CODES: frozenset[str] = frozenset(p.code for p in PROVINCES)
#: Province code -> island group.
ISLAND_GROUPS: dict[str, str] = {p.code: p.island_group for p in PROVINCES}


@cache
def province_by_code() -> dict[str, Province]:
    return {p.code: p for p in PROVINCES}


@cache
def regency_by_code() -> dict[str, Regency]:
    return {r.code: r for p in PROVINCES for r in p.regencies}


@cache
def all_regencies() -> tuple[Regency, ...]:
    return tuple(r for p in PROVINCES for r in p.regencies)
