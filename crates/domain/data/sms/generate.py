#!/usr/bin/env python3
"""Regenerates `lengths.tsv`, the SMS-length table that orderdesk-domain's tests replay through
`SmsEncoding::measure`, from two reference implementations:

* the `gsm0338` codec (PyPI): `text.encode('gsm03.38')` succeeds exactly when every character
  has a code in the GSM 7-bit default alphabet or its extension table (3GPP TS 23.038 §6.2.1,
  §6.2.1.1), and writes an extension character as ESC + code, so the byte count is the septet
  count. UCS-2 lengths are UTF-16 code units (`len(text.encode('utf-16-le')) // 2`).
* Twilio's message-segment-calculator (npm `sms-segments-calculator`, Smart Encoding off), run
  by `twilio_segments.js` under node: the segment count (and a second opinion on the encoding
  and the septets). It packs 1120 bits a segment, less the 6-octet concatenation header once the
  text needs more than one (160 / 153 septets, 70 / 67 UCS-2 units, TS 23.040 §9.2.3.24.1), and
  never splits what it packs as one item.

Each row also gets the expectation derived from the specs alone, character by character (the
`derived` functions below). Where a reference departs from the specs, in a category listed in
README.md, the row records the spec-derived value and names the category in its `source`
column; any other disagreement between the references and the specs stops the script.

Usage (see README.md): `python generate.py` inside a venv with `gsm0338==X` installed, after
`npm ci` in this folder.
"""

import json
import random
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import gsm0338  # noqa: F401  (registers the `gsm03.38` codec)

HERE = Path(__file__).resolve().parent
GSM0338_VERSION = version("gsm0338")
SEED = 20250338

# -- The units of the references ----------------------------------------------------------------


def gsm0338_septets(text):
    """The septets `text` takes per the gsm0338 codec, or None if it is not GSM-7."""
    try:
        return len(text.encode("gsm03.38"))
    except UnicodeEncodeError:
        return None


def utf16_units(text):
    return len(text.encode("utf-16-le")) // 2


# -- What the specs say, character by character (the derived expectation) -----------------------

ESC = "\x1b"


def derived_encoding(text):
    """TS 23.038 §6.2.1: GSM-7 when every character has a code; the escape code 0x1B is not a
    character (its footnote: it escapes to the extension table), so U+001B has none."""
    if ESC not in text and gsm0338_septets(text) is not None:
        return "gsm7"
    return "ucs2"


def widths(text, encoding):
    """Per character (code point): septets (1, or 2 for ESC + an extension code) or UTF-16 units
    (1, or 2 for a surrogate pair). Neither kind of pair may be split (TS 23.040 §9.2.3.24.1)."""
    if encoding == "gsm7":
        return [gsm0338_septets(c) for c in text]
    return [utf16_units(c) for c in text]


def pack(item_widths, encoding):
    """Segments of items packed in order: one segment up to 160 septets / 70 units, else 153 /
    67 a segment, an item that does not fit whole in what is left starting the next one."""
    single, concatenated = (160, 153) if encoding == "gsm7" else (70, 67)
    if sum(item_widths) <= single:
        return 1
    segments, used = 1, 0
    for w in item_widths:
        if used + w > concatenated:
            segments, used = segments + 1, 0
        used += w
    return segments


# -- Inputs ---------------------------------------------------------------------------------------

GSM_BASIC = [bytes([code]).decode("gsm03.38") for code in range(128) if code != 0x1B]
GSM_EXTENSION = list("^{}\\[~]|€\f")
LOOK_ALIKES = list("’‘“”–—…\u00a0")
LATIN_OUTSIDE_GSM = list("êőçáíóúâîôûãõëïÿœšžłÁÊ")
CYRILLIC = list("абвгдежзийклмнопрстуфхцчшщъыьэюяЖЩЮ")
ARABIC = list("ابتثجحخدذرزسشصضطظعغفقكلمنهوي")
CJK = list("中文字符测试日本語漢字한국어")
EMOJI_BMP = list("☀☺✔❤⚡☎✈")
EMOJI_ASTRAL = list("😀😂👍🎉🚀💡🍕🤖")
FLAGS = ["🇰🇪", "🇺🇸", "🇬🇧", "🇩🇪", "🇯🇵"]
ZWJ = ["👨\u200d👩\u200d👧\u200d👦", "👩\u200d💻", "🏳\ufe0f\u200d🌈", "❤\ufe0f\u200d🔥"]
SKIN_TONES = ["👍🏽", "👋🏿", "🙏🏻", "💪🏾"]
COMBINING = ["e\u0301", "a\u0308", "n\u0303", "o\u0302\u0323", "\u0301"]
FOREIGN_BMP = LOOK_ALIKES + LATIN_OUTSIDE_GSM + CYRILLIC + ARABIC + CJK + EMOJI_BMP
# Tokens that take more than one UTF-16 unit or are more than one code point.
WIDE = EMOJI_ASTRAL + FLAGS + ZWJ + SKIN_TONES + COMBINING

