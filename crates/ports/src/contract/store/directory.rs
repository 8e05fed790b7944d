//! Store cases for the directory (people, courses, registrations) and users/settings. They
//! must only use the port's methods, so every adapter is judged on the same behaviour.

use super::fixture::*;
use crate::RecordStore;
use eportal_core::model::{Allocation, Institution, Programme, UserAccount};
use eportal_core::{GradingPolicy, MatricNo, Role, Semester};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

pub async fn ping_answers(store: Arc<dyn RecordStore>) {
    store.ping().await.expect("a fresh store answers ping");
}

pub async fn institution_round_trips_and_updates(store: Arc<dyn RecordStore>) {
    assert!(
        store.institution().await.unwrap().is_none(),
        "fresh store has no institution"
    );
    let inst = Institution {
        name: "First University".into(),
        short_name: "FU".into(),
    };
    let policy = GradingPolicy::four_point();
    store.put_institution(&inst, &policy).await.unwrap();
    assert_eq!(
        store.institution().await.unwrap(),
        Some((inst.clone(), policy))
    );

    let renamed = Institution {
        name: "Second University".into(),
        ..inst
    };
    // Once a policy book is stored the policy changes only through a regrade: the
    // institution is renamed, its policy stays.
    let five = GradingPolicy::five_point_without_e();
    store.put_institution(&renamed, &five).await.unwrap();
    assert_eq!(
        store.institution().await.unwrap(),
        Some((renamed, GradingPolicy::four_point()))
    );
    assert_eq!(store.active_policy_version().await.unwrap(), 1);
}

pub async fn upserts_are_idempotent_and_update(store: Arc<dyn RecordStore>) {
    seed(store.as_ref()).await;
    // The seed again: nothing is duplicated.
    let again = seed(store.as_ref()).await;
    assert_eq!(store.faculties().await.unwrap().len(), 1);
    assert_eq!(store.departments().await.unwrap().len(), 2);
    assert_eq!(store.programmes().await.unwrap().len(), 1);
    assert_eq!(store.count_students().await.unwrap(), 5);
    assert_eq!(store.courses().await.unwrap().len(), 4);
    assert_eq!(
        store.allocations(&again.csc101).await.unwrap(),
        vec![LECTURER.to_string()]
    );
    assert_eq!(store.registered(&again.csc101).await.unwrap().len(), 5);

    // Changed rows replace the stored ones.
    assert_eq!(
        store
            .upsert_faculties(&[faculty("SCI", "Faculty of Sciences")])
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store.faculties().await.unwrap(),
        vec![faculty("SCI", "Faculty of Sciences")]
    );
    store
        .upsert_departments(&[department("MTH", "Mathematical Sciences", "SCI")])
        .await
        .unwrap();
    let d = store.departments().await.unwrap();
    assert!(
        d.contains(&department("MTH", "Mathematical Sciences", "SCI")),
        "{d:?}"
    );
    let prog = Programme {
        code: "BSC-CSC".into(),
        name: "B.Sc. Computing".into(),
        department_code: "CSC".into(),
        duration_years: 5,
    };
    store
        .upsert_programmes(std::slice::from_ref(&prog))
        .await
        .unwrap();
    assert_eq!(store.programmes().await.unwrap(), vec![prog]);

    let mut s = student("SCI/2024/0003", "Okafor", "BSC-CSC");
    s.level = 200;
    store
        .upsert_students(std::slice::from_ref(&s))
        .await
        .unwrap();
    assert_eq!(store.student(&s.matric_no).await.unwrap(), Some(s));
    assert_eq!(store.count_students().await.unwrap(), 5);

    let promoted = staff(LECTURER, "CSC", &[Role::Lecturer, Role::Hod]);
    store
        .upsert_staff(std::slice::from_ref(&promoted))
        .await
        .unwrap();
    let got = store.staff(LECTURER).await.unwrap().expect("staff exists");
    assert_eq!(sorted(got.roles.clone()), vec![Role::Lecturer, Role::Hod]);
    assert_eq!(got.name, promoted.name);
    let demoted = staff(LECTURER, "MTH", &[Role::Lecturer]);
    store
        .upsert_staff(std::slice::from_ref(&demoted))
        .await
        .unwrap();
    assert_eq!(
        store.staff(LECTURER).await.unwrap(),
        Some(demoted),
        "roles are replaced"
    );

    let mut c = course("CSC 101", 4, "CSC", Semester::First);
    c.title = "Programming I".into();
    store
        .upsert_courses(std::slice::from_ref(&c))
        .await
        .unwrap();
    assert_eq!(store.course(&c.code).await.unwrap(), Some(c));
}

