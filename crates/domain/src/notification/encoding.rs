//! How long an SMS is: its data coding (GSM 7-bit default alphabet or UCS-2), its length in
//! that coding's units, and how many segments it takes.
//!
//! Sources: 3GPP TS 23.038 §6.2.1 (the GSM 7-bit default alphabet) and §6.2.1.1 (its extension
//! table, reached with the escape code 0x1B), and TS 23.040 §9.2.3.24.1 (concatenated short
//! messages: the user-data header takes 6 octets of the 140, leaving 153 septets or 67 UCS-2
//! characters a segment).
//!
//! A test replays `data/sms/lengths.tsv`, generated inputs measured by the `gsm0338` codec and
//! Twilio's `sms-segments-calculator` (see `data/sms/README.md` for where they depart from the
//! specs), through [`SmsEncoding::measure`].

use std::borrow::Cow;

use unicode_segmentation::UnicodeSegmentation;

/// The escape code (0x1B) of the GSM 7-bit default alphabet: the next septet is read from the
/// extension table. It is not a character of its own.
const ESCAPE: usize = 0x1B;

/// The GSM 7-bit default alphabet, indexed by septet value: 3GPP TS 23.038 §6.2.1, Figure 1
/// (rows here are the spec's columns 0-7 read top to bottom, 16 codes each). 0x0A is line feed,
/// 0x0D carriage return, and 0x1B the escape to the extension table (never a character: see
/// [`gsm7_septets`]).
#[rustfmt::skip]
const GSM7_BASIC: [char; 128] = [
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å',       // 0x00-0x0F
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', '\u{1B}', 'Æ', 'æ', 'ß', 'É', // 0x10-0x1F (0x1B: escape)
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/',       // 0x20-0x2F (0x24: ¤, not $)
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?',        // 0x30-0x3F
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O',        // 0x40-0x4F
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§',        // 0x50-0x5F
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',        // 0x60-0x6F
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à',        // 0x70-0x7F
];

/// The GSM 7-bit default alphabet extension table, indexed by the septet after the escape:
/// 3GPP TS 23.038 §6.2.1.1, Figure 2. Each character costs two septets (escape + code). Codes
/// without a character (`None`) are not sent; 0x0D (page break) and 0x1B (a second escape,
/// reserved) are not characters either.
const GSM7_EXTENSION: [Option<char>; 128] = {
    let mut table = [None; 128];
    table[0x0A] = Some('\u{0C}'); // form feed
    table[0x14] = Some('^');
    table[0x28] = Some('{');
    table[0x29] = Some('}');
    table[0x2F] = Some('\\');
    table[0x3C] = Some('[');
    table[0x3D] = Some('~');
    table[0x3E] = Some(']');
    table[0x40] = Some('|');
    table[0x65] = Some('€');
    table
};

/// How many septets `c` takes in the GSM 7-bit default alphabet: 1 for a character of the
/// basic table, 2 for one of the extension table (escape + code), `None` when it has no GSM-7
/// code (3GPP TS 23.038 §6.2.1 and §6.2.1.1).
pub fn gsm7_septets(c: char) -> Option<usize> {
    // Texts are mostly ASCII: a table lookup instead of a search of both tables per character.
    if c.is_ascii() {
        return match ASCII_SEPTETS[c as usize] {
            0 => None,
            n => Some(usize::from(n)),
        };
    }
    if GSM7_BASIC.iter().enumerate().any(|(code, &t)| t == c && code != ESCAPE) {
        Some(1)
    } else if GSM7_EXTENSION.contains(&Some(c)) {
        Some(2)
    } else {
        None
    }
}

/// [`gsm7_septets`] of each ASCII character (0: not in GSM-7), worked out from the two tables
/// at compile time with the same precedence: the basic table first, then the extension.
const ASCII_SEPTETS: [u8; 128] = {
    let mut table = [0u8; 128];
    let mut code = 0;
    while code < GSM7_BASIC.len() {
        let c = GSM7_BASIC[code] as usize;
        if c < 128 && code != ESCAPE {
            table[c] = 1;
        }
        code += 1;
    }
    let mut code = 0;
    while code < GSM7_EXTENSION.len() {
        if let Some(c) = GSM7_EXTENSION[code]
            && (c as usize) < 128
            && table[c as usize] == 0
        {
            table[c as usize] = 2;
        }
        code += 1;
    }
    table
};

