//! Shared rule for short human-entered text (names, item descriptions): what reaches an SMS
//! or a page must say what it looks like it says.

use crate::error::InvalidValue;

/// Bidirectional embedding, override and isolate controls (and the Arabic letter mark): they
/// reorder how the rest of the text is shown, so a name or item could disguise its content.
fn changes_direction(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{061C}')
}

/// Characters that draw nothing: format characters (zero-width space and joiners, word
/// joiner, byte-order mark, soft hyphen, direction marks), variation selectors, tags and the
/// Hangul fillers. Joiners stay allowed inside otherwise visible text (emoji, Indic and Arabic
/// scripts need them); text made only of these is refused.
fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2060}'..='\u{2064}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{E0000}'..='\u{E007F}'
                | '\u{E0100}'..='\u{E01EF}'
        )
}

/// Trims `input` and checks it is 1..=`max_chars` characters without control characters,
/// without direction-changing controls, and with at least one visible character.
pub(crate) fn bounded_text(input: &str, max_chars: usize) -> Result<String, InvalidValue> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(InvalidValue::Empty);
    }
    if trimmed.chars().count() > max_chars {
        return Err(InvalidValue::TooLong { max: max_chars });
    }
    if trimmed.chars().any(char::is_control) {
        return Err(InvalidValue::ControlCharacters);
    }
    if trimmed.chars().any(changes_direction) || trimmed.chars().all(is_invisible) {
        return Err(InvalidValue::InvisibleText);
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direction_overrides_and_isolates_are_refused() {
        for text in ["Tea\u{202E}gnp.exe", "\u{2067}Amina", "a\u{202A}b", "x\u{2069}"] {
            assert_eq!(bounded_text(text, 200), Err(InvalidValue::InvisibleText), "{text:?}");
        }
    }

    #[test]
    fn text_with_nothing_visible_is_refused() {
        for text in ["\u{200B}\u{200B}", "\u{200D}", "\u{FEFF}\u{2060}", "\u{3164}", "\u{200B} \u{200C}"] {
            assert_eq!(bounded_text(text, 200), Err(InvalidValue::InvisibleText), "{text:?}");
        }
    }

    #[test]
    fn joiners_inside_visible_text_are_kept() {
        for text in ["👩\u{200D}🌾 farm eggs", "क्\u{200D}ष", "می\u{200C}خواهم", "Amina Wanjiru", "عبد الله"]
        {
            assert_eq!(bounded_text(text, 200).as_deref(), Ok(text), "{text:?}");
        }
    }
}
