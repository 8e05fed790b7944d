//! How a Redis URL is shown in errors and logs: enough to find the server, never its
//! password. Nothing here may print the URL as given.

/// `url` without its password and query string (where `redis+unix` URLs carry one):
/// `redis://app:s3cret@cache:6379/0` becomes `redis://app:***@cache:6379/0`.
pub fn shown(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        // Not a URL at all; it may still be a secret pasted in the wrong place.
        return "(an unparseable Redis URL)".to_owned();
    };
    let (scheme, rest) = (&url[..scheme_end], &url[scheme_end + 3..]);
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let authority = match authority.rfind('@') {
        Some(at) => {
            let (userinfo, host) = (&authority[..at], &authority[at + 1..]);
            match userinfo.split_once(':') {
                Some((user, _password)) => format!("{user}:***@{host}"),
                None => format!("{userinfo}@{host}"),
            }
        }
        None => authority.to_owned(),
    };
    format!("{scheme}://{authority}{path}")
}

#[cfg(test)]
mod tests {
    use super::shown;

    #[test]
    fn passwords_and_queries_never_show() {
        assert_eq!(shown("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
        assert_eq!(
            shown("redis://:s3cret@cache:6379/2"),
            "redis://:***@cache:6379/2"
        );
        assert_eq!(
            shown("rediss://app:p@ss@cache/0"),
            "rediss://app:***@cache/0"
        );
        assert_eq!(shown("redis://app@cache"), "redis://app@cache");
        assert_eq!(
            shown("redis+unix:///run/redis.sock?pass=s3cret"),
            "redis+unix:///run/redis.sock"
        );
        assert_eq!(shown("s3cret"), "(an unparseable Redis URL)");
    }
}
