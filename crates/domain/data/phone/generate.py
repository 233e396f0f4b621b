#!/usr/bin/env python3
"""Regenerates the phone-number data of orderdesk-domain from the `phonenumbers` package.

`phonenumbers` is the Python port of Google's libphonenumber; its version names the
libphonenumber metadata version it carries. This script writes, next to itself:

* `PhoneNumberMetadata.xml`: libphonenumber's metadata in the XML dialect that the Rust
  `phonenumber` crate's loader (`phonenumber::metadata::Database::parse`) reads. The header
  comment names the version; `crates/domain/src/phone.rs` embeds the file with `include_str!`.
* `verdicts.tsv`: generated inputs with libphonenumber's verdict (`parse` then
  `is_valid_number`, then `format_number(E164)`) and, for a valid number, its type
  (`number_type`, libphonenumber's getNumberType), which the domain crate's tests replay.

Usage (see README.md): `python generate.py` inside a venv with `phonenumbers==X` installed.
"""

import random
import re
import sys
from pathlib import Path

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumberFormat, PhoneNumberType
from phonenumbers.data import _AVAILABLE_REGION_CODES

HERE = Path(__file__).resolve().parent
VERSION = phonenumbers.__version__
SEED = 20250143

# -- 1. Metadata XML ---------------------------------------------------------------------

# (python attribute, XML element) in the order libphonenumber's own XML uses.
DESCRIPTORS = [
    ("general_desc", "generalDesc"),
    ("fixed_line", "fixedLine"),
    ("mobile", "mobile"),
    ("pager", "pager"),
    ("toll_free", "tollFree"),
    ("premium_rate", "premiumRate"),
    ("shared_cost", "sharedCost"),
    ("personal_number", "personalNumber"),
    ("voip", "voip"),
    ("uan", "uan"),
    ("voicemail", "voicemail"),
    ("no_international_dialling", "noInternationalDialling"),
]


def raw(value, regex=True):
    """The Rust loader reads attribute values and text without unescaping: refuse what
    would need escaping, and in a regex whitespace or `#` (its regexes ignore whitespace
    and comments)."""
    value = str(value)
    bad = set("&<>\"'") | ({"#", " ", "\t", "\n"} if regex else set())
    if any(c in bad for c in value):
        sys.exit(f"metadata value {value!r} cannot be written raw")
    return value


def group_refs(template, fg=False):
    """Python's `\\1` group references → the Rust crate's: `$FG` for the first group of a
    formatting rule (the crate substitutes it), otherwise `${n}` (safe before digits)."""
    if fg:
        return re.sub(r"\\1", "$FG", template)
    return re.sub(r"\\(\d)", r"${\1}", template)


def format_refs(template):
    # The crate finds the first group of a format with `\$\d`, so formats keep `$n`;
    # a digit right after a reference would be misread, so refuse it.
    out = re.sub(r"\\(\d)", r"$\1", template)
    if re.search(r"\$\d\d", out):
        sys.exit(f"format {template!r} has a group reference followed by a digit")
    return out


def lengths(values):
    values = [v for v in values or () if v != -1]
    return ",".join(str(v) for v in values)


def descriptor(meta, attr, element):
    desc = getattr(meta, attr, None)
    if desc is None or desc.national_number_pattern is None:
        return ""
    national = lengths(desc.possible_length)
    if desc.possible_length == (-1,) or (desc.possible_length and not national):
        return ""  # "no numbers of this type": omitting the descriptor means the same
    attrs = ""
    if national:
        attrs += f' national="{national}"'
    local = lengths(desc.possible_length_local_only)
    if local:
        attrs += f' localOnly="{local}"'
    out = f"<{element}><nationalNumberPattern>{raw(desc.national_number_pattern)}</nationalNumberPattern>"
    if attrs:
        out += f"<possibleLengths{attrs}/>"
    return out + f"</{element}>"


