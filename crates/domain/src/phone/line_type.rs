//! The line type of a phone number: libphonenumber's `PhoneNumberType` and
//! `PhoneNumberUtil.getNumberType`, over the embedded metadata, and whether an SMS is sent
//! to a number of each type (issue #22).

use phonenumber::metadata::{Descriptor, Metadata};

use super::{DATABASE, MAX_COUNTRY_CODE_DIGITS, PhoneNumber, matches_desc, region_metadata};

/// libphonenumber's `PhoneNumberType`: what kind of line a number reaches, as its
/// country's numbering plan (metadata [`PHONE_METADATA_VERSION`](super::PHONE_METADATA_VERSION))
/// says. [`PhoneNumber::line_type`] computes it with `PhoneNumberUtil.getNumberType`'s rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PhoneLineType {
    /// A fixed (landline) number, such as Nairobi's `020 …`.
    FixedLine,
    /// A mobile number, such as Kenya's `07…` and `01…`.
    Mobile,
    /// A number that may be fixed or mobile: the plan cannot tell them apart (as in North
    /// America, where fixed and mobile numbers share their ranges).
    FixedLineOrMobile,
    /// Freephone: the called party pays (`0800 …` in Kenya and the UK).
    TollFree,
    /// Premium rate: the caller pays more (`0900 …` in Kenya, `09…`, `0845`, `0870` in the UK).
    PremiumRate,
    /// Shared cost: the cost is shared between the caller and the called party.
    SharedCost,
    /// Voice over IP.
    Voip,
    /// A personal number, routed by its owner to another (fixed or mobile) line (UK `070`).
    PersonalNumber,
    /// A pager (UK `076`).
    Pager,
    /// A universal access (company) number, routed to one of the company's offices.
    Uan,
    /// A voicemail access number.
    Voicemail,
    /// A number that fits no type of its plan (a valid [`PhoneNumber`] always has a type).
    Unknown,
}

impl PhoneLineType {
    /// Every type, in declaration order.
    pub const ALL: [Self; 12] = [
        Self::FixedLine,
        Self::Mobile,
        Self::FixedLineOrMobile,
        Self::TollFree,
        Self::PremiumRate,
        Self::SharedCost,
        Self::Voip,
        Self::PersonalNumber,
        Self::Pager,
        Self::Uan,
        Self::Voicemail,
        Self::Unknown,
    ];

    /// The snake_case name of libphonenumber's constant (`FIXED_LINE` → `fixed_line`):
    /// `fixed_line`, `mobile`, `fixed_line_or_mobile`, `toll_free`, `premium_rate`,
    /// `shared_cost`, `voip`, `personal_number`, `pager`, `uan`, `voicemail`, `unknown`.
    /// The verdict table (`data/phone/verdicts.tsv`) uses the same names.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FixedLine => "fixed_line",
            Self::Mobile => "mobile",
            Self::FixedLineOrMobile => "fixed_line_or_mobile",
            Self::TollFree => "toll_free",
            Self::PremiumRate => "premium_rate",
            Self::SharedCost => "shared_cost",
            Self::Voip => "voip",
            Self::PersonalNumber => "personal_number",
            Self::Pager => "pager",
            Self::Uan => "uan",
            Self::Voicemail => "voicemail",
            Self::Unknown => "unknown",
        }
    }

    /// Whether an SMS is sent to a number of this type (issue #22: "No SMS is sent to a
    /// number that is not a mobile number; a number that may be mobile is texted").
    ///
    /// The decision, from the meaning libphonenumber gives each `PhoneNumberType`
    /// (PhoneNumberUtil.java):
    /// * **not texted**: [`FixedLine`](Self::FixedLine) (a landline cannot receive an SMS),
    ///   [`TollFree`](Self::TollFree), [`PremiumRate`](Self::PremiumRate) and
    ///   [`SharedCost`](Self::SharedCost) (service numbers: they cannot receive one, or
    ///   would charge for it), [`Uan`](Self::Uan) (a company's switchboard, routed to an
    ///   office) and [`Voicemail`](Self::Voicemail) (an access number to a mailbox, not
    ///   the subscriber): the message would not reach the customer's handset;
    /// * **texted**: [`Mobile`](Self::Mobile); [`FixedLineOrMobile`](Self::FixedLineOrMobile)
    ///   (libphonenumber cannot tell, e.g. every North American number: it may be mobile);
    ///   [`PersonalNumber`](Self::PersonalNumber) (routed by its owner, typically to a
    ///   mobile), [`Pager`](Self::Pager) (receives text), [`Voip`](Self::Voip) (many VoIP
    ///   services receive SMS); [`Unknown`](Self::Unknown) (libphonenumber could not
    ///   classify it, so it may be mobile; no valid [`PhoneNumber`] has it).
    pub fn receives_sms(self) -> bool {
        match self {
            Self::FixedLine | Self::TollFree | Self::PremiumRate | Self::SharedCost | Self::Uan | Self::Voicemail => {
                false
            }
            Self::Mobile
            | Self::FixedLineOrMobile
            | Self::Pager
            | Self::PersonalNumber
            | Self::Voip
            | Self::Unknown => true,
        }
    }
}

