//! Where to send the browser after sign-in: the `next` parameter, when it is safe.
//!
//! Only same-origin relative paths pass. Browsers are generous readers of URLs, so anything
//! they could resolve to another host is refused: `//evil.com` and `/\evil.com`
//! (protocol-relative), `https://evil.com`, and control characters or backslashes anywhere
//! (`/\t/evil.com` loses its tab and becomes `//evil.com`).

/// Where to go when there is no usable `next`.
pub const AFTER_SIGN_IN: &str = "/profile";

/// `raw` when it is a safe local path, else `None`.
pub fn safe_next(raw: Option<&str>) -> Option<&str> {
    let path = raw?;
    let ok = path.starts_with('/')
        && !path.starts_with("//")
        && path.len() <= 2048
        && !path
            .chars()
            .any(|c| c == '\\' || c.is_control() || c.is_whitespace());
    ok.then_some(path)
}

/// The sign-in page URL that brings the browser back to `path_and_query` afterwards.
pub fn sign_in_url(path_and_query: &str) -> String {
    format!("/signin?next={}", encode(path_and_query))
}

/// Percent-encodes a query value (RFC 3986 unreserved characters pass, plus `/`).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_pass() {
        for ok in [
            "/",
            "/profile",
            "/profile?tab=1",
            "/a/b#c",
            "/%2F%2Fevil.com",
        ] {
            assert_eq!(safe_next(Some(ok)), Some(ok), "{ok}");
        }
    }

    #[test]
    fn anything_a_browser_could_read_as_another_host_is_refused() {
        for bad in [
            "//evil.com",
            "///evil.com",
            "/\\evil.com",
            "\\\\evil.com",
            "https://evil.com",
            "http:evil.com",
            "javascript:alert(1)",
            "evil.com",
            "/\t/evil.com",
            "/\n/evil.com",
            " /profile",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), None, "{bad:?}");
        }
        assert_eq!(safe_next(None), None);
        assert_eq!(safe_next(Some(&format!("/{}", "a".repeat(3000)))), None);
    }

    #[test]
    fn sign_in_url_round_trips_the_path() {
        assert_eq!(sign_in_url("/profile"), "/signin?next=/profile");
        assert_eq!(
            sign_in_url("/profile?tab=a b&x=1"),
            "/signin?next=/profile%3Ftab%3Da%20b%26x%3D1"
        );
    }
}
