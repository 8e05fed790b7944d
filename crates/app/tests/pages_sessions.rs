//! The pages' cookie sessions over HTTP: signing in and out (with the cookie's attributes),
//! the redirect of a signed-out visitor to the sign-in page and back, the same "wrong
//! username or password" and throttling as the API, sessions ended by the API's sign-out and
//! by password changes (either way round), and the idle and absolute timeouts.

mod browser;
mod common;

use browser::Browser;
use common::university::{ADMIN, LECTURER, STUDENTS};
use common::{spawn_app, spawn_app_with, TestApp, PASSWORD};
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

/// Signs in through the form and checks it worked.
async fn signed_in(app: &TestApp, username: &str) -> Browser {
    let mut b = Browser::new(&app.base);
    let res = b.sign_in(username, PASSWORD).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert!(b.session().is_some(), "a session cookie is set");
    b
}

#[tokio::test]
async fn signing_in_sets_a_hardened_cookie_and_signing_out_ends_the_session() {
    let app = spawn_app().await;
    let mut b = Browser::new(&app.base);

    // A signed-out visitor is sent to the sign-in page, which will bring them back.
    let res = b.get("/results").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), Some("/login?next=/results"));
    assert_eq!(b.get("/").await.location(), Some("/login"));

    let res = b.sign_in(STUDENTS[0], PASSWORD).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), Some("/"));
    let cookie = res
        .set_cookie("eportal_session")
        .expect("the session cookie");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=28800"] {
        assert!(cookie.contains(attr), "{attr} missing from {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    // The sign-in form's own cookie is no longer needed.
    assert!(res
        .set_cookie("eportal_login")
        .unwrap()
        .contains("Max-Age=0"));

    // Home by role: a student's home is their results.
    assert_eq!(b.get("/").await.location(), Some("/results"));
    let page = b.get("/results").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("Signed in as <strong>Ada Obi</strong>"),
        "{}",
        page.body
    );
    let old_cookie = b.session().unwrap().to_string();

    let res = b.post("/logout", &[("csrf", &page.csrf())]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), Some("/login?bye=1"));
    assert!(res
        .set_cookie("eportal_session")
        .unwrap()
        .contains("Max-Age=0"));
    assert!(b.session().is_none());
    assert!(b
        .get("/login?bye=1")
        .await
        .body
        .contains("You have signed out."));

    // The old cookie, replayed, no longer stands: sign-out ended the session itself.
    b.cookies.insert("eportal_session".into(), old_cookie);
    let res = b.get("/results").await;
    assert_eq!(res.location(), Some("/login?next=/results&ended=1"));
    assert!(res
        .set_cookie("eportal_session")
        .unwrap()
        .contains("Max-Age=0"));
}