impl PhoneNumber {
    /// The number's type by libphonenumber's rules (`PhoneNumberUtil.getNumberType`) over the
    /// embedded metadata: the national significant number is matched against the numbering
    /// plan of the region the number belongs to (for a country code shared by several
    /// regions, such as +1, +7 or +44, the region `getRegionCodeForNumber` finds: by leading
    /// digits, else the first region where the number has a type), checking premium rate,
    /// toll free, shared cost, VoIP, personal number, pager, UAN and voicemail first, then
    /// fixed line and mobile. Checked against libphonenumber's `number_type` on every valid
    /// row of `data/phone/verdicts.tsv`.
    pub fn line_type(&self) -> PhoneLineType {
        split_e164(self.as_str())
            .and_then(|(code, nsn)| region_metadata(code, nsn).map(|meta| number_type(meta, nsn)))
            .unwrap_or(PhoneLineType::Unknown)
    }

    /// Whether an SMS is sent to this number: `self.line_type().receives_sms()` (see
    /// [`PhoneLineType::receives_sms`] for the decision per type).
    pub fn receives_sms(&self) -> bool {
        self.line_type().receives_sms()
    }
}

/// `+254712345678` → `(254, "712345678")`: the country code (E.164 codes are prefix-free,
/// so the first known prefix is the code) and the national significant number.
fn split_e164(e164: &str) -> Option<(u16, &str)> {
    let digits = e164.strip_prefix('+')?;
    (1..=MAX_COUNTRY_CODE_DIGITS.min(digits.len())).find_map(|len| {
        let code: u16 = digits.get(..len)?.parse().ok()?;
        DATABASE.region(&code).map(|_| (code, &digits[len..]))
    })
}

/// libphonenumber's `getNumberTypeHelper`: the type of the national significant number
/// `nsn` in the numbering plan `meta`. The general description must match first; then the
/// special types in libphonenumber's order; then fixed line (fixed line or mobile when the
/// mobile description also matches, or both share one pattern), then mobile (unless both
/// share one pattern: then the fixed-line check already decided).
pub(super) fn number_type(meta: &Metadata, nsn: &str) -> PhoneLineType {
    let d = meta.descriptors();
    if !matches_desc(Some(d.general()), nsn) {
        return PhoneLineType::Unknown;
    }
    let special = [
        (d.premium_rate(), PhoneLineType::PremiumRate),
        (d.toll_free(), PhoneLineType::TollFree),
        (d.shared_cost(), PhoneLineType::SharedCost),
        (d.voip(), PhoneLineType::Voip),
        (d.personal_number(), PhoneLineType::PersonalNumber),
        (d.pager(), PhoneLineType::Pager),
        (d.uan(), PhoneLineType::Uan),
        (d.voicemail(), PhoneLineType::Voicemail),
    ];
    if let Some((_, kind)) = special.into_iter().find(|(desc, _)| matches_desc(*desc, nsn)) {
        return kind;
    }
    // libphonenumber's `sameMobileAndFixedLinePattern`, which its metadata builder sets when
    // the two patterns are equal (the loader does not read the flag; `generate.py` checks
    // this derivation against it for every territory).
    let same_pattern = pattern(d.fixed_line()) == pattern(d.mobile());
    if matches_desc(d.fixed_line(), nsn) {
        if same_pattern || matches_desc(d.mobile(), nsn) {
            return PhoneLineType::FixedLineOrMobile;
        }
        return PhoneLineType::FixedLine;
    }
    if !same_pattern && matches_desc(d.mobile(), nsn) {
        return PhoneLineType::Mobile;
    }
    PhoneLineType::Unknown
}

/// A descriptor's national number pattern, if the plan has the descriptor.
fn pattern(desc: Option<&Descriptor>) -> Option<&str> {
    desc.map(|desc| desc.national_number().as_str())
}
