//! Store cases for revocable sessions (the account's session version) and the reviewer
//! lookup behind separation of duties. Only the port's methods are used.

use super::fixture::*;
use crate::RecordStore;
use eportal_core::model::UserAccount;
use eportal_core::Role;
use std::sync::Arc;

fn account(name: &str, hash: &str, roles: &[Role]) -> UserAccount {
    UserAccount {
        username: name.into(),
        password_hash: hash.into(),
        display_name: format!("User {name}"),
        roles: roles.to_vec(),
    }
}

pub async fn session_version_moves_on_every_change_and_only_then(store: Arc<dyn RecordStore>) {
    assert_eq!(store.session_version("L001").await.unwrap(), None);
    assert_not_found(
        store.end_sessions("L001").await,
        "ending sessions of no account",
    );
    assert_not_found(
        store.set_password("L001", "$argon2id$x").await,
        "a password for no account",
    );

    let a = account("L001", "$argon2id$one", &[Role::Lecturer, Role::Hod]);
    store.upsert_users(std::slice::from_ref(&a)).await.unwrap();
    let v0 = store
        .session_version("L001")
        .await
        .unwrap()
        .expect("stored");

    // The same account again, roles listed in another order: nothing changed, sessions stay.
    let same = account("L001", "$argon2id$one", &[Role::Hod, Role::Lecturer]);
    store.upsert_users(&[same]).await.unwrap();
    assert_eq!(store.session_version("L001").await.unwrap(), Some(v0));

    // A new display name alone is no reason to sign anyone out.
    let renamed = UserAccount {
        display_name: "Prof. Renamed".into(),
        ..a.clone()
    };
    store.upsert_users(&[renamed]).await.unwrap();
    assert_eq!(store.session_version("L001").await.unwrap(), Some(v0));

    let demoted = account("L001", "$argon2id$one", &[Role::Lecturer]);
    store.upsert_users(&[demoted]).await.unwrap();
    let v1 = store.session_version("L001").await.unwrap().unwrap();
    assert_eq!(v1, v0 + 1, "a change of roles ends the sessions");

    let rehashed = account("L001", "$argon2id$two", &[Role::Lecturer]);
    store.upsert_users(&[rehashed]).await.unwrap();
    let v2 = store.session_version("L001").await.unwrap().unwrap();
    assert_eq!(v2, v1 + 1, "an imported new password ends the sessions");

    assert_eq!(store.end_sessions("L001").await.unwrap(), v2 + 1);
    assert_eq!(store.session_version("L001").await.unwrap(), Some(v2 + 1));

    assert_eq!(
        store.set_password("L001", "$argon2id$three").await.unwrap(),
        v2 + 2
    );
    let got = store.user("L001").await.unwrap().unwrap();
    assert_eq!(got.password_hash, "$argon2id$three");
    assert_eq!(got.roles, vec![Role::Lecturer]);
    assert_eq!(store.session_version("L001").await.unwrap(), Some(v2 + 2));
}

pub async fn concurrent_ends_each_count(store: Arc<dyn RecordStore>) {
    store
        .upsert_users(&[account("admin", "$argon2id$a", &[Role::Admin])])
        .await
        .unwrap();
    let v0 = store.session_version("admin").await.unwrap().unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let s = store.clone();
            tokio::spawn(async move { s.end_sessions("admin").await.unwrap() })
        })
        .collect();
    let mut seen = Vec::new();
    for t in tasks {
        seen.push(t.await.unwrap());
    }
    seen.sort();
    let expected: Vec<u64> = (1..=8).map(|i| v0 + i).collect();
    assert_eq!(seen, expected, "each end of sessions gets its own version");
}

pub async fn staff_with_role_lists_the_holders(store: Arc<dyn RecordStore>) {
    seed(store.as_ref()).await;
    let ids = |v: Vec<eportal_core::model::Staff>| -> Vec<String> {
        v.into_iter().map(|s| s.staff_id).collect()
    };
    assert_eq!(ids(store.staff_with_role(Role::Hod).await.unwrap()), [HOD]);
    let deans = store.staff_with_role(Role::Dean).await.unwrap();
    assert_eq!(deans.len(), 1);
    assert_eq!(deans[0].staff_id, DEAN);
    assert_eq!(deans[0].department_code, "MTH");
    assert_eq!(sorted(deans[0].roles.clone()), [Role::Lecturer, Role::Dean]);
    let mut lecturers = ids(store.staff_with_role(Role::Lecturer).await.unwrap());
    lecturers.sort();
    let mut expected = vec![LECTURER.to_string(), HOD.into(), DEAN.into()];
    expected.sort();
    assert_eq!(lecturers, expected);
    assert!(store
        .staff_with_role(Role::Senate)
        .await
        .unwrap()
        .is_empty());
}

pub async fn password_change_flag_is_set_by_the_registry_and_cleared_by_the_holder(
    store: Arc<dyn RecordStore>,
) {
    assert!(!store.password_change_required("L001").await.unwrap());
    assert_not_found(
        store.reset_password("L001", "$argon2id$x").await,
        "a reset for no account",
    );
    let a = account("L001", "$argon2id$one", &[Role::Lecturer]);
    let b = account("L002", "$argon2id$one", &[Role::Lecturer]);
    store.upsert_users(&[a.clone(), b]).await.unwrap();
    // A stored account is not flagged by being stored.
    assert!(!store.password_change_required("L001").await.unwrap());

    let v0 = store.session_version("L001").await.unwrap().unwrap();
    store
        .require_password_change(&["L001".into(), "NOBODY".into()])
        .await
        .unwrap();
    assert!(store.password_change_required("L001").await.unwrap());
    assert!(!store.password_change_required("L002").await.unwrap());
    assert!(!store.password_change_required("NOBODY").await.unwrap());
    assert_eq!(
        store.session_version("L001").await.unwrap(),
        Some(v0),
        "flagging alone ends no session"
    );
    // Re-importing the unchanged account leaves the flag as it was.
    store.upsert_users(&[a]).await.unwrap();
    assert!(store.password_change_required("L001").await.unwrap());

    // The holder's own password clears it and ends the sessions.
    assert_eq!(
        store.set_password("L001", "$argon2id$mine").await.unwrap(),
        v0 + 1
    );
    assert!(!store.password_change_required("L001").await.unwrap());

    // An administrator's reset sets it again, stores the hash and ends the sessions.
    assert_eq!(
        store
            .reset_password("L001", "$argon2id$temp")
            .await
            .unwrap(),
        v0 + 2
    );
    assert!(store.password_change_required("L001").await.unwrap());
    assert_eq!(
        store.user("L001").await.unwrap().unwrap().password_hash,
        "$argon2id$temp"
    );
    assert!(!store.password_change_required("L002").await.unwrap());
}
