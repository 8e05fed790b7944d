//! The OpenAPI 3.1 description of the API, written by hand in `openapi.json` beside this file
//! and served as is at `/api/openapi.json`.
//!
//! The document must never drift from the router: the tests here compare its paths and
//! methods with [`super::routes`] both ways, and the API tests call every documented
//! operation on a running portal.

/// The OpenAPI document, as served.
pub const OPENAPI_JSON: &str = include_str!("openapi.json");

/// The (METHOD, path) pairs an OpenAPI document describes.
pub fn documented_operations(doc: &serde_json::Value) -> Vec<(String, String)> {
    const METHODS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];
    let mut ops = Vec::new();
    if let Some(paths) = doc.get("paths").and_then(|p| p.as_object()) {
        for (path, item) in paths {
            for m in METHODS {
                if item.get(m).is_some() {
                    ops.push((m.to_ascii_uppercase(), path.clone()));
                }
            }
        }
    }
    ops.sort();
    ops
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn doc() -> serde_json::Value {
        serde_json::from_str(OPENAPI_JSON).expect("openapi.json is valid JSON")
    }

    #[test]
    fn is_openapi_3_1() {
        assert_eq!(doc()["openapi"], "3.1.0");
    }

    #[test]
    fn documents_exactly_the_routes_served() {
        let documented: BTreeSet<(String, String)> =
            documented_operations(&doc()).into_iter().collect();
        let served: BTreeSet<(String, String)> = crate::http::routes()
            .into_iter()
            .map(|(m, p)| (m.as_str().to_string(), p))
            .collect();
        let undocumented: Vec<_> = served.difference(&documented).collect();
        let phantom: Vec<_> = documented.difference(&served).collect();
        assert!(
            undocumented.is_empty(),
            "routes missing from openapi.json: {undocumented:?}"
        );
        assert!(
            phantom.is_empty(),
            "openapi.json documents routes that are not served: {phantom:?}"
        );
    }

    #[test]
    fn every_reference_resolves() {
        let d = doc();
        let mut refs = Vec::new();
        fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(m) => {
                    if let Some(serde_json::Value::String(r)) = m.get("$ref") {
                        out.push(r.clone());
                    }
                    m.values().for_each(|v| walk(v, out));
                }
                serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
                _ => {}
            }
        }
        walk(&d, &mut refs);
        assert!(!refs.is_empty());
        for r in refs {
            let pointer = r.strip_prefix('#').expect("local references only");
            assert!(d.pointer(pointer).is_some(), "{r} does not resolve");
        }
    }
}
