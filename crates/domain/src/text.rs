//! Shared rule for short human-entered text (names, item descriptions).

use crate::error::InvalidValue;

/// Trims `input` and checks it is 1..=`max_chars` characters without control characters.
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
    Ok(trimmed.to_owned())
}
