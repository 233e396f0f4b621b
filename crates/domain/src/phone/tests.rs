use super::*;
use proptest::prelude::*;

fn kenya() -> PhoneRegion {
    PhoneRegion::default()
}

/// libphonenumber's verdicts, written by `data/phone/generate.py`: input, default region,
/// then the E.164 form, `invalid`, or `refused-letter` (libphonenumber may accept it; we don't),
/// then the number type (`number_type`, libphonenumber's getNumberType) of a valid number,
/// or `-`.
const VERDICTS: &str = include_str!("../../data/phone/verdicts.tsv");

#[test]
fn embedded_metadata_parses() {
    assert!(Database::parse(METADATA_XML).is_ok());
    assert!(DATABASE.by_id("KE").is_some());
}

#[test]
fn embedded_metadata_names_its_version() {
    let header = METADATA_XML.lines().next().unwrap();
    assert!(
        header.contains(&format!("libphonenumber metadata {PHONE_METADATA_VERSION},")),
        "header {header:?} does not name {PHONE_METADATA_VERSION}"
    );
    assert!(VERDICTS.starts_with(&format!("# libphonenumber {PHONE_METADATA_VERSION} ")));
}

#[test]
fn agrees_with_libphonenumber_on_every_row_of_the_verdict_table() {
    let mut rows = 0;
    let mut typed = 0;
    let mut disagreements = Vec::new();
    for line in VERDICTS.lines().filter(|l| !l.starts_with('#')) {
        let mut fields = line.split('\t');
        let (Some(input), Some(region), Some(expected), Some(expected_type), None) =
            (fields.next(), fields.next(), fields.next(), fields.next(), fields.next())
        else {
            panic!("malformed row {line:?}");
        };
        rows += 1;
        let region = PhoneRegion::parse(region).unwrap();
        let parsed = PhoneNumber::parse(input, region);
        let got = match &parsed {
            Ok(phone) => phone.as_str().to_owned(),
            Err(InvalidValue::Phone | InvalidValue::Empty) if expected == "refused-letter" => expected.to_owned(),
            Err(_) => "invalid".to_owned(),
        };
        if got != expected {
            disagreements.push(format!("{input:?} in {region:?}: libphonenumber {expected}, we {got}"));
            continue;
        }
        let got_type = parsed.as_ref().map_or("-", |phone| phone.line_type().as_str());
        if got_type != expected_type {
            disagreements
                .push(format!("{input:?} in {region:?} ({got}): libphonenumber type {expected_type}, we {got_type}"));
        }
        typed += usize::from(expected_type != "-");
    }
    assert!(rows > 1000, "only {rows} rows");
    assert!(typed > 1000, "only {typed} rows with a type");
    assert!(disagreements.is_empty(), "{} of {rows} rows disagree:\n{}", disagreements.len(), disagreements.join("\n"));
}

#[test]
fn the_verdict_table_has_numbers_of_every_type_but_unknown() {
    for kind in PhoneLineType::ALL.into_iter().filter(|&k| k != PhoneLineType::Unknown) {
        let rows = VERDICTS.lines().filter(|l| l.ends_with(&format!("\t{}", kind.as_str()))).count();
        assert!(rows >= 10, "only {rows} rows of type {}", kind.as_str());
    }
}

fn line_type(input: &str, region: &str) -> PhoneLineType {
    PhoneNumber::parse(input, PhoneRegion::parse(region).unwrap()).unwrap().line_type()
}

#[test]
fn kenyan_mobiles_are_mobile_and_texted() {
    for input in
        ["0712 345 678", "0110 123456", "0111 123456", "0100 123456", "0102 123456", "0135 123456", "0180 123456"]
    {
        assert_eq!(line_type(input, "KE"), PhoneLineType::Mobile, "{input:?}");
        assert!(PhoneNumber::parse(input, kenya()).unwrap().receives_sms(), "{input:?}");
    }
}

