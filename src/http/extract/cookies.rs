//! Cookie names, parsing and `Set-Cookie` values (RFC 6265bis prefixes when served over https).

use axum::http::{header, HeaderMap};

/// The session cookie's name: `__Host-` prefixed whenever the public URL is https.
pub fn session_name(secure: bool) -> &'static str {
    if secure {
        "__Host-statibeat_session"
    } else {
        "statibeat_session"
    }
}

/// The viewer-grant cookie's name (host-only; `__Secure-` because its path may be narrower than /).
pub fn viewer_name(secure: bool) -> &'static str {
    if secure {
        "__Secure-statibeat_viewer"
    } else {
        "statibeat_viewer"
    }
}

/// The value of cookie `name`, if the request carries it.
pub fn get(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"').to_string())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, host-only (no Domain), Secure over https.
pub fn set(name: &str, value: &str, path: &str, max_age_secs: i64, secure: bool) -> String {
    let mut c = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}");
    if secure {
        c.push_str("; Secure");
    }
    c
}

/// A `Set-Cookie` value that deletes the cookie.
pub fn clear(name: &str, path: &str, secure: bool) -> String {
    set(name, "", path, 0, secure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_cookies_among_others() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "a=1; statibeat_session=sbs_x; b=2".parse().unwrap());
        assert_eq!(get(&h, "statibeat_session").as_deref(), Some("sbs_x"));
        assert_eq!(get(&h, "c"), None);
    }

    #[test]
    fn secure_cookies_carry_prefix_and_flag() {
        let c = set(session_name(true), "v", "/", 60, true);
        assert_eq!(c, "__Host-statibeat_session=v; Path=/; HttpOnly; SameSite=Lax; Max-Age=60; Secure");
        assert!(!set(session_name(false), "v", "/", 60, false).contains("Secure"));
    }
}
