//! Authenticator-app codes (TOTP, RFC 6238): HMAC-SHA-1, 6 digits, 30-second steps, the
//! parameters every authenticator app honours (others are silently ignored by some apps).
//! A code is accepted for the current step and one step either side (RFC 6238 §5.2,
//! network delay and clock drift), and never for a step at or before the last one accepted,
//! so a code cannot be used twice (RFC 6238 §5.2: "the verifier MUST NOT accept the second
//! attempt of the same OTP").

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use rand::RngCore;
use totp_rs::{Algorithm, Builder, Totp};

/// Seconds per step.
pub const STEP_SECS: u64 = 30;
/// Digits per code.
pub const DIGITS: u8 = 6;
/// Steps accepted either side of the current one.
const SKEW: u16 = 1;
/// Secret length in bytes: 160 bits, RFC 4226 §4's recommendation.
pub const SECRET_BYTES: usize = 20;

/// A new random secret (160 bits from the OS's generator).
pub fn new_secret() -> Vec<u8> {
    let mut secret = vec![0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut secret);
    secret
}

fn totp(secret: &[u8], issuer: Option<&str>, account: &str) -> Option<Totp> {
    // otpauth labels cannot hold a colon (it separates issuer and account).
    let clean = |s: &str| s.replace(':', " ");
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS)
        .with_skew(SKEW)
        .with_step_duration(STEP_SECS)
        .with_secret(secret.to_vec())
        .with_issuer(issuer.map(clean))
        .with_account_name(clean(account))
        .build()
        .ok()
}

/// The step a code typed at `now` (Unix seconds) proves, if it is right for `secret` and
/// newer than `last_step` (the step of the last code accepted, if any). Spaces in `code`
/// are ignored (apps show `123 456`).
pub fn verify(secret: &[u8], code: &str, now: u64, last_step: Option<u64>) -> Option<u64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != usize::from(DIGITS) || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let step = totp(secret, None, "")?.check(&code, now)?;
    (last_step.is_none_or(|last| step > last)).then_some(step)
}

/// The code for `secret` at `at` (Unix seconds): what an authenticator app shows then. For
/// tests and the command line; the server only ever checks codes.
pub fn code_at(secret: &[u8], at: u64) -> String {
    totp(secret, None, "")
        .map(|t| t.generate(at).to_string())
        .unwrap_or_default()
}

/// The secret as people type it into an app: RFC 4648 base32 without padding, in groups of
/// four (`JBSW Y3DP ...`).
pub fn secret_text(secret: &[u8]) -> String {
    let plain = totp_rs::Secret::from(secret.to_vec()).to_base32();
    plain
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The secret [`secret_text`] shows, read back (spaces and case do not matter); `None` for
/// anything that is not base32. For tests and tools: the server never reads a typed secret.
pub fn secret_from_text(text: &str) -> Option<Vec<u8>> {
    let plain: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    totp_rs::Secret::try_from_base32(plain)
        .ok()
        .map(|s| s.as_ref().to_vec())
}

/// The `otpauth://totp/...` URI (Google Authenticator's key-URI format) apps read from the
/// QR code: issuer `site_name`, account `account` (the username).
pub fn otpauth_uri(secret: &[u8], site_name: &str, account: &str) -> Option<String> {
    totp(secret, Some(site_name), account)?.to_url().ok()
}

/// The QR code of `uri` as an SVG document (dark modules on white, 4-module quiet zone),
/// drawn on the server so enrolment needs no JavaScript.
pub fn qr_svg(uri: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M).ok()?;
    let svg = code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    // The XML declaration is for files; inside HTML it is noise.
    Some(match svg.find("<svg") {
        Some(start) => svg[start..].to_owned(),
        None => svg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B's SHA-1 secret.
    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn codes_match_rfc_6238_test_vectors() {
        // Appendix B gives 8 digits; the last 6 are the 6-digit code.
        assert_eq!(code_at(RFC_SECRET, 59), "287082");
        assert_eq!(code_at(RFC_SECRET, 1_111_111_109), "081804");
        assert_eq!(code_at(RFC_SECRET, 1_234_567_890), "005924");
    }

    #[test]
    fn one_step_of_drift_either_side_and_no_more() {
        let now = 1_000_000_020;
        let step = now / STEP_SECS;
        for (offset, accepted) in [(-2i64, false), (-1, true), (0, true), (1, true), (2, false)] {
            let at = (step as i64 + offset) as u64 * STEP_SECS;
            let code = code_at(RFC_SECRET, at);
            assert_eq!(
                verify(RFC_SECRET, &code, now, None).is_some(),
                accepted,
                "offset {offset}"
            );
        }
    }

    #[test]
    fn a_step_is_accepted_once_and_older_steps_never_after_it() {
        let now = 1_000_000_020;
        let code = code_at(RFC_SECRET, now);
        let step = verify(RFC_SECRET, &code, now, None).expect("fresh code");
        assert_eq!(verify(RFC_SECRET, &code, now, Some(step)), None, "replay");
        let previous = code_at(RFC_SECRET, now - STEP_SECS);
        assert_eq!(verify(RFC_SECRET, &previous, now, Some(step)), None);
        let next = code_at(RFC_SECRET, now + STEP_SECS);
        assert_eq!(verify(RFC_SECRET, &next, now, Some(step)), Some(step + 1));
    }

    #[test]
    fn malformed_codes_are_refused_without_panicking() {
        let now = 1_000_000_020;
        for code in ["", "12345", "1234567", "12a456", "١٢٣٤٥٦", "123 45"] {
            assert_eq!(verify(RFC_SECRET, code, now, None), None, "{code:?}");
        }
        let spaced = code_at(RFC_SECRET, now);
        let spaced = format!("{} {}", &spaced[..3], &spaced[3..]);
        assert!(verify(RFC_SECRET, &spaced, now, None).is_some());
    }

    #[test]
    fn secret_text_is_rfc_4648_base32() {
        assert_eq!(secret_text(b"foobar"), "MZXW 6YTB OI");
        assert_eq!(
            secret_text(RFC_SECRET).replace(' ', ""),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
        assert_eq!(
            secret_from_text(&secret_text(RFC_SECRET).to_lowercase()).as_deref(),
            Some(RFC_SECRET)
        );
        assert_eq!(secret_from_text("not base32!"), None);
    }

    #[test]
    fn the_uri_and_qr_code_carry_issuer_account_and_secret() {
        let uri = otpauth_uri(RFC_SECRET, "My: Site", "ann").expect("uri");
        assert!(uri.starts_with("otpauth://totp/"), "{uri}");
        assert!(
            uri.contains("secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"),
            "{uri}"
        );
        assert!(uri.contains("issuer=My"), "{uri}");
        let svg = qr_svg(&uri).expect("svg");
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(!svg.contains("style="), "the CSP forbids inline styles");
    }
}