def number_format(fmt, intl):
    attrs = f' pattern="{raw(fmt.pattern)}"'
    if fmt.national_prefix_formatting_rule:
        attrs += f' nationalPrefixFormattingRule="{raw(group_refs(fmt.national_prefix_formatting_rule, fg=True), regex=False)}"'
    if fmt.national_prefix_optional_when_formatting:
        attrs += ' nationalPrefixOptionalWhenFormatting="true"'
    if fmt.domestic_carrier_code_formatting_rule:
        attrs += f' carrierCodeFormattingRule="{raw(group_refs(fmt.domestic_carrier_code_formatting_rule, fg=True), regex=False)}"'
    out = f"<numberFormat{attrs}>"
    for leading in fmt.leading_digits_pattern:
        out += f"<leadingDigits>{raw(leading)}</leadingDigits>"
    # Formats contain spaces on purpose: they are not regexes, so only check escaping.
    fmt_text = format_refs(fmt.format)
    if any(c in "&<>" for c in fmt_text):
        sys.exit(f"format {fmt_text!r} cannot be written raw")
    out += f"<format>{fmt_text}</format>"
    if intl is None:
        out += "<intlFormat>NA</intlFormat>"
    elif intl.format != fmt.format:
        out += f"<intlFormat>{format_refs(intl.format)}</intlFormat>"
    return out + "</numberFormat>"


def formats(meta):
    if not meta.number_format:
        return ""
    intl_list = list(meta.intl_number_format)
    out = "<availableFormats>"
    for fmt in meta.number_format:
        if not intl_list and not meta.intl_number_format:
            intl = fmt  # no intlNumberFormat list: international formats are the national ones
        else:
            intl = None
            for i, cand in enumerate(intl_list):
                if cand.pattern == fmt.pattern and list(cand.leading_digits_pattern) == list(fmt.leading_digits_pattern):
                    intl = intl_list.pop(i)
                    break
        out += number_format(fmt, intl)
    if intl_list:
        sys.exit(f"{meta.id}: international formats without a national one")
    return out + "</availableFormats>"


def written_pattern(meta, attr, element):
    """The pattern of descriptor `attr` as written to the XML, or None if it is omitted."""
    text = descriptor(meta, attr, element)
    found = re.search(r"<nationalNumberPattern>(.*?)</nationalNumberPattern>", text)
    return found.group(1) if found else None


def check_same_pattern_flag(meta):
    """The loader does not read libphonenumber's `sameMobileAndFixedLinePattern`; the Rust
    code derives it (as libphonenumber's BuildMetadataFromXml does) from the fixed-line and
    mobile patterns being equal, an omitted descriptor counting as no pattern. Stop if that
    ever disagrees with the flag of the metadata."""
    derived = written_pattern(meta, "fixed_line", "fixedLine") == written_pattern(meta, "mobile", "mobile")
    if bool(meta.same_mobile_and_fixed_line_pattern) != derived:
        sys.exit(f"{meta.id} {meta.country_code}: sameMobileAndFixedLinePattern is "
                 f"{meta.same_mobile_and_fixed_line_pattern}, the XML's patterns say {derived}")


def territory(meta):
    check_same_pattern_flag(meta)
    attrs = f' id="{meta.id}" countryCode="{meta.country_code}"'
    optional = [
        ("internationalPrefix", meta.international_prefix),
        ("preferredInternationalPrefix", meta.preferred_international_prefix),
        ("nationalPrefix", meta.national_prefix),
        ("preferredExtnPrefix", meta.preferred_extn_prefix),
        ("nationalPrefixForParsing", meta.national_prefix_for_parsing),
        ("nationalPrefixTransformRule",
         group_refs(meta.national_prefix_transform_rule) if meta.national_prefix_transform_rule else None),
        ("leadingDigits", meta.leading_digits),
    ]
    for name, value in optional:
        if value is not None and value != "":
            attrs += f' {name}="{raw(value, regex=not name.startswith("preferred"))}"'
    if meta.main_country_for_code:
        attrs += ' mainCountryForCode="true"'
    if meta.mobile_number_portable_region:
        attrs += ' mobileNumberPortableRegion="true"'
    out = f"<territory{attrs}>"
    out += formats(meta)
    for attr, element in DESCRIPTORS:
        out += descriptor(meta, attr, element)
    return out + "</territory>\n"