#[tokio::test]
async fn sign_in_returns_to_the_page_asked_for_but_never_to_another_site() {
    let app = spawn_app().await;
    let mut b = Browser::new(&app.base);
    let to_login = b.get("/account/password").await;
    assert_eq!(to_login.location(), Some("/login?next=/account/password"));
    let form = b.get("/login?next=/account/password").await;
    assert!(
        form.body
            .contains(r#"name="next" value="/account/password""#),
        "{}",
        form.body
    );
    let res = b
        .post(
            "/login",
            &[
                ("username", LECTURER),
                ("password", PASSWORD),
                ("next", "/account/password"),
                ("csrf", &form.csrf()),
            ],
        )
        .await;
    assert_eq!(res.location(), Some("/account/password"));

    let mut other = Browser::new(&app.base);
    let form = other.get("/login").await;
    let res = other
        .post_with(
            "/login",
            &[
                ("username", LECTURER),
                ("password", PASSWORD),
                ("next", "//evil.example/steal"),
                ("csrf", &form.csrf()),
            ],
            ("x-forwarded-proto", "https"),
        )
        .await;
    assert_eq!(res.location(), Some("/"));
    // Over TLS (as the proxy says), the cookie is Secure.
    assert!(res
        .set_cookie("eportal_session")
        .unwrap()
        .contains("; Secure"));
    // A lecturer's home is their courses.
    assert_eq!(other.get("/").await.location(), Some("/courses"));
}

#[tokio::test]
async fn wrong_passwords_are_answered_as_the_api_does_and_throttled_with_it() {
    let app = spawn_app_with(|c| c.auth.max_failed_sign_ins = 3).await;
    let mut b = Browser::new(&app.base);

    let wrong = b.sign_in(STUDENTS[1], "not the password").await;
    let unknown = b.sign_in("SCI/2099/0001", "not the password").await;
    for res in [&wrong, &unknown] {
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert!(
            res.body.contains("wrong username or password"),
            "{}",
            res.body
        );
        assert!(res.set_cookie("eportal_session").is_none());
    }
    // The form keeps what was typed as the username, never the password.
    assert!(
        wrong.body.contains(r#"value="SCI/2021/0002""#),
        "{}",
        wrong.body
    );
    assert!(!wrong.body.contains("not the password"));
    // The message is tied to the field for screen readers.
    assert!(wrong.body.contains(r#"aria-describedby="login-error""#));

    for _ in 0..2 {
        b.sign_in(STUDENTS[1], "still not it").await;
    }
    let locked = b.sign_in(STUDENTS[1], PASSWORD).await;
    assert_eq!(
        locked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        locked.body
    );
    let retry: u64 = locked.header("retry-after").parse().unwrap();
    assert!(retry > 0);
    assert!(
        locked.body.contains("you can try again in"),
        "{}",
        locked.body
    );
    // The API shares the lock: it is one throttle, not two.
    let api = app
        .post_json(
            "/api/v1/auth/login",
            None,
            &json!({ "username": STUDENTS[1], "password": PASSWORD }),
        )
        .await;
    assert_eq!(api.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn the_apis_sign_out_and_password_changes_end_page_sessions() {
    let app = spawn_app_with(|c| c.auth.session_check_cache_secs = 3600).await;

    // Signing out through the API ends the page session of the same account.
    let mut page = signed_in(&app, STUDENTS[0]).await;
    let token = app.login(STUDENTS[0]).await;
    let res = app
        .post_json("/api/v1/auth/logout", Some(&token), &json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = page.get("/results").await;
    assert_eq!(res.location(), Some("/login?next=/results&ended=1"));
    let again = page.get(res.location().unwrap()).await;
    assert!(
        again.body.contains("Your session has ended"),
        "{}",
        again.body
    );

    // A password change on the page keeps that browser signed in and ends everything else.
    let mut here = signed_in(&app, STUDENTS[1]).await;
    let mut elsewhere = signed_in(&app, STUDENTS[1]).await;
    let api_token = app.login(STUDENTS[1]).await;
    let form = here.get("/account/password").await;
    let new_password = "a much longer new password";
    let res = here
        .post(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", new_password),
                ("repeat_password", new_password),
                ("csrf", &form.csrf()),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert!(
        res.body.contains("Your password has been changed"),
        "{}",
        res.body
    );
    assert_eq!(here.get("/results").await.status, StatusCode::OK);
    assert_eq!(
        elsewhere.get("/results").await.location(),
        Some("/login?next=/results&ended=1")
    );
    let me = app.get("/api/v1/me", Some(&api_token)).await;
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);

    // The registry administrator ending an account's sessions ends its page sessions too.
    let mut revoked = signed_in(&app, LECTURER).await;
    let admin = app.login(ADMIN).await;
    let res = app
        .post_json(
            &format!("/api/v1/users/{LECTURER}/revoke-sessions"),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        revoked.get("/account").await.location(),
        Some("/login?next=/account&ended=1")
    );

    // And a password change through the API ends the page session.
    let mut b = signed_in(&app, STUDENTS[2]).await;
    let token = app.login(STUDENTS[2]).await;
    let res = app
        .post_json(
            "/api/v1/auth/password",
            Some(&token),
            &json!({ "current_password": PASSWORD, "new_password": new_password }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        b.get("/results").await.location(),
        Some("/login?next=/results&ended=1")
    );
}

#[tokio::test]
async fn the_password_form_explains_what_is_wrong() {
    let app = spawn_app().await;
    let mut b = signed_in(&app, STUDENTS[0]).await;
    let csrf = b.get("/account/password").await.csrf();
    let send = |current: &'static str, new: &'static str, repeat: &'static str| {
        [
            ("current_password", current),
            ("new_password", new),
            ("repeat_password", repeat),
        ]
    };
    let mut post = async |fields: [(&'static str, &'static str); 3]| {
        let mut f = fields.to_vec();
        f.push(("csrf", &csrf));
        b.post("/account/password", &f).await
    };
    let res = post(send(PASSWORD, "long enough one", "long enough two")).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("are not the same"), "{}", res.body);
    let res = post(send(PASSWORD, "short", "short")).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("at least 8 characters"), "{}", res.body);
    let res = post(send(
        "not my password",
        "long enough one",
        "long enough one",
    ))
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(
        res.body.contains("That is not your current password"),
        "{}",
        res.body
    );
}

#[tokio::test]
async fn an_idle_session_ends_and_a_used_one_is_renewed_until_its_absolute_end() {
    let app = spawn_app_with(|c| {
        c.pages.session_idle_secs = 2;
        c.pages.session_absolute_secs = 600;
    })
    .await;
    let mut b = signed_in(&app, STUDENTS[0]).await;
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(
        b.get("/results").await.location(),
        Some("/login?next=/results&ended=1")
    );

    let app = spawn_app_with(|c| {
        c.pages.session_idle_secs = 8;
        c.pages.session_absolute_secs = 5;
    })
    .await;
    let mut b = signed_in(&app, STUDENTS[0]).await;
    let first = b.get("/results").await;
    assert_eq!(first.status, StatusCode::OK);
    assert!(
        first.set_cookie("eportal_session").is_none(),
        "fresh: not renewed"
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let later = b.get("/results").await;
    assert_eq!(later.status, StatusCode::OK);
    let renewed = later
        .set_cookie("eportal_session")
        .expect("renewed after a quarter of the idle window");
    assert!(renewed.contains("HttpOnly"));
    // Used all along, it still ends at the absolute limit.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(b.get("/results").await.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert_eq!(
        b.get("/results").await.location(),
        Some("/login?next=/results&ended=1")
    );
}

#[tokio::test]
async fn an_account_reset_by_the_registry_must_choose_a_password_before_any_other_page() {
    let app = spawn_app().await;
    let admin = app.login(ADMIN).await;
    let temporary = "temporary-123";
    let res = app
        .post_json(
            &format!(
                "/api/v1/users/{}/password",
                common::path_matric(STUDENTS[2])
            ),
            Some(&admin),
            &json!({ "new_password": temporary }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    // Signing in with the registry's password leads to the password form, and every other
    // page leads back there until a password of the student's own is chosen.
    let mut b = Browser::new(&app.base);
    let res = b.sign_in(STUDENTS[2], temporary).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let home = b.get("/").await;
    assert_eq!(home.location(), Some("/account/password"));
    for page in ["/results", "/account"] {
        let res = b.get(page).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{page}");
        assert_eq!(res.location(), Some("/account/password"), "{page}");
    }
    let form = b.get("/account/password").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);

    let own = "a password of my own choosing";
    let res = b
        .post(
            "/account/password",
            &[
                ("current_password", temporary),
                ("new_password", own),
                ("repeat_password", own),
                ("csrf", &form.csrf()),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let results = b.get("/results").await;
    assert_eq!(results.status, StatusCode::OK, "{}", results.body);
    assert_eq!(b.get("/").await.location(), Some("/results"));
}