#[test]
fn nairobi_fixed_line_is_not_texted() {
    let phone = PhoneNumber::parse("020 2012345", kenya()).unwrap();
    assert_eq!(phone.line_type(), PhoneLineType::FixedLine);
    assert!(!phone.receives_sms());
}

#[test]
fn kenyan_toll_free_and_premium_rate_are_not_texted() {
    let phone = PhoneNumber::parse("0800 223456", kenya()).unwrap();
    assert_eq!(phone.line_type(), PhoneLineType::TollFree);
    assert!(!phone.receives_sms());
    let phone = PhoneNumber::parse("0900 223456", kenya()).unwrap();
    assert_eq!(phone.line_type(), PhoneLineType::PremiumRate);
    assert!(!phone.receives_sms());
}

#[test]
fn north_american_numbers_may_be_mobile_and_are_texted() {
    let phone = PhoneNumber::parse("+1 201 555 0123", kenya()).unwrap();
    assert_eq!(phone.line_type(), PhoneLineType::FixedLineOrMobile);
    assert!(phone.receives_sms());
    assert_eq!(line_type("(416) 555-0123", "CA"), PhoneLineType::FixedLineOrMobile);
    assert_eq!(line_type("800 234 5678", "US"), PhoneLineType::TollFree);
}

#[test]
fn british_numbers_by_type() {
    for (input, kind) in [
        ("020 7946 0958", PhoneLineType::FixedLine),
        ("07400 123456", PhoneLineType::Mobile),
        ("0800 123 4567", PhoneLineType::TollFree),
        ("0845 123 4567", PhoneLineType::PremiumRate),
        ("070 1234 5678", PhoneLineType::PersonalNumber),
        ("07640 123456", PhoneLineType::Pager),
        ("055 1234 5678", PhoneLineType::Uan),
        ("056 1234 5678", PhoneLineType::Voip),
        // +44 7624 is the Isle of Man's (a region sharing +44): its mobiles.
        ("07624 123456", PhoneLineType::Mobile),
    ] {
        assert_eq!(line_type(input, "GB"), kind, "{input:?}");
    }
}