/// The data coding of an SMS (3GPP TS 23.038 §4 and §6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SmsEncoding {
    /// The GSM 7-bit default alphabet and its extension table; lengths are in septets.
    Gsm7,
    /// UCS-2 (sent as UTF-16, so characters outside the BMP take a surrogate pair); lengths
    /// are in UTF-16 code units.
    Ucs2,
}

impl SmsEncoding {
    /// Both codings.
    pub const ALL: [Self; 2] = [Self::Gsm7, Self::Ucs2];

    /// The stored and wire name: `gsm7` or `ucs2`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gsm7 => "gsm7",
            Self::Ucs2 => "ucs2",
        }
    }

    /// Parses a name given by [`SmsEncoding::as_str`]; unknown names give `None`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == name)
    }

    /// What lengths in this coding count: `septets` or `UTF-16 code units`.
    pub fn unit_name(self) -> &'static str {
        match self {
            Self::Gsm7 => "septets",
            Self::Ucs2 => "UTF-16 code units",
        }
    }

    /// The units one unconcatenated SMS holds: 160 septets or 70 UTF-16 code units
    /// (the 140 octets of user data, 3GPP TS 23.040 §9.2.3.16, packed as in TS 23.038 §6.1.2).
    pub fn single_segment_units(self) -> usize {
        match self {
            Self::Gsm7 => 160,
            Self::Ucs2 => 70,
        }
    }

    /// The units each segment of a concatenated SMS holds: 153 septets or 67 UTF-16 code
    /// units (the 6-octet concatenation header of 3GPP TS 23.040 §9.2.3.24.1 comes out of the
    /// 140 octets).
    pub fn concatenated_segment_units(self) -> usize {
        match self {
            Self::Gsm7 => 153,
            Self::Ucs2 => 67,
        }
    }

    /// The most units that fit in `segments` segments whatever the text: the single-segment
    /// size for 1, else one unit less than [`SmsEncoding::concatenated_segment_units`] a
    /// segment, since an escape sequence or a surrogate pair that would straddle a boundary
    /// moves whole to the next segment and may leave one unit of each segment unused.
    /// 0 segments hold nothing.
    pub fn guaranteed_units(self, segments: u8) -> usize {
        match segments {
            0 => 0,
            1 => self.single_segment_units(),
            n => usize::from(n) * (self.concatenated_segment_units() - 1),
        }
    }

    /// The coding `text` needs: [`SmsEncoding::Gsm7`] when every character is in the GSM 7-bit
    /// default alphabet or its extension table, else [`SmsEncoding::Ucs2`].
    pub fn of(text: &str) -> Self {
        if text.chars().all(|c| gsm7_septets(c).is_some()) { Self::Gsm7 } else { Self::Ucs2 }
    }

    /// Measures `text`: its coding ([`SmsEncoding::of`]), its length in that coding's units
    /// (septets, an extension-table character counting 2; or UTF-16 code units, a character
    /// outside the BMP counting 2) and the segments it takes. Up to the single-segment size
    /// (160 / 70) it is one segment; beyond, the characters are packed in order into segments
    /// of 153 septets / 67 code units (3GPP TS 23.040 §9.2.3.24.1), and a character that does
    /// not fit whole in what is left of a segment (an escape sequence, a surrogate pair) starts
    /// the next one. Empty text is one (empty) segment.
    pub fn measure(text: &str) -> SmsLength {
        let encoding = Self::of(text);
        let width = |c: char| match encoding {
            Self::Gsm7 => gsm7_septets(c).unwrap_or(1),
            Self::Ucs2 => c.len_utf16(),
        };
        let units = text.chars().map(width).sum();
        let segments = if units <= encoding.single_segment_units() {
            1
        } else {
            let capacity = encoding.concatenated_segment_units();
            let (mut segments, mut used) = (1, 0);
            for w in text.chars().map(width) {
                if used + w > capacity {
                    segments += 1;
                    used = 0;
                }
                used += w;
            }
            segments
        };
        SmsLength { encoding, units, segments }
    }
}