def all_metadata():
    """Territories grouped by country code, each code's regions in libphonenumber's order
    (main region first), so that the Rust database lists them in the same order."""
    available = set(_AVAILABLE_REGION_CODES)
    for cc in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE):
        for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[cc]:
            if region == "001":
                meta = PhoneMetadata.metadata_for_nongeo_region(cc)
            elif region in available:
                meta = PhoneMetadata.metadata_for_region(region)
            else:
                meta = None
            if meta is not None:
                yield meta


def write_xml():
    body = "".join(territory(meta) for meta in all_metadata())
    text = (
        f"<!-- libphonenumber metadata {VERSION}, converted by generate.py from phonenumbers=={VERSION}; do not edit -->\n"
        "<phoneNumberMetadata><territories>\n" + body + "</territories></phoneNumberMetadata>\n"
    )
    (HERE / "PhoneNumberMetadata.xml").write_text(text, encoding="utf-8")
    return len(text)


# -- 2. Verdict table --------------------------------------------------------------------

REGIONS = ["KE", "TZ", "UG", "NG", "RW", "ZA", "GB", "US", "IN", "DE",
           "FR", "AR", "MX", "BR", "IT", "AU", "CA", "RU", "ET", "GH", "CN", "JP"]
TYPES = [PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.TOLL_FREE,
         PhoneNumberType.PREMIUM_RATE, PhoneNumberType.VOIP, PhoneNumberType.UAN]
# Keypad letters for each digit, to write a digit as the letter libphonenumber maps to it.
KEYPAD = {"2": "ABC", "3": "DEF", "4": "GHI", "5": "JKL", "6": "MNO", "7": "PQRS", "8": "TUV", "9": "WXYZ"}
OTHER_LETTERS = ["O", "o", "l", "I", "é", "Ж", "ß", "x"]


# libphonenumber's PhoneNumberType → the names of the Rust `PhoneLineType::as_str`.
TYPE_NAMES = {
    PhoneNumberType.FIXED_LINE: "fixed_line",
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium_rate",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PERSONAL_NUMBER: "personal_number",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
    PhoneNumberType.UNKNOWN: "unknown",
}
# The descriptors whose example numbers seed the type coverage rows (all but the general one).
TYPE_DESCRIPTORS = [attr for attr, _ in DESCRIPTORS if attr not in ("general_desc", "no_international_dialling")]