#[test]
fn line_type_names_round_trip_uniquely() {
    let names: std::collections::HashSet<&str> = PhoneLineType::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(names.len(), PhoneLineType::ALL.len());
    for kind in PhoneLineType::ALL {
        assert_eq!(PhoneLineType::ALL.iter().find(|k| k.as_str() == kind.as_str()), Some(&kind));
        assert!(kind.as_str().bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{kind:?}");
    }
    let kinds: std::collections::HashSet<PhoneLineType> = PhoneLineType::ALL.into_iter().collect();
    assert_eq!(kinds.len(), 12);
}

#[test]
fn only_numbers_that_may_be_mobile_are_texted() {
    let texted: Vec<&str> =
        PhoneLineType::ALL.into_iter().filter(|k| k.receives_sms()).map(PhoneLineType::as_str).collect();
    assert_eq!(texted, ["mobile", "fixed_line_or_mobile", "voip", "personal_number", "pager", "unknown"]);
}

#[test]
fn local_kenyan_number_is_normalised_to_e164() {
    let phone = PhoneNumber::parse(" 0712 345 678 ", kenya()).unwrap();
    assert_eq!(phone.as_str(), "+254712345678");
    assert_eq!(phone.masked(), "***5678");
}

#[test]
fn international_number_ignores_default_region() {
    let phone = PhoneNumber::parse("+44 20 7946 0958", kenya()).unwrap();
    assert_eq!(phone.as_str(), "+442079460958");
}

#[test]
fn invalid_numbers_are_refused() {
    for bad in ["", "12", "+254 1", "not a phone", "+999123456789"] {
        assert!(PhoneNumber::parse(bad, kenya()).is_err(), "{bad:?} should be refused");
    }
}

#[test]
fn a_letter_is_never_a_digit() {
    for bad in ["0712 345 6O8", "0712345678 ext 12", "0712345678x12", "+254 712 345 67é", "0800 FLOWERS"] {
        assert_eq!(PhoneNumber::parse(bad, kenya()), Err(InvalidValue::Phone), "{bad:?}");
    }
}

#[test]
fn current_kenyan_numbering_plan() {
    for (input, e164) in [
        ("0135 123456", "+254135123456"),
        ("0139 123456", "+254139123456"),
        ("0146 123456", "+254146123456"),
        ("0180 123456", "+254180123456"),
        ("0189 123456", "+254189123456"),
        ("000 254 712 345 678", "+254712345678"),
        ("+254 0712 345678", "+254712345678"),
    ] {
        assert_eq!(PhoneNumber::parse(input, kenya()).map(|p| p.as_str().to_owned()), Ok(e164.to_owned()), "{input:?}");
    }
    // KE's international prefix is 000; a number that only starts like a valid one is refused.
    for bad in ["00254712345678", "0712 345 6789", "0712 345 67"] {
        assert_eq!(PhoneNumber::parse(bad, kenya()), Err(InvalidValue::Phone), "{bad:?}");
    }
}

#[test]
fn unknown_region_is_refused() {
    assert_eq!(PhoneRegion::parse("XX"), Err(InvalidValue::Region));
    assert!(PhoneRegion::parse("tz").is_ok());
}

#[test]
fn overlong_input_is_refused() {
    let long = format!("0712 345 678{}", " ".repeat(PhoneNumber::MAX_INPUT_BYTES));
    assert!(PhoneNumber::parse(&long, kenya()).is_ok(), "trailing spaces are trimmed first");
    let long = format!("0712{}345678", " ".repeat(PhoneNumber::MAX_INPUT_BYTES));
    assert_eq!(PhoneNumber::parse(&long, kenya()), Err(InvalidValue::Phone));
}

/// Valid Kenyan numbers in a few shapes, to insert letters into.
fn valid_kenyan_input() -> impl Strategy<Value = String> {
    ("7[0-9]{8}", 0..3usize).prop_filter_map("valid numbers only", |(nsn, shape)| {
        let text = match shape {
            0 => format!("0{nsn}"),
            1 => format!("+254 {nsn}"),
            _ => format!("0{} {} {}", &nsn[..3], &nsn[3..6], &nsn[6..]),
        };
        PhoneNumber::parse(&text, kenya()).is_ok().then_some(text)
    })
}

proptest! {
    #[test]
    fn phone_parsing_never_panics_and_yields_e164(input in "\\PC{0,40}") {
        if let Ok(phone) = PhoneNumber::parse(&input, kenya()) {
            prop_assert!(phone.as_str().starts_with('+'));
            prop_assert!(phone.as_str()[1..].bytes().all(|b| b.is_ascii_digit()));
            // Normalisation is idempotent.
            prop_assert_eq!(PhoneNumber::parse(phone.as_str(), kenya()).unwrap(), phone);
        }
    }

    #[test]
    fn kenyan_mobile_numbers_round_trip(rest in "[0-9]{8}") {
        let local = format!("07{rest}");
        if let Ok(phone) = PhoneNumber::parse(&local, kenya()) {
            prop_assert_eq!(phone.as_str(), format!("+2547{rest}"));
        }
    }

    #[test]
    fn inserting_any_letter_anywhere_is_refused(
        input in valid_kenyan_input(),
        letter in "\\p{Alphabetic}",
        at in any::<prop::sample::Index>(),
    ) {
        let chars: Vec<char> = input.chars().collect();
        let at = at.index(chars.len() + 1);
        let lettered: String = chars[..at].iter().chain(letter.chars().collect::<Vec<_>>().iter()).chain(&chars[at..]).collect();
        prop_assert_eq!(PhoneNumber::parse(&lettered, kenya()), Err(InvalidValue::Phone), "{:?}", lettered);
    }
}