GSM_TARGETS = [*range(150, 171), *range(300, 311), *range(455, 466)]
UCS2_TARGETS = [*range(65, 76), *range(130, 141), *range(195, 206)]


def fill(rng, text, target, pool, measure):
    """Appends tokens of `pool` while `text` stays within `target` units; stops at the first
    token that would pass it (so a 2-unit token may leave the text one short)."""
    for _ in range(10 * target):
        token = rng.choice(pool)
        if measure(text + token) > target:
            break
        text += token
    return text


def gsm_text(rng, target, ext_share):
    pool = GSM_BASIC * 4 + GSM_EXTENSION * ext_share
    return fill(rng, "", target, pool, gsm0338_septets)


def ucs2_text(rng, target, pool):
    return fill(rng, "", target, pool, utf16_units)


def inputs(rng):
    rows = []
    # Edges: empty, every GSM-7 character alone, every sample of the other pools alone.
    rows += ["", ESC, "a" + ESC + "b"]
    rows += GSM_BASIC + GSM_EXTENSION + FOREIGN_BMP + WIDE
    rows += ["\r\n" * 80, "\r\n" * 81, "a\r\nb€"]

    # Plain lengths around every boundary, GSM-7 with and without extension characters.
    for target in GSM_TARGETS:
        for ext_share in (0, 0, 1, 3):
            rows.append(gsm_text(rng, target, ext_share))
    # An extension character straddling (or ending at) each GSM-7 boundary: k septets first,
    # then a tail of 1 septet or one that brings the text to a boundary (-1, 0, +1 septet).
    for boundary in (153, 306, 459):
        for k in range(boundary - 3, boundary + 2):
            next_boundary = (k + 2 + 152) // 153 * 153
            for tail in (1, next_boundary - k - 3, next_boundary - k - 2, next_boundary - k - 1):
                for _ in range(3):
                    head = "".join(rng.choice(GSM_BASIC) for _ in range(k))
                    ext = rng.choice(GSM_EXTENSION)
                    rows.append(head + ext + "".join(rng.choice(GSM_BASIC) for _ in range(max(tail, 0))))
    # ... and around the single-segment boundary, with several escapes before it.
    for k in range(150, 162):
        for _ in range(4):
            rows.append(gsm_text(rng, k - 2, 2) + rng.choice(GSM_EXTENSION) + rng.choice(GSM_BASIC))

    # One non-GSM character in GSM-7 text turns it all into UCS-2 (extension chars count 1).
    for target in UCS2_TARGETS:
        for _ in range(2):
            text = gsm_text(rng, target - 2, 2)
            at = rng.randrange(len(text) + 1)
            rows.append(text[:at] + rng.choice(FOREIGN_BMP + WIDE) + text[at:])

    # UCS-2 around every boundary, from one script or mixed with emoji and GSM-7 characters.
    pools = [
        CYRILLIC,
        ARABIC,
        CJK,
        CYRILLIC + GSM_BASIC + GSM_EXTENSION,
        FOREIGN_BMP + EMOJI_ASTRAL,
        CYRILLIC + WIDE,
        GSM_BASIC + LOOK_ALIKES,
        LATIN_OUTSIDE_GSM + GSM_BASIC + COMBINING,
        EMOJI_ASTRAL + FLAGS + SKIN_TONES + ZWJ,
    ]
    for target in UCS2_TARGETS:
        for pool in pools:
            rows.append(ucs2_text(rng, target, pool))
    # A surrogate pair, flag, ZWJ sequence, skin tone or combining sequence straddling (or
    # ending at) each UCS-2 boundary: k units of BMP characters first, k from the boundary less
    # the token's width to the boundary, then a tail of 1 unit or one that brings the text to a
    # boundary (-1, 0, +1 unit).
    for boundary in (67, 134, 201):
        for wide in WIDE:
            width = utf16_units(wide)
            for k in range(boundary - width, boundary + 1):
                next_boundary = (k + width + 66) // 67 * 67
                for tail in (1, next_boundary - k - width - 1, next_boundary - k - width, next_boundary - k - width + 1):
                    head = "".join(rng.choice(CYRILLIC + CJK + GSM_BASIC) for _ in range(k))
                    body = "".join(rng.choice(CYRILLIC + GSM_BASIC) for _ in range(max(tail, 0)))
                    rows.append(head + wide + body)
    # U+001B in otherwise GSM-7 text, at any length.
    for _ in range(12):
        text = gsm_text(rng, rng.randrange(1, 200), 1)
        at = rng.randrange(len(text) + 1)
        rows.append(text[:at] + ESC + text[at:])

    # Random mixes of everything, short and long.
    every = GSM_BASIC * 3 + GSM_EXTENSION + FOREIGN_BMP + WIDE
    for _ in range(700):
        n = rng.choice([rng.randrange(1, 40), rng.randrange(60, 220)])
        rows.append("".join(rng.choice(every) for _ in range(n)))
    for _ in range(300):
        rows.append(gsm_text(rng, rng.randrange(1, 480), rng.choice([0, 1, 3])))
    return rows