def verdict(text, region):
    """`(E.164 or "invalid", type name or "-")`: libphonenumber's parse, isValidNumber,
    format(E164) and, for a valid number, getNumberType."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return "invalid", "-"
    if not phonenumbers.is_valid_number(number):
        return "invalid", "-"
    return phonenumbers.format_number(number, PhoneNumberFormat.E164), TYPE_NAMES[phonenumbers.number_type(number)]


def groups(digits, rng):
    out, i = [], 0
    while i < len(digits):
        step = rng.choice([2, 3, 3, 4])
        out.append(digits[i:i + step])
        i += step
    return out


def shapes(region, nsn, rng):
    """The ways people write the national significant number `nsn` of `region`."""
    meta = PhoneMetadata.metadata_for_region(region)
    cc = str(meta.country_code)
    np = meta.national_prefix or ""
    idd = {"US": "011", "CA": "011", "KE": "000", "TZ": "000", "UG": "000", "AU": "0011",
           "JP": "010", "RU": "810", "BR": "0021"}.get(region, "00")
    national = np + nsn
    out = [
        national, nsn, "+" + cc + nsn, "+" + cc + " " + national, "+" + cc + national,
        "00" + cc + nsn, "000" + cc + nsn, idd + " " + cc + " " + nsn, cc + nsn, cc + national,
        " ".join(groups(national, rng)), "-".join(groups(national, rng)), ".".join(groups(national, rng)),
        "+" + cc + " " + " ".join(groups(nsn, rng)), "+" + cc + "-" + "-".join(groups(nsn, rng)),
        "(" + national[:4] + ") " + national[4:], "+" + cc + " (" + (np or "") + ")" + nsn,
        "+" + cc + " (" + nsn[:3] + ") " + nsn[3:],
        national[:-1], nsn[:-1], "+" + cc + nsn[:-1],
        national + str(rng.randrange(10)), "+" + cc + nsn + str(rng.randrange(10)),
        national + "".join(str(rng.randrange(10)) for _ in range(rng.randint(2, 4))),
        "++" + cc + nsn, "+ " + cc + " " + nsn, "＋" + cc + nsn, "tel " + national,
        national + ".", "*" + national, "(" + national + ")", national + " )",
    ]
    return [s for s in out if s]


def with_letter(text, rng):
    """`text` with one digit written as a letter (keypad or look-alike)."""
    positions = [i for i, c in enumerate(text) if c.isdigit()]
    if not positions:
        return None
    i = rng.choice(positions)
    d = text[i]
    letter = rng.choice(KEYPAD[d]) if d in KEYPAD and rng.random() < 0.6 else rng.choice(OTHER_LETTERS)
    return text[:i] + letter + text[i + 1:]


def national_numbers(region, rng):
    """Example numbers of each type, random variants of them, and random digits."""
    out = []
    meta = PhoneMetadata.metadata_for_region(region)
    for kind in TYPES:
        example = phonenumbers.example_number_for_type(region, kind)
        if example is None:
            continue
        nsn = phonenumbers.national_significant_number(example)
        out.append(nsn)
        for _ in range(2):
            keep = rng.randint(1, max(1, len(nsn) - 2))
            out.append(nsn[:keep] + "".join(str(rng.randrange(10)) for _ in range(len(nsn) - keep)))
    lens = [n for n in meta.general_desc.possible_length if n > 0]
    for _ in range(3):
        n = rng.choice(lens)
        out.append(str(rng.randint(1, 9)) + "".join(str(rng.randrange(10)) for _ in range(n - 1)))
    return out


def kenya_new_ranges(rng):
    prefixes = ["135", "136", "137", "138", "139", "146"] + [f"18{d}" for d in range(10)]
    rows = []
    for p in prefixes:
        rest = "".join(str(rng.randrange(10)) for _ in range(6))
        rows += [("0" + p + " " + rest, "KE"), ("+254" + p + rest, "KE"), ("0" + p + rest, "KE"),
                 ("0" + p + rest[:-1], "KE"), ("000 254 " + p + rest, "KE"), ("00254" + p + rest, "KE")]
    rows.append(("0135 123456", "KE"))
    rows.append(("0712 345 6O8", "KE"))
    rows.append(("+254 0712 345678", "KE"))
    rows.append(("00254712345678", "KE"))
    rows.append(("000254712345678", "KE"))
    return rows


def digits(rng, n):
    return "".join(str(rng.randrange(10)) for _ in range(n))


def type_coverage(rng):
    """Numbers of every type, to check getNumberType: the example number of each type of
    every territory and non-geographic entity (as `+CC…`, and as written nationally for
    the regions of REGIONS) with two random variants; Kenyan, British and North American
    numbers of each kind written nationally; random numbers of the country codes shared by
    several regions (+1, +7, +44, +262, +590, +599, +61), whose type is the one of the
    region the number belongs to."""
    rows = []
    for meta in all_metadata():
        cc = str(meta.country_code)
        region = meta.id if meta.id != "001" else "KE"
        for attr in TYPE_DESCRIPTORS:
            desc = getattr(meta, attr, None)
            example = desc.example_number if desc is not None else None
            if not example:
                continue
            rows.append(("+" + cc + example, region))
            if meta.id in REGIONS:
                rows.append(((meta.national_prefix or "") + example, region))
            for _ in range(2):
                keep = rng.randint(1, max(1, len(example) - 2))
                rows.append(("+" + cc + example[:keep] + digits(rng, len(example) - keep), region))
    national = [
        # Kenya: mobiles (07…, 0110/0111, 0100-0102, the new 013x/014x/018x ranges), Nairobi
        # and other fixed lines, toll free 0800, premium rate 0900.
        ("KE", ["07" + digits(rng, 8) for _ in range(12)]),
        ("KE", [p + digits(rng, 6) for p in ["0110", "0111", "0100", "0101", "0102", "0112", "0113",
                                              "0114", "0115", "0120", "0121", "0124", "0135", "0140",
                                              "0146", "0180", "0188"] for _ in range(2)]),
        ("KE", ["020" + digits(rng, n) for n in (6, 6, 7, 7, 8) for _ in range(3)]),
        ("KE", [p + digits(rng, n) for p in ["041", "051", "057", "061", "066"] for n in (6, 7)]),
        ("KE", ["0800" + digits(rng, n) for n in (5, 6, 7) for _ in range(3)]),
        ("KE", ["0900" + digits(rng, 6) for _ in range(6)] + ["0901" + digits(rng, 5) for _ in range(3)]),
        # UK: freephone 0800/0808, 0845/0870 (premium rate in this metadata), 07624 (Isle of
        # Man mobile), 070 personal numbers, 076 pagers, 07 mobiles, 01/02 fixed lines, 03, 05, 056.
        ("GB", [p + digits(rng, 11 - len(p)) for p in ["0800", "0808", "0845", "0870", "07624", "070",
                                                        "07640", "0776", "07911", "07700", "07400",
                                                        "0121", "020", "01632", "0330", "0345",
                                                        "055", "056", "09", "0500"] for _ in range(3)]),
        # North America: fixed line or mobile, toll free, premium rate, personal numbers.
        ("US", ["(" + str(rng.randint(201, 989)) + ") " + str(rng.randint(200, 999)) + "-" + digits(rng, 4)
                for _ in range(20)]),
        ("US", [p + str(rng.randint(200, 999)) + digits(rng, 4) for p in ["800", "888", "877", "900", "500",
                                                                           "533", "700", "710"] for _ in range(2)]),
        ("CA", [p + str(rng.randint(200, 999)) + digits(rng, 4) for p in ["416", "604", "800", "900"] for _ in range(2)]),
    ]
    for region, texts in national:
        rows += [(text, region) for text in texts]
    shared = {"1": [10], "7": [10], "44": [9, 10], "262": [9], "590": [9], "599": [7, 8], "61": [9]}
    for cc, lens in shared.items():
        for _ in range(25):
            n = rng.choice(lens)
            rows.append(("+" + cc + str(rng.randint(1, 9)) + digits(rng, n - 1), "KE"))
    return rows


def write_verdicts():
    rng = random.Random(SEED)
    rows = kenya_new_ranges(rng)
    for region in REGIONS:
        for nsn in national_numbers(region, rng):
            texts = shapes(region, nsn, rng)
            for text in texts:
                rows.append((text, region))
            # The same number read with another default region.
            rows.append((texts[2], rng.choice(REGIONS)))
            for _ in range(2):
                lettered = with_letter(rng.choice(texts), rng)
                if lettered:
                    rows.append((lettered, region))
    # Appended with their own generator, so that the rows above stay as they were.
    rows += type_coverage(random.Random(SEED + 1))
    seen, lines = set(), []
    letters = 0
    for text, region in rows:
        if (text, region) in seen:
            continue
        seen.add((text, region))
        expected, kind = verdict(text, region)
        if any(c.isalpha() for c in text):
            # Our rule, stricter than libphonenumber: a letter is never a digit.
            expected, kind = "refused-letter", "-"
            letters += 1
        assert "\t" not in text and "\n" not in text
        lines.append(f"{text}\t{region}\t{expected}\t{kind}\n")
    header = (f"# libphonenumber {VERSION} verdicts (generate.py, seed {SEED}): input, default region, "
              "E.164 or invalid or refused-letter, number type (getNumberType) of a valid number or -\n")
    (HERE / "verdicts.tsv").write_text(header + "".join(lines), encoding="utf-8")
    return len(lines), letters


if __name__ == "__main__":
    size = write_xml()
    rows, letters = write_verdicts()
    print(f"phonenumbers {VERSION}: PhoneNumberMetadata.xml {size} bytes, verdicts.tsv {rows} rows ({letters} with letters)")
