//! Password rules, as Django's default validators apply them, with the same messages (the
//! API contract's clients show them to users verbatim).

use std::collections::HashSet;
use std::io::Read;
use std::sync::OnceLock;

pub const MIN_LENGTH: usize = 8;
const MAX_SIMILARITY: f64 = 0.7;

/// Django's list of the 20,000 most common passwords (lowercase).
static COMMON_PASSWORDS_GZ: &[u8] = include_bytes!("../../data/common-passwords.txt.gz");

fn common_passwords() -> &'static HashSet<String> {
    static SET: OnceLock<HashSet<String>> = OnceLock::new();
    SET.get_or_init(|| {
        let mut text = String::new();
        flate2::read::GzDecoder::new(COMMON_PASSWORDS_GZ)
            .read_to_string(&mut text)
            .expect("the bundled password list is valid gzip");
        text.lines().map(|l| l.trim().to_owned()).collect()
    })
}

/// Loads the common-password list now rather than on the first sign-up.
pub fn preload() {
    common_passwords();
}

/// Checks that concern the password alone, in Django's order: length, commonness, digits.
pub fn password_problems(password: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if password.chars().count() < MIN_LENGTH {
        problems.push(format!(
            "This password is too short. It must contain at least {MIN_LENGTH} characters."
        ));
    }
    if common_passwords().contains(&password.trim().to_lowercase()) {
        problems.push("This password is too common.".to_owned());
    }
    if !password.is_empty() && password.chars().all(char::is_numeric) {
        problems.push("This password is entirely numeric.".to_owned());
    }
    problems
}

/// Django's `UserAttributeSimilarityValidator`: the password must not resemble the user's
/// own attributes. Returns the message for the first attribute it is too close to.
pub fn similarity_problem(password: &str, attributes: &[(&str, &str)]) -> Option<String> {
    let password = password.to_lowercase();
    for (label, value) in attributes {
        if value.is_empty() {
            continue;
        }
        let value = value.to_lowercase();
        let parts = value
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|p| !p.is_empty())
            .chain(std::iter::once(value.as_str()));
        for part in parts {
            if exceeds_maximum_length_ratio(&password, part) {
                continue;
            }
            if quick_ratio(&password, part) >= MAX_SIMILARITY {
                return Some(format!("The password is too similar to the {label}."));
            }
        }
    }
    None
}

/// A long password cannot be "similar" to a much shorter attribute (Django 4.2's shortcut).
fn exceeds_maximum_length_ratio(password: &str, value: &str) -> bool {
    let pwd_len = password.chars().count() as f64;
    let value_len = value.chars().count() as f64;
    let length_bound_similarity = MAX_SIMILARITY / 2.0 * pwd_len;
    pwd_len >= 10.0 * value_len && value_len < length_bound_similarity
}

/// Python's `difflib.SequenceMatcher.quick_ratio`: 2 × (characters in common, as
/// multisets) / (total length).
fn quick_ratio(a: &str, b: &str) -> f64 {
    use std::collections::HashMap;
    let total = a.chars().count() + b.chars().count();
    if total == 0 {
        return 1.0;
    }
    let mut counts: HashMap<char, isize> = HashMap::new();
    for c in b.chars() {
        *counts.entry(c).or_default() += 1;
    }
    let mut matches = 0usize;
    for c in a.chars() {
        let n = counts.entry(c).or_default();
        if *n > 0 {
            matches += 1;
        }
        *n -= 1;
    }
    2.0 * matches as f64 / total as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundles_the_twenty_thousand_common_passwords() {
        // Django's list: 20,000 entries, of which 19,729 are distinct.
        let mut text = String::new();
        flate2::read::GzDecoder::new(COMMON_PASSWORDS_GZ)
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text.lines().count(), 20_000);
        assert_eq!(common_passwords().len(), 19_729);
        assert!(common_passwords().contains("password"));
    }

    #[test]
    fn messages_in_djangos_order() {
        assert_eq!(
            password_problems("1234567"),
            vec![
                "This password is too short. It must contain at least 8 characters.",
                "This password is too common.",
                "This password is entirely numeric.",
            ]
        );
        assert_eq!(
            password_problems("Password"),
            vec!["This password is too common."]
        );
        assert!(password_problems("correct horse battery").is_empty());
        assert_eq!(
            password_problems("83748572938"),
            vec!["This password is entirely numeric."]
        );
    }

    #[test]
    fn similarity_to_username_and_email() {
        let attrs = [
            ("username", "alice.smith"),
            ("email address", "al@example.com"),
        ];
        assert_eq!(
            similarity_problem("alicesmith1", &attrs).as_deref(),
            Some("The password is too similar to the username.")
        );
        assert_eq!(
            similarity_problem("example.com", &[("email address", "al@example.com")]).as_deref(),
            Some("The password is too similar to the email address.")
        );
        assert_eq!(similarity_problem("tr0ub4dor&3xyz", &attrs), None);
    }

    #[test]
    fn quick_ratio_matches_python() {
        // difflib.SequenceMatcher(a="abcd", b="bcde").quick_ratio() == 0.75
        assert!((quick_ratio("abcd", "bcde") - 0.75).abs() < 1e-9);
        assert!((quick_ratio("aab", "abb") - (2.0 * 2.0 / 6.0)).abs() < 1e-9);
    }
}