# -- The table --------------------------------------------------------------------------------------


def twilio(texts):
    node = subprocess.run(
        ["node", str(HERE / "twilio_segments.js")],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        check=True,
    )
    answer = json.loads(node.stdout)
    return answer["version"], answer["rows"]


def row(text, tw):
    """The row's (encoding, units, segments, source), or exit on an unexplained disagreement."""
    septets = gsm0338_septets(text)
    reference_encoding = "gsm7" if septets is not None else "ucs2"
    twilio_encoding = {"GSM-7": "gsm7", "UCS-2": "ucs2"}[tw["encoding"]]
    encoding = derived_encoding(text)
    units = septets if encoding == "gsm7" else utf16_units(text)
    segments = pack(widths(text, encoding), encoding)
    categories = []

    def differ(what, ours, theirs):
        sys.exit(f"unexplained disagreement on {what} for {text!r}: specs {ours}, reference {theirs}")

    # Encoding and units: gsm0338 (and Twilio as a second opinion).
    if reference_encoding != encoding:
        if ESC in text:
            categories.append("esc")  # gsm0338 encodes U+001B as the escape code itself
        else:
            differ("encoding", encoding, f"gsm0338 {reference_encoding}")
    if twilio_encoding != encoding:
        differ("encoding", encoding, f"twilio {twilio_encoding}")
    if encoding == "gsm7" and tw["characters"] != units:
        differ("septets", units, f"twilio {tw['characters']}")

    # Segments: Twilio. It packs grapheme clusters whole; check that this explains any difference.
    if tw["segments"] != segments:
        clusters = pack([sum(widths(g, encoding)) for g in tw["graphemes"]], encoding)
        if clusters == tw["segments"] and "".join(tw["graphemes"]) == text:
            categories.append("cluster")
        else:
            differ("segments", segments, f"twilio {tw['segments']}")

    source = "spec:" + ",".join(categories) if categories else "reference"
    return encoding, units, segments, source


def main():
    rng = random.Random(SEED)
    texts = list(dict.fromkeys(inputs(rng)))  # unique, in order
    twilio_version, answers = twilio(texts)
    lines = []
    counts = {}
    for text, tw in zip(texts, answers, strict=True):
        encoding, units, segments, source = row(text, tw)
        counts[source] = counts.get(source, 0) + 1
        lines.append(f"{json.dumps(text)}\t{encoding}\t{units}\t{segments}\t{source}\n")
    header = (
        f"# gsm0338 {GSM0338_VERSION} + sms-segments-calculator {twilio_version} SMS lengths "
        f"(generate.py, seed {SEED}): input as a JSON string, encoding (gsm7|ucs2), units "
        "(septets|UTF-16 code units), segments, source (reference, or spec:CATEGORY where "
        "README.md says a reference departs from the specs)\n"
    )
    (HERE / "lengths.tsv").write_text(header + "".join(lines), encoding="utf-8")
    summary = ", ".join(f"{n} {source}" for source, n in sorted(counts.items()))
    print(f"gsm0338 {GSM0338_VERSION}, sms-segments-calculator {twilio_version}: lengths.tsv {len(lines)} rows ({summary})")


if __name__ == "__main__":
    main()
