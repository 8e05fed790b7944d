//! The institution and its grading policy, from a TOML or JSON file. A policy is validated
//! by the core before it is stored: a policy that would mis-grade is refused with the
//! reason, and nothing is written.

use super::ImportError;
use eportal_core::model::Institution;
use eportal_core::{GradingPolicy, PolicyBook, PolicyScope};
use eportal_ports::{RecordStore, Regrade};
use figment::providers::{Format, Toml};
use figment::Figment;
use serde::de::DeserializeOwned;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InstitutionFile {
    name: String,
    short_name: String,
    #[serde(default)]
    policy: Option<GradingPolicy>,
}

/// JSON when the text starts with `{`, TOML otherwise.
fn parse<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, ImportError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ImportError::File(format!("the {what} file is not UTF-8 text")))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_start().starts_with('{') {
        return serde_json::from_str(text)
            .map_err(|e| ImportError::File(format!("the {what} file is not valid JSON: {e}")));
    }
    Figment::from(Toml::string(text)).extract().map_err(|e| {
        let all: Vec<String> = e.into_iter().map(|e| e.to_string()).collect();
        ImportError::File(format!("the {what} file is not valid: {}", all.join("; ")))
    })
}

fn checked(policy: GradingPolicy) -> Result<GradingPolicy, ImportError> {
    policy
        .validate()
        .map_err(|e| ImportError::File(format!("the grading policy is not valid: {e}")))?;
    Ok(policy)
}

/// Stores the institution; its policy is the file's, else the one already stored, else the
/// default (the Nigerian 5-point scale). A file's policy that differs from the active one
/// once records are graded becomes a new policy version, through a regrade (returned).
pub async fn institution(
    store: &dyn RecordStore,
    bytes: &[u8],
) -> Result<Option<Regrade>, ImportError> {
    let file: InstitutionFile = parse(bytes, "institution")?;
    let (name, short_name) = (file.name.trim(), file.short_name.trim());
    if name.is_empty() || short_name.is_empty() {
        return Err(ImportError::File(
            "the institution file needs a name and a short_name".into(),
        ));
    }
    let active = store.active_policy().await?;
    let policy = match file.policy {
        Some(p) => checked(p)?,
        None => match &active {
            Some(book) => book.default.clone(),
            None => GradingPolicy::default(),
        },
    };
    let inst = Institution {
        name: name.to_string(),
        short_name: short_name.to_string(),
    };
    store.put_institution(&inst, &policy).await?;
    match active {
        Some(book) => regrade_to(store, &book, PolicyScope::Default, policy, "import").await,
        None => Ok(None),
    }
}

/// A policy file (TOML or JSON), checked.
pub fn read_policy(bytes: &[u8]) -> Result<GradingPolicy, ImportError> {
    checked(parse(bytes, "policy")?)
}

/// Sets the grading policy of `scope` (the institution's default, a cohort's, or a session's
/// results'): a new policy version, switched to by a regrade (returned; `None` when the
/// policy for that scope is already this one).
pub async fn policy(
    store: &dyn RecordStore,
    bytes: &[u8],
    scope: PolicyScope,
    by: &str,
) -> Result<Option<Regrade>, ImportError> {
    let policy = read_policy(bytes)?;
    if store.institution().await?.is_none() {
        return Err(ImportError::File(
            "there is no institution yet; import the institution file first".into(),
        ));
    }
    let active = store.active_policy().await?.unwrap_or_default();
    regrade_to(store, &active, scope, policy, by).await
}

/// Starts the regrade to `active` with `policy` for `scope`; `None` when that changes nothing.
async fn regrade_to(
    store: &dyn RecordStore,
    active: &PolicyBook,
    scope: PolicyScope,
    policy: GradingPolicy,
    by: &str,
) -> Result<Option<Regrade>, ImportError> {
    let Some(book) = active
        .proposal(scope, policy)
        .map_err(|e| ImportError::File(e.to_string()))?
    else {
        return Ok(None);
    };
    let regrade = store
        .start_regrade(&book, crate::services::regrade::PARTS, by)
        .await?;
    Ok(Some(regrade))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_policy_reads_back_from_json_and_toml() {
        let p = GradingPolicy::default();
        let json = p.to_json();
        let back: GradingPolicy = parse(json.as_bytes(), "policy").unwrap();
        assert_eq!(back, p);
        let toml = "name = \"Only A or F\"\nca_max = 400\nexam_max = 600\npass_mark = 400\n\
            total_rounding = \"exact\"\ngpa_rounding = \"truncate\"\nretake = \"latest_replaces\"\n\
            classes = []\n[[bands]]\ngrade = \"A\"\nmin_total = 400\npoints = 5\n\
            [[bands]]\ngrade = \"F\"\nmin_total = 0\npoints = 0\n";
        let t: GradingPolicy = parse(toml.as_bytes(), "policy").unwrap();
        assert!(checked(t.clone()).is_ok());
        assert_eq!(t.bands.len(), 2);
    }

    #[test]
    fn an_unknown_field_is_refused() {
        let e = parse::<InstitutionFile>(
            b"name = \"A\"\nshort_name = \"B\"\nmotto = \"C\"\n",
            "institution",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("motto"), "{e}");
    }
}