pub async fn missing_references_are_invalid(store: Arc<dyn RecordStore>) {
    let uni = seed(store.as_ref()).await;
    // The whole call fails: the valid row next to the bad one is not written either.
    assert_invalid(
        store
            .upsert_departments(&[
                department("PHY", "Physics", "SCI"),
                department("LAW", "Law", "NOPE"),
            ])
            .await,
        "department in an unknown faculty",
    );
    assert_eq!(
        store.departments().await.unwrap().len(),
        2,
        "nothing written"
    );
    let bad_prog = Programme {
        code: "X".into(),
        name: "X".into(),
        department_code: "NOPE".into(),
        duration_years: 4,
    };
    assert_invalid(
        store.upsert_programmes(&[bad_prog]).await,
        "programme in unknown dept",
    );
    assert_invalid(
        store
            .upsert_students(&[
                student("SCI/2024/0100", "Valid", "BSC-CSC"),
                student("SCI/2024/0101", "Orphan", "NOPE"),
            ])
            .await,
        "student in an unknown programme",
    );
    assert_eq!(store.count_students().await.unwrap(), 5, "nothing written");
    assert_invalid(
        store
            .upsert_staff(&[staff("STF/999", "NOPE", &[Role::Lecturer])])
            .await,
        "staff in an unknown department",
    );
    assert_invalid(
        store
            .upsert_courses(&[course("PHY 101", 2, "NOPE", Semester::First)])
            .await,
        "course in an unknown department",
    );
    let alloc = |c: &str, s: &str| Allocation {
        course_code: code(c),
        session: session(2024),
        semester: Semester::First,
        staff_id: s.into(),
    };
    assert_invalid(
        store
            .upsert_allocations(&[alloc("CSC 101", "STF/999")])
            .await,
        "allocation to unknown staff",
    );
    assert_invalid(
        store
            .upsert_allocations(&[alloc("PHY 999", LECTURER)])
            .await,
        "allocation of an unknown course",
    );
    assert_invalid(
        store
            .upsert_registrations(&[registration(&matric("SCI/2024/0999"), &uni.csc101)])
            .await,
        "registration of an unknown student",
    );
    assert_invalid(
        store
            .upsert_registrations(&[registration(
                &uni.students[0],
                &term("PHY 999", 2024, Semester::First),
            )])
            .await,
        "registration for an unknown course",
    );
}

pub async fn students_are_paged_in_matric_order(store: Arc<dyn RecordStore>) {
    seed(store.as_ref()).await;
    let extra = [
        student("ART/2023/0002", "Bello", "BSC-CSC"),
        student("ART/2023/0001", "Adamu", "BSC-CSC"),
        student("ZOO/2022/0001", "Zubair", "BSC-CSC"),
    ];
    assert_eq!(store.upsert_students(&extra).await.unwrap(), 3);
    assert_eq!(store.count_students().await.unwrap(), 8);
    let mut all = Vec::new();
    for page in 0..4 {
        let got = store.students(3, page * 3).await.unwrap();
        assert!(got.len() <= 3, "a page holds at most `limit` students");
        all.extend(got.into_iter().map(|s| s.matric_no));
    }
    let expected = sorted(all.clone());
    assert_eq!(all, expected, "pages come in matric order");
    assert_eq!(all.len(), 8, "pages cover every student once");
    assert_eq!(all[0], matric("ART/2023/0001"));
    assert!(
        store.students(10, 8).await.unwrap().is_empty(),
        "past the end is empty"
    );
    assert_eq!(
        store.student(&matric("ART/2023/0002")).await.unwrap(),
        Some(extra[0].clone())
    );
    assert_eq!(store.student(&matric("NOPE/1")).await.unwrap(), None);
}

pub async fn lookups_return_what_was_stored(store: Arc<dyn RecordStore>) {
    let uni = seed(store.as_ref()).await;
    let mut dean = store.staff(DEAN).await.unwrap().expect("dean exists");
    dean.roles.sort();
    assert_eq!(dean, staff(DEAN, "MTH", &[Role::Lecturer, Role::Dean]));
    assert_eq!(store.staff("STF/404").await.unwrap(), None);
    assert_eq!(
        store.course(&code("MTH 102")).await.unwrap(),
        Some(course("MTH 102", 2, "MTH", Semester::Second))
    );
    assert_eq!(store.course(&code("PHY 101")).await.unwrap(), None);
    let codes: HashSet<String> = store
        .courses()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.code.to_string())
        .collect();
    let want: HashSet<String> = ["CSC 101", "MTH 101", "CSC 102", "MTH 102"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(codes, want);
    assert_eq!(
        store.faculties().await.unwrap(),
        vec![faculty("SCI", "Faculty of Science")]
    );
    let depts: HashSet<String> = store
        .departments()
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.code)
        .collect();
    assert_eq!(depts, HashSet::from(["CSC".to_string(), "MTH".to_string()]));

    assert_eq!(
        store.allocations(&uni.mth101).await.unwrap(),
        vec![DEAN.to_string()]
    );
    assert!(store
        .allocations(&term("CSC 101", 2025, Semester::First))
        .await
        .unwrap()
        .is_empty());
    let taught: HashSet<_> = store
        .allocations_of(LECTURER)
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(
        taught,
        HashSet::from([uni.csc101.clone(), uni.csc102.clone()])
    );
    assert!(store.allocations_of(HOD).await.unwrap().is_empty());

    let reg = sorted(store.registered(&uni.mth102).await.unwrap());
    assert_eq!(reg, uni.students[..4].to_vec());
}