impl std::fmt::Display for SmsEncoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The length of an SMS text, from [`SmsEncoding::measure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SmsLength {
    /// The coding the text needs.
    pub encoding: SmsEncoding,
    /// The length in that coding's units: septets for GSM-7, UTF-16 code units for UCS-2.
    pub units: usize,
    /// The SMS segments it takes (at least 1).
    pub segments: usize,
}

impl SmsLength {
    /// Whether it takes at most `max_segments` segments.
    pub fn fits(&self, max_segments: u8) -> bool {
        self.segments <= usize::from(max_segments)
    }
}

/// The GSM-7 text a look-alike character is sent as, if it has one.
fn look_alike(c: char) -> Option<&'static str> {
    Some(match c {
        // Single quotes, apostrophes and primes; grave and acute accents used as apostrophes.
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '\u{2039}' | '\u{203A}' | '`' | '\u{00B4}' => {
            "'"
        }
        // Double quotes, double prime and guillemets.
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' | '\u{00AB}' | '\u{00BB}' => "\"",
        // Hyphens, dashes and the minus sign.
        '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2015}' | '\u{2212}' => "-",
        '\u{2026}' => "...",
        // No-break, figure, narrow no-break, en/em/thin/hair and the other fixed-width spaces,
        // and the medium mathematical space.
        '\u{00A0}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' => " ",
        _ => return None,
    })
}

/// Replaces typographic look-alikes that have no GSM-7 code with the GSM-7 characters they
/// look like, so that text typed on a phone or pasted from a word processor stays in the GSM
/// 7-bit alphabet (160 septets a segment) instead of forcing UCS-2 (70):
///
/// - `’ ‘ ‚ ‛ ′ ‹ ›`, the grave accent `` ` `` and the acute accent `´` → `'`
/// - `“ ” „ ‟ ″ « »` → `"`
/// - `‐ ‑ ‒ – — ― −` (U+2010-U+2015, U+2212) → `-`
/// - `…` → `...`
/// - no-break space U+00A0, the spaces U+2000-U+200A (en, em, figure, thin, hair, ...), narrow
///   no-break space U+202F and medium mathematical space U+205F → space
///
/// Letters are never changed (an accented letter without a GSM-7 code stays as it is).
/// Borrows `text` when nothing is replaced.
pub fn transliterate(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| look_alike(c).is_some()) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match look_alike(c) {
            Some(replacement) => out.push_str(replacement),
            None => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A GSM-7 form of `text`, grapheme cluster by cluster: a cluster whose first character has a
/// GSM-7 code keeps its GSM-7 characters (so `e` + combining acute becomes `e`), any other
/// cluster (a flag, an emoji sequence, a letter of another script) becomes one `?`.
pub(crate) fn gsm7_lossy(text: &str) -> Cow<'_, str> {
    if SmsEncoding::of(text) == SmsEncoding::Gsm7 {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for grapheme in text.graphemes(true) {
        if grapheme.chars().next().and_then(gsm7_septets).is_some() {
            out.extend(grapheme.chars().filter(|c| gsm7_septets(*c).is_some()));
        } else {
            out.push('?');
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod reference_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn the_ascii_table_answers_as_the_search_of_both_tables_does() {
        for c in (0u8..128).map(char::from) {
            let searched = if GSM7_BASIC.iter().enumerate().any(|(code, &t)| t == c && code != ESCAPE) {
                Some(1)
            } else if GSM7_EXTENSION.contains(&Some(c)) {
                Some(2)
            } else {
                None
            };
            assert_eq!(gsm7_septets(c), searched, "{c:?}");
        }
    }

    #[test]
    fn the_basic_table_has_128_distinct_codes_at_their_spec_positions() {
        assert_eq!(GSM7_BASIC.iter().collect::<HashSet<_>>().len(), 128);
        let position = |c: char| GSM7_BASIC.iter().position(|&t| t == c);
        for (c, code) in [
            ('@', 0x00),
            ('£', 0x01),
            ('$', 0x02),
            ('¥', 0x03),
            ('Ç', 0x09),
            ('\n', 0x0A),
            ('\r', 0x0D),
            ('Δ', 0x10),
            ('_', 0x11),
            ('Φ', 0x12),
            ('Ξ', 0x1A),
            ('É', 0x1F),
            (' ', 0x20),
            ('¤', 0x24),
            ('0', 0x30),
            ('?', 0x3F),
            ('¡', 0x40),
            ('A', 0x41),
            ('Z', 0x5A),
            ('Ä', 0x5B),
            ('§', 0x5F),
            ('¿', 0x60),
            ('a', 0x61),
            ('ü', 0x7E),
            ('à', 0x7F),
        ] {
            assert_eq!(position(c), Some(code), "{c:?}");
        }
        assert_eq!(GSM7_BASIC[ESCAPE], '\u{1B}');
        assert_eq!(gsm7_septets('\u{1B}'), None, "the escape code is not a character");
        // Absent from both tables.
        for c in ['`', 'ç', 'á', 'ж', '\u{2019}', '\u{A0}', '😀'] {
            assert_eq!(gsm7_septets(c), None, "{c:?}");
        }
    }

    #[test]
    fn the_extension_table_has_its_ten_characters_at_their_spec_positions() {
        assert_eq!(GSM7_EXTENSION.iter().flatten().count(), 10);
        let position = |c: char| GSM7_EXTENSION.iter().position(|&t| t == Some(c));
        for (c, code) in [
            ('\u{0C}', 0x0A),
            ('^', 0x14),
            ('{', 0x28),
            ('}', 0x29),
            ('\\', 0x2F),
            ('[', 0x3C),
            ('~', 0x3D),
            (']', 0x3E),
            ('|', 0x40),
            ('€', 0x65),
        ] {
            assert_eq!(position(c), Some(code), "{c:?}");
            assert!(!GSM7_BASIC.contains(&c), "{c:?} is only in the extension table");
        }
    }

    #[test]
    fn extension_characters_count_two_septets_and_stay_gsm7() {
        for c in ['^', '{', '}', '\\', '[', '~', ']', '|', '€', '\u{0C}'] {
            assert_eq!(gsm7_septets(c), Some(2), "{c:?}");
            let length = SmsEncoding::measure(&format!("a{c}"));
            assert_eq!((length.encoding, length.units, length.segments), (SmsEncoding::Gsm7, 3, 1), "{c:?}");
        }
        let length = SmsEncoding::measure("Rice [5kg] {promo}");
        assert_eq!(length.encoding, SmsEncoding::Gsm7);
        assert_eq!(length.units, 18 + 4);
    }

    #[test]
    fn gsm7_single_segment_is_160_septets() {
        assert_eq!(SmsEncoding::measure(&"a".repeat(160)).segments, 1);
        assert_eq!(SmsEncoding::measure(&"a".repeat(161)).segments, 2);
        assert_eq!(SmsEncoding::measure(&format!("{}€", "a".repeat(158))).segments, 1);
        let over = SmsEncoding::measure(&format!("{}€", "a".repeat(159)));
        assert_eq!((over.units, over.segments), (161, 2));
        assert_eq!(SmsEncoding::measure("").segments, 1);
    }

    #[test]
    fn gsm7_concatenated_segments_are_153_septets_and_never_split_an_escape() {
        assert_eq!(SmsEncoding::measure(&"a".repeat(306)).segments, 2);
        assert_eq!(SmsEncoding::measure(&"a".repeat(307)).segments, 3);
        // The escape sequence at septets 153-154 would straddle the boundary: it moves whole.
        let straddling = format!("{}€{}", "a".repeat(152), "a".repeat(152));
        let length = SmsEncoding::measure(&straddling);
        assert_eq!((length.units, length.segments), (306, 3));
        // Ending exactly at the boundary, it fits.
        let fitting = format!("{}€{}", "a".repeat(151), "a".repeat(153));
        assert_eq!(SmsEncoding::measure(&fitting).segments, 2);
    }

    #[test]
    fn ucs2_single_segment_is_70_code_units_and_an_emoji_is_2() {
        assert_eq!(SmsEncoding::measure(&"ж".repeat(70)).segments, 1);
        let over = SmsEncoding::measure(&"ж".repeat(71));
        assert_eq!((over.encoding, over.units, over.segments), (SmsEncoding::Ucs2, 71, 2));
        let emoji = SmsEncoding::measure("😀");
        assert_eq!((emoji.encoding, emoji.units), (SmsEncoding::Ucs2, 2));
        assert_eq!(SmsEncoding::measure(&format!("{}😀", "ж".repeat(68))).segments, 1);
        assert_eq!(SmsEncoding::measure(&format!("{}😀", "ж".repeat(69))).segments, 2);
        // GSM-7 characters in UCS-2 text count one code unit each, extension ones included.
        assert_eq!(SmsEncoding::measure("ж€").units, 2);
    }

    #[test]
    fn ucs2_concatenated_segments_are_67_code_units_and_never_split_a_surrogate_pair() {
        assert_eq!(SmsEncoding::measure(&"ж".repeat(134)).segments, 2);
        assert_eq!(SmsEncoding::measure(&"ж".repeat(135)).segments, 3);
        let straddling = format!("{}😀{}", "ж".repeat(66), "ж".repeat(66));
        let length = SmsEncoding::measure(&straddling);
        assert_eq!((length.units, length.segments), (134, 3));
        let fitting = format!("{}😀{}", "ж".repeat(65), "ж".repeat(67));
        assert_eq!(SmsEncoding::measure(&fitting).segments, 2);
    }

    #[test]
    fn guaranteed_units_leave_room_for_a_moved_unit_a_segment() {
        assert_eq!(SmsEncoding::Gsm7.guaranteed_units(1), 160);
        assert_eq!(SmsEncoding::Gsm7.guaranteed_units(2), 304);
        assert_eq!(SmsEncoding::Ucs2.guaranteed_units(1), 70);
        assert_eq!(SmsEncoding::Ucs2.guaranteed_units(3), 198);
        // The worst packing of 304 septets: every segment boundary wastes one.
        let worst = format!("{}€{}€", "a".repeat(152), "a".repeat(150));
        assert_eq!(SmsEncoding::measure(&worst).units, 306);
        assert_eq!(SmsEncoding::measure(&worst).segments, 3);
    }

    #[test]
    fn names_round_trip() {
        for encoding in SmsEncoding::ALL {
            assert_eq!(SmsEncoding::parse(encoding.as_str()), Some(encoding));
        }
        assert_eq!(SmsEncoding::Gsm7.as_str(), "gsm7");
        assert_eq!(SmsEncoding::Ucs2.as_str(), "ucs2");
        assert_eq!(SmsEncoding::parse("GSM7"), None);
    }

    #[test]
    fn every_look_alike_is_transliterated_to_gsm7() {
        let cases: [(&[char], &str); 5] = [
            (&['\u{2019}', '\u{2018}', '\u{201A}', '\u{201B}', '\u{2032}', '\u{2039}', '\u{203A}', '`', '\u{B4}'], "'"),
            (&['\u{201C}', '\u{201D}', '\u{201E}', '\u{201F}', '\u{2033}', '\u{AB}', '\u{BB}'], "\""),
            (&['\u{2013}', '\u{2014}', '\u{2012}', '\u{2015}', '\u{2212}', '\u{2010}', '\u{2011}'], "-"),
            (&['\u{2026}'], "..."),
            (
                &[
                    '\u{A0}', '\u{2000}', '\u{2001}', '\u{2002}', '\u{2003}', '\u{2004}', '\u{2005}', '\u{2006}',
                    '\u{2007}', '\u{2008}', '\u{2009}', '\u{200A}', '\u{202F}', '\u{205F}',
                ],
                " ",
            ),
        ];
        for (chars, expected) in cases {
            for &c in chars {
                assert_eq!(gsm7_septets(c), None, "{c:?} has no GSM-7 code of its own");
                let text = format!("a{c}b");
                let out = transliterate(&text);
                assert_eq!(out, format!("a{expected}b"), "{c:?}");
                assert_eq!(SmsEncoding::of(&out), SmsEncoding::Gsm7, "{c:?}");
            }
        }
        assert!(matches!(transliterate("plain text"), Cow::Borrowed("plain text")));
        assert_eq!(transliterate("café ж"), "café ж", "letters are never changed");
        let shoes = transliterate("Men’s shoes size 42");
        assert_eq!(shoes, "Men's shoes size 42");
        let length = SmsEncoding::measure(&shoes);
        assert_eq!((length.encoding, length.segments), (SmsEncoding::Gsm7, 1));
    }

    #[test]
    fn the_lossy_gsm7_form_replaces_whole_clusters() {
        assert_eq!(gsm7_lossy("Tea 🇰🇪 e\u{301}x 👍🏽 ж€"), "Tea ? ex ? ?€");
        assert_eq!(gsm7_lossy("👨‍👩‍👧‍👦"), "?");
        assert!(matches!(gsm7_lossy("Rice [5kg]"), Cow::Borrowed(_)));
    }
}