pub async fn roster_tells_known_from_registered(store: Arc<dyn RecordStore>) {
    let uni = seed(store.as_ref()).await;
    let stranger = matric("SCI/2024/0999");
    let asked = vec![
        uni.students[0].clone(),
        uni.students[4].clone(),
        stranger.clone(),
    ];
    let r = store.roster(&uni.mth102, &asked).await.unwrap();
    assert_eq!(
        r.known,
        HashSet::from([uni.students[0].clone(), uni.students[4].clone()])
    );
    assert_eq!(r.registered, HashSet::from([uni.students[0].clone()]));
    // Each known student's entry session (their cohort), which says their grading policy.
    assert_eq!(
        r.entry,
        HashMap::from([
            (uni.students[0].clone(), session(2024)),
            (uni.students[4].clone(), session(2024)),
        ])
    );
    let empty = store.roster(&uni.mth102, &[]).await.unwrap();
    assert!(empty.known.is_empty() && empty.registered.is_empty() && empty.entry.is_empty());
}

pub async fn registered_students_are_the_class_in_matric_order(store: Arc<dyn RecordStore>) {
    let uni = seed(store.as_ref()).await;
    let class = store.registered_students(&uni.mth102).await.unwrap();
    let matrics: Vec<MatricNo> = class.iter().map(|s| s.matric_no.clone()).collect();
    assert_eq!(matrics, uni.students[..4].to_vec());
    for s in &class {
        let stored = store.student(&s.matric_no).await.unwrap();
        assert_eq!(stored.as_ref(), Some(s), "the details as stored");
    }
    assert_eq!(
        store.registered_students(&uni.csc101).await.unwrap().len(),
        5
    );
    assert!(store
        .registered_students(&term("CSC 101", 2025, Semester::First))
        .await
        .unwrap()
        .is_empty());
}

fn user(name: &str, hash: &str, roles: &[Role]) -> UserAccount {
    UserAccount {
        username: name.into(),
        password_hash: hash.into(),
        display_name: format!("User {name}"),
        roles: roles.to_vec(),
    }
}

pub async fn users_upsert_and_lookup(store: Arc<dyn RecordStore>) {
    assert!(store.user("admin").await.unwrap().is_none());
    let admin = user("admin", "$argon2id$v=19$one", &[Role::Admin]);
    let lect = user(LECTURER, "$argon2id$v=19$two", &[Role::Lecturer, Role::Hod]);
    assert_eq!(
        store
            .upsert_users(&[admin.clone(), lect.clone()])
            .await
            .unwrap(),
        2
    );
    assert_eq!(store.user("admin").await.unwrap(), Some(admin.clone()));
    let got = store.user(LECTURER).await.unwrap().expect("stored");
    assert_eq!(sorted(got.roles.clone()), vec![Role::Lecturer, Role::Hod]);
    assert_eq!(got.password_hash, lect.password_hash);

    let changed = user(
        "admin",
        "$argon2id$v=19$three",
        &[Role::Admin, Role::Senate],
    );
    store
        .upsert_users(std::slice::from_ref(&changed))
        .await
        .unwrap();
    let got = store.user("admin").await.unwrap().expect("stored");
    assert_eq!(got.password_hash, changed.password_hash);
    assert_eq!(sorted(got.roles), vec![Role::Senate, Role::Admin]);
}

pub async fn setting_or_init_keeps_the_first_value(store: Arc<dyn RecordStore>) {
    assert_eq!(
        store.setting_or_init("signing_key", "first").await.unwrap(),
        "first"
    );
    assert_eq!(
        store
            .setting_or_init("signing_key", "second")
            .await
            .unwrap(),
        "first"
    );
    // Racing processes all end up with the same value, whoever wins.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.setting_or_init("raced", &format!("value-{i}")).await
        }));
    }
    let mut seen = HashSet::new();
    for t in tasks {
        seen.insert(t.await.expect("task").expect("setting_or_init"));
    }
    assert_eq!(seen.len(), 1, "every caller sees one value: {seen:?}");
    let v = seen.into_iter().next().unwrap();
    assert!(v.starts_with("value-"));
    assert_eq!(store.setting_or_init("raced", "late").await.unwrap(), v);
}
