//! The staff pages (`/admin`): hidden from everyone but staff, staff read, superusers act,
//! every action is on the record, and the user list's search, filters and keyset
//! pagination on both engines.

use std::collections::HashSet;

use backend::admin::directory::{self, Cursor, Direction, Filters, Search, Sort, UserQuery};
use chrono::{DateTime, Duration, TimeZone, Utc};
use reqwest::StatusCode;

use crate::helpers::{Engine, TestApp};
use crate::web::{location, see_other, Browser};

/// Every staff address, with its method; `{id}` is an account's id.
const ROUTES: &[(&str, &str)] = &[
    ("GET", "/admin"),
    ("GET", "/admin/"),
    ("GET", "/admin/users"),
    ("GET", "/admin/users?q=a&staff=yes"),
    ("GET", "/admin/users/{id}"),
    ("GET", "/admin/activity"),
    ("GET", "/admin/no-such-page"),
    ("POST", "/admin/users/{id}/profile"),
    ("POST", "/admin/users/{id}/active"),
    ("POST", "/admin/users/{id}/staff"),
    ("POST", "/admin/users/{id}/password-reset"),
    ("POST", "/admin/users/{id}/sign-ins/end-all"),
    ("POST", "/admin/users/{id}/sign-ins/some-sid/end"),
    ("POST", "/admin/users/{id}/mfa/reset"),
    ("POST", "/admin/users/{id}/delete"),
    ("POST", "/admin/users"),
];

/// Signs `username` up in a new browser and returns it with the account's id.
async fn member<'a>(app: &'a TestApp, username: &str) -> (Browser<'a>, i64) {
    let browser = Browser::new(app);
    let res = browser
        .sign_up_with_email(username, &format!("{username}@example.com"))
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "sign up {username}");
    let id = user_id(app, username).await;
    (browser, id)
}

async fn user_id(app: &TestApp, username: &str) -> i64 {
    backend::users::find_by_username(&app.state.db, username)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{username} exists"))
        .id
}

/// A member of staff (a superuser too when `superuser`), signed in afresh so the flags
/// count.
async fn staff<'a>(app: &'a TestApp, username: &str, superuser: bool) -> (Browser<'a>, i64) {
    let (browser, id) = member(app, username).await;
    let sql = if superuser {
        "UPDATE users SET is_staff = TRUE, is_superuser = TRUE WHERE id = $1"
    } else {
        "UPDATE users SET is_staff = TRUE WHERE id = $1"
    };
    app.execute(sql, id).await;
    app.state.user_cache.invalidate(id);
    (browser, id)
}

/// The 404 page an unknown address gets, whatever its method.
async fn assert_not_found(res: reqwest::Response, what: &str) {
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "{what}");
    let body = res.text().await.unwrap();
    assert!(
        body.contains("Page not found"),
        "{what}: the ordinary 404 page"
    );
    assert!(
        !body.contains("Administration") && !body.contains("admin-nav"),
        "{what}: nothing of the admin shows"
    );
}

async fn admin_is_a_404_to_everyone_but_staff(app: TestApp) {
    let (_, target) = member(&app, "target").await;
    let (plain, _) = member(&app, "plain").await;
    let anonymous = Browser::new(&app);
    // Staff who were deactivated lose the pages with their sign-in; staff whose flag is
    // taken away lose them at once.
    let (former, former_id) = staff(&app, "former", true).await;
    app.execute("UPDATE users SET is_staff = FALSE WHERE id = $1", former_id)
        .await;
    app.state.user_cache.invalidate(former_id);

    for browser in [&anonymous, &plain, &former] {
        for (method, route) in ROUTES {
            let path = route.replace("{id}", &target.to_string());
            let res = match *method {
                "GET" => browser.get(&path).await,
                _ => {
                    browser
                        .post_form(&path, &[("active", "no"), ("confirm", "target")])
                        .await
                }
            };
            assert_not_found(res, &format!("{method} {path}")).await;
        }
    }
    // Nothing was done to the account.
    let user = backend::users::find_by_id(&app.state.db, target)
        .await
        .unwrap()
        .unwrap();
    assert!(user.is_active);
    assert!(app
        .event_kinds(Some(target))
        .await
        .iter()
        .all(|k| k == "signed_in"));
}

async fn staff_read_everything_but_only_superusers_change_accounts(app: TestApp) {
    let (_, target) = member(&app, "target").await;
    let (staff_browser, _) = staff(&app, "helper", false).await;

    for path in [
        "/admin".to_owned(),
        "/admin/users".to_owned(),
        format!("/admin/users/{target}"),
        "/admin/activity".to_owned(),
    ] {
        let page = staff_browser.page(&path).await;
        assert!(page.contains("admin-nav"), "{path}");
    }
    let page = staff_browser.page(&format!("/admin/users/{target}")).await;
    assert!(page.contains("target@example.com"));
    assert!(
        !page.contains("admin-active-form") && !page.contains("admin-delete-form"),
        "staff see no superuser forms"
    );
    // An account that does not exist is the 404 page, for staff too.
    let res = staff_browser.get("/admin/users/999999").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    for (path, form) in [
        ("active", vec![("active", "no")]),
        ("staff", vec![("staff", "yes")]),
        ("profile", vec![("username", "renamed")]),
        ("mfa/reset", vec![]),
        ("delete", vec![("confirm", "target")]),
    ] {
        let res = staff_browser
            .post_form(&format!("/admin/users/{target}/{path}"), &form)
            .await;
        see_other(&res, &format!("/admin/users/{target}"));
        let page = staff_browser.page(&format!("/admin/users/{target}")).await;
        assert!(page.contains("Only a superuser can do this."), "{path}");
    }
    let user = backend::users::find_by_id(&app.state.db, target)
        .await
        .unwrap()
        .unwrap();
    assert!(user.is_active && !user.is_staff && user.username == "target");

    // What staff may do: send a reset link, end sign-ins.
    let res = staff_browser
        .post_form(&format!("/admin/users/{target}/password-reset"), &[])
        .await;
    see_other(&res, &format!("/admin/users/{target}"));
    for _ in 0..2 {
        // The second click ends nothing and records nothing.
        let res = staff_browser
            .post_form(&format!("/admin/users/{target}/sign-ins/end-all"), &[])
            .await;
        see_other(&res, &format!("/admin/users/{target}"));
    }
    assert!(staff_browser
        .page(&format!("/admin/users/{target}"))
        .await
        .contains("The account was not signed in anywhere."));
    let kinds = app.event_kinds(Some(target)).await;
    assert_eq!(kinds[..2], ["all_sign_ins_ended", "password_reset_sent"]);

    // Not on their seniors: a superuser's sign-ins and mailbox are not staff's to touch.
    let (_, root) = staff(&app, "root", true).await;
    let before = app.event_kinds(Some(root)).await;
    for path in [
        "password-reset",
        "sign-ins/end-all",
        "sign-ins/whatever/end",
    ] {
        let res = staff_browser
            .post_form(&format!("/admin/users/{root}/{path}"), &[])
            .await;
        see_other(&res, &format!("/admin/users/{root}"));
        let page = staff_browser.page(&format!("/admin/users/{root}")).await;
        assert!(
            page.contains("Only a superuser can do this to a member of staff."),
            "{path}"
        );
    }
    assert_eq!(app.event_kinds(Some(root)).await, before);

    // An address's id that is not a number goes back to the list.
    let res = staff_browser
        .post_form("/admin/users/abc/password-reset", &[])
        .await;
    see_other(&res, "/admin/users");
    assert!(staff_browser
        .page("/admin/users")
        .await
        .contains("There is no account"));
}

/// The administrator named by each of `user_id`'s events, newest first, as (kind, actor).
async fn actors(app: &TestApp, user_id: i64) -> Vec<(String, Option<i64>)> {
    let sql = "SELECT kind, actor_id FROM audit_events WHERE user_id = $1 ORDER BY id DESC";
    match &app.state.db {
        backend::Db::Sqlite { pool, .. } => sqlx::query_as(sql).bind(user_id).fetch_all(pool).await,
        backend::Db::Postgres(pool) => sqlx::query_as(sql).bind(user_id).fetch_all(pool).await,
    }
    .unwrap()
}

async fn every_superuser_action_works_and_is_recorded_naming_the_admin(app: TestApp) {
    let (user, target) = member(&app, "target").await;
    let (root, root_id) = staff(&app, "root", true).await;
    let page_of = format!("/admin/users/{target}");
    let post = |path: &'static str, form: Vec<(&'static str, &'static str)>| {
        let root = &root;
        let url = format!("/admin/users/{target}/{path}");
        async move {
            let res = root.post_form(&url, &form).await;
            assert_eq!(res.status(), StatusCode::SEE_OTHER, "{url}");
            res
        }
    };

    // The profile, with the rules of everywhere else.
    post("profile", vec![("username", "bad name!")]).await;
    let page = root.page(&page_of).await;
    assert!(page.contains("error-username"), "the username rule");
    post("profile", vec![("username", "root")]).await;
    assert!(
        root.page(&page_of).await.contains("error-username"),
        "taken"
    );
    post(
        "profile",
        vec![("username", "renamed"), ("first_name", "Ada")],
    )
    .await;
    let renamed = backend::users::find_by_id(&app.state.db, target)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (renamed.username.as_str(), renamed.first_name.as_str()),
        ("renamed", "Ada")
    );

    // Deactivation ends the user's browser session at once, and sign-in is refused.
    assert_eq!(user.get("/profile").await.status(), StatusCode::OK);
    post("active", vec![("active", "no")]).await;
    // A second click changes nothing and records nothing.
    post("active", vec![("active", "no")]).await;
    let res = user.get("/profile").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(location(&res).starts_with("/signin"));
    let res = app.login("renamed", crate::helpers::GOOD_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    post("active", vec![("active", "yes")]).await;
    assert_eq!(
        app.login("renamed", crate::helpers::GOOD_PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );

    post("staff", vec![("staff", "yes")]).await;
    post("staff", vec![("staff", "no")]).await;
    post("password-reset", vec![]).await;
    post("sign-ins/end-all", vec![]).await;

    // One sign-in ended on its own.
    user.sign_in("renamed", None).await;
    let sid: String = {
        let sign_ins = backend::auth::sign_ins::live_sign_ins(
            &app.state.db,
            target,
            Utc::now().timestamp(),
            None,
        )
        .await
        .unwrap();
        sign_ins[0].id.clone()
    };
    let res = root
        .post_form(&format!("/admin/users/{target}/sign-ins/{sid}/end"), &[])
        .await;
    see_other(&res, &page_of);
    let res = user.get("/profile").await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "signed out on the next page"
    );

    // Second factors (set up by the MFA flows; inserted here).
    app.execute(
        "INSERT INTO mfa_authenticators (user_id, type, data, created_at) \
         VALUES ($1, 'totp', '{}', 0)",
        target,
    )
    .await;
    post("mfa/reset", vec![]).await;
    assert!(root
        .page(&page_of)
        .await
        .contains("Every second factor was removed"));

    let expected = [
        "mfa_reset",
        "sign_in_ended",
        "all_sign_ins_ended",
        "password_reset_sent",
        "staff_revoked",
        "staff_granted",
        "account_activated",
        "account_deactivated",
        "profile_changed",
    ];
    let by_admin: Vec<(String, Option<i64>)> = actors(&app, target)
        .await
        .into_iter()
        .filter(|(_, actor)| actor.is_some())
        .collect();
    assert_eq!(
        by_admin,
        expected
            .iter()
            .map(|k| (k.to_string(), Some(root_id)))
            .collect::<Vec<_>>()
    );
    // The owner reads them, without the administrator's address.
    let owner_events = backend::audit::events_of(&app.state.db, target, None, 50)
        .await
        .unwrap();
    let deactivated = owner_events
        .iter()
        .find(|e| e.kind == "account_deactivated")
        .unwrap();
    assert!(deactivated.by_staff && deactivated.ip.is_none() && deactivated.user_agent.is_none());

    // Nothing to oneself from here.
    let res = root
        .post_form(
            &format!("/admin/users/{root_id}/active"),
            &[("active", "no")],
        )
        .await;
    see_other(&res, &format!("/admin/users/{root_id}"));
    assert!(root
        .page(&format!("/admin/users/{root_id}"))
        .await
        .contains("your own account"));

    // Deleting needs the username typed; then only the tombstone stays, naming the admin.
    post("delete", vec![("confirm", "someone")]).await;
    assert!(root.page(&page_of).await.contains("error-confirm"));
    let res = post("delete", vec![("confirm", "renamed")]).await;
    assert_eq!(location(&res), "/admin/users");
    assert!(backend::users::find_by_id(&app.state.db, target)
        .await
        .unwrap()
        .is_none());
    // Only what staff did stays on the record: the owner's own events went with the account.
    let kept = actors(&app, target).await;
    assert_eq!(kept[0], ("account_deleted".to_owned(), Some(root_id)));
    assert_eq!(kept.len(), expected.len() + 1);
    assert!(kept.iter().all(|(_, actor)| *actor == Some(root_id)));
    assert_eq!(root.get(&page_of).await.status(), StatusCode::NOT_FOUND);
}

async fn admin_actions_need_a_recent_proof_of_identity(app: TestApp) {
    let (_, target) = member(&app, "target").await;
    let (root, root_id) = staff(&app, "root", true).await;
    app.execute(
        "UPDATE token_families SET authenticated_at = authenticated_at - 86400 WHERE user_id = $1",
        root_id,
    )
    .await;
    let page = root.page(&format!("/admin/users/{target}")).await;
    assert!(
        page.contains("field-admin-active-password"),
        "the forms ask for it"
    );

    let res = root
        .post_form(
            &format!("/admin/users/{target}/active"),
            &[("active", "no")],
        )
        .await;
    see_other(&res, &format!("/admin/users/{target}"));
    assert!(root
        .page(&format!("/admin/users/{target}"))
        .await
        .contains("confirm it is you"));
    let res = root
        .post_form(
            &format!("/admin/users/{target}/active"),
            &[("active", "no"), ("password", "not-the-password")],
        )
        .await;
    see_other(&res, &format!("/admin/users/{target}"));
    let still = backend::users::find_by_id(&app.state.db, target)
        .await
        .unwrap()
        .unwrap();
    assert!(still.is_active, "refused without the proof");

    root.post_form(
        &format!("/admin/users/{target}/active"),
        &[
            ("active", "no"),
            ("password", crate::helpers::GOOD_PASSWORD),
        ],
    )
    .await;
    let done = backend::users::find_by_id(&app.state.db, target)
        .await
        .unwrap()
        .unwrap();
    assert!(!done.is_active);
}

/// Inserts a bare account (no password) straight into the table: thousands are needed and
/// hashing each would take minutes.
async fn insert_user(
    app: &TestApp,
    username: &str,
    joined: DateTime<Utc>,
    last_login: Option<DateTime<Utc>>,
) -> i64 {
    let sql = "INSERT INTO users (username, username_key, email, email_key, email_verified, \
               date_joined, last_login) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";
    let email = format!("{username}@Example.org");
    let key = backend::users::identity_key(username);
    let email_key = backend::users::identity_key(&email);
    let verified = username.len().is_multiple_of(2);
    let (id,): (i64,) = match &app.state.db {
        backend::Db::Sqlite { writer, .. } => {
            sqlx::query_as(sql)
                .bind(username)
                .bind(&key)
                .bind(&email)
                .bind(&email_key)
                .bind(verified)
                .bind(joined)
                .bind(last_login)
                .fetch_one(writer)
                .await
        }
        backend::Db::Postgres(pool) => {
            sqlx::query_as(sql)
                .bind(username)
                .bind(&key)
                .bind(&email)
                .bind(&email_key)
                .bind(verified)
                .bind(joined)
                .bind(last_login)
                .fetch_one(pool)
                .await
        }
    }
    .unwrap();
    id
}

fn query(search: Option<Search>, filters: Filters, sort: Sort) -> UserQuery {
    UserQuery {
        search,
        filters,
        sort,
        limit: 500,
        ..UserQuery::default()
    }
}

async fn ids(app: &TestApp, q: UserQuery) -> Vec<i64> {
    directory::list_users(&app.state.db, &q)
        .await
        .unwrap()
        .rows
        .into_iter()
        .map(|r| r.id)
        .collect()
}

async fn search_and_filters_return_the_right_users(app: TestApp) {
    let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let alice = insert_user(&app, "alice", t0, Some(t0 + Duration::days(3))).await;
    let alina = insert_user(&app, "Alina", t0 + Duration::days(1), None).await;
    let bob = insert_user(&app, "bob", t0 + Duration::days(2), Some(t0)).await;
    let zoe = insert_user(&app, "Zoë", t0 + Duration::days(3), None).await;
    app.execute("UPDATE users SET is_active = FALSE WHERE id = $1", alina)
        .await;
    app.execute("UPDATE users SET is_staff = TRUE WHERE id = $1", bob)
        .await;
    app.execute(
        "INSERT INTO identities (provider, subject, user_id, created_at) VALUES ('github', 'gh-1', $1, 0)",
        alice,
    )
    .await;
    app.execute(
        "INSERT INTO mfa_authenticators (user_id, type, data, created_at) VALUES ($1, 'webauthn', '{}', 0)",
        zoe,
    )
    .await;
    let none = Filters::default();
    let search = |text: &str, by: &str| Search::parse(text, by).unwrap();

    // Prefixes, ignoring case; listed by the name they matched.
    assert_eq!(
        ids(&app, query(search("AL", ""), none, Sort::default())).await,
        [alice, alina]
    );
    assert_eq!(
        ids(&app, query(search("ali", ""), none, Sort::default())).await,
        [alice, alina]
    );
    assert_eq!(
        ids(&app, query(search("alic", ""), none, Sort::default())).await,
        [alice]
    );
    assert_eq!(
        ids(&app, query(search("ZOË", ""), none, Sort::default())).await,
        [zoe]
    );
    assert_eq!(
        ids(&app, query(search("zo", ""), none, Sort::default())).await,
        [zoe]
    );
    assert_eq!(
        ids(
            &app,
            query(search("bob@EXAMPLE", ""), none, Sort::default())
        )
        .await,
        [bob]
    );
    assert_eq!(
        ids(&app, query(search("b", "email"), none, Sort::default())).await,
        [bob]
    );
    assert_eq!(
        ids(
            &app,
            query(search(&bob.to_string(), ""), none, Sort::default())
        )
        .await,
        [bob]
    );
    assert_eq!(
        ids(&app, query(search("nobody", ""), none, Sort::default())).await,
        Vec::<i64>::new()
    );
    // A LIKE wildcard is just a character.
    assert_eq!(
        ids(&app, query(search("%", ""), none, Sort::default())).await,
        Vec::<i64>::new()
    );

    let only = |f: Filters| query(None, f, Sort::JoinedOldest);
    assert_eq!(
        ids(
            &app,
            only(Filters {
                active: Some(false),
                ..none
            })
        )
        .await,
        [alina]
    );
    assert_eq!(
        ids(
            &app,
            only(Filters {
                active: Some(true),
                ..none
            })
        )
        .await,
        [alice, bob, zoe]
    );
    assert_eq!(
        ids(
            &app,
            only(Filters {
                staff: Some(true),
                ..none
            })
        )
        .await,
        [bob]
    );
    assert_eq!(
        ids(
            &app,
            only(Filters {
                social: Some(true),
                ..none
            })
        )
        .await,
        [alice]
    );
    assert_eq!(
        ids(
            &app,
            only(Filters {
                mfa: Some(true),
                ..none
            })
        )
        .await,
        [zoe]
    );
    assert_eq!(
        ids(
            &app,
            only(Filters {
                mfa: Some(false),
                ..none
            })
        )
        .await,
        [alice, alina, bob]
    );
    // "verified" is set for even-length usernames by insert_user.
    assert_eq!(
        ids(
            &app,
            only(Filters {
                verified: Some(true),
                ..none
            })
        )
        .await,
        [zoe]
    );
    assert_eq!(
        ids(
            &app,
            only(Filters {
                verified: Some(false),
                active: Some(true),
                ..none
            })
        )
        .await,
        [alice, bob]
    );
    assert_eq!(
        ids(
            &app,
            query(
                search("a", ""),
                Filters {
                    social: Some(true),
                    ..none
                },
                Sort::default()
            )
        )
        .await,
        [alice]
    );

    // Sorts: joined either way; last sign-in with the never-signed-in last (or first).
    assert_eq!(
        ids(&app, query(None, none, Sort::JoinedNewest)).await,
        [zoe, bob, alina, alice]
    );
    assert_eq!(
        ids(&app, query(None, none, Sort::SignedInRecent)).await,
        [alice, bob, zoe, alina]
    );
    assert_eq!(
        ids(&app, query(None, none, Sort::SignedInLeast)).await,
        [alina, zoe, bob, alice]
    );

    // The flags follow the tables (triggers): unlinking the provider, removing the factor.
    app.execute("DELETE FROM identities WHERE user_id = $1", alice)
        .await;
    app.execute("DELETE FROM mfa_authenticators WHERE user_id = $1", zoe)
        .await;
    assert_eq!(
        ids(
            &app,
            only(Filters {
                social: Some(true),
                ..none
            })
        )
        .await,
        Vec::<i64>::new()
    );
    assert_eq!(
        ids(
            &app,
            only(Filters {
                mfa: Some(true),
                ..none
            })
        )
        .await,
        Vec::<i64>::new()
    );
    app.execute(
        "INSERT INTO identities (provider, subject, user_id, created_at) VALUES ('github', 'gh-1', $1, 0)",
        alice,
    )
    .await;

    // The same through the page, as staff.
    let (root, root_id) = staff(&app, "root", false).await;
    let page = root.page("/admin/users?q=al&by=&active=yes").await;
    assert!(page.contains(&format!("data-id=\"{alice}\"")));
    assert!(!page.contains(&format!("data-id=\"{alina}\"")));
    let page = root.page("/admin/users?q=12abc&by=id").await;
    assert!(page.contains("is not an account id"));
    assert!(page.contains("No account matches"));
    let page = root.page("/admin/users?after=garbage").await;
    assert!(page.contains("That page link is broken"));
    // A "Previous" link of another order starts from the top, and says so.
    let page = root.page("/admin/users?before=n5&sort=joined").await;
    assert!(page.contains("That page link is for another order"));
    let first = page.find(&format!("data-id=\"{}\"", root_id)).unwrap();
    assert!(
        first < page.find(&format!("data-id=\"{zoe}\"")).unwrap(),
        "newest first"
    );
    // Text PostgreSQL cannot hold, and times it cannot store: a sentence, never an error.
    for query in [
        "q=a%00b",
        "after=ka%00b",
        "q=al&after=ka%00b",
        "after=t-8000000000000.0.1",
        "after=t99999999999.0.1",
        "before=t1.0.-5",
        "q=al&q=zo",
        "active=yes&active=no",
    ] {
        let res = root.get(&format!("/admin/users?{query}")).await;
        assert_eq!(res.status(), StatusCode::OK, "{query}");
    }
    let page = root.page("/admin/users?q=al&q=zo").await;
    assert!(
        page.contains(&format!("data-id=\"{zoe}\"")),
        "the last value counts"
    );
    let page = root.page("/admin/activity?user=a%00b").await;
    assert!(page.contains("without control characters"));
    // Nothing invisible is shown back, in messages or in the form.
    for query in [
        "/admin/activity?ip=%00",
        "/admin/activity?kind=%1b",
        "/admin/activity?user=%E2%80%AEabc",
        "/admin/users?q=%00",
    ] {
        let page = root.page(query).await;
        assert!(
            !page.contains(['\0', '\u{1b}', '\u{202e}']),
            "{query}: control characters shown back"
        );
    }
    for (query, problem) in [
        (
            "/admin/users?active=maybe",
            "The active filter takes yes or no.",
        ),
        ("/admin/users?sort=bogus", "There is no such order"),
        ("/admin/activity?before=garbage", "That page link is broken"),
    ] {
        assert!(root.page(query).await.contains(problem), "{query}");
    }
}

/// Walks `sort` from first page to last, `per_page` at a time, calling `between` after each
/// page; returns the ids seen, in order.
async fn walk(
    app: &TestApp,
    sort: Sort,
    search: Option<Search>,
    per_page: u32,
    mut between: impl FnMut(usize) -> Option<Vec<(String, DateTime<Utc>, Option<DateTime<Utc>>)>>,
) -> Vec<i64> {
    let mut seen = Vec::new();
    let mut cursor: Option<Cursor> = None;
    for page in 0.. {
        let q = UserQuery {
            search: search.clone(),
            sort,
            cursor: cursor.clone(),
            limit: per_page,
            ..UserQuery::default()
        };
        let got = directory::list_users(&app.state.db, &q).await.unwrap();
        assert!(got.rows.len() <= per_page as usize);
        seen.extend(got.rows.iter().map(|r| r.id));
        if let Some(new) = between(page) {
            for (name, joined, last) in new {
                insert_user(app, &name, joined, last).await;
            }
        }
        match got.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    seen
}

async fn keyset_pagination_returns_every_user_exactly_once_while_users_are_added(app: TestApp) {
    // Many accounts share a joined time and a sign-in time: the id breaks the ties.
    let t0 = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    let mut original = HashSet::new();
    for i in 0..60 {
        let joined = t0 + Duration::seconds(i / 7) + Duration::nanoseconds(i % 3 * 1_000);
        let last = (i % 3 != 0).then(|| t0 + Duration::hours(i % 5));
        original.insert(insert_user(&app, &format!("user{i:03}"), joined, last).await);
    }
    let mut added = 0;
    for sort in [
        Sort::JoinedNewest,
        Sort::JoinedOldest,
        Sort::SignedInRecent,
        Sort::SignedInLeast,
    ] {
        for search in [None, Some(Search::Username("user".into()))] {
            let seen = walk(&app, sort, search.clone(), 7, |page| {
                // New accounts arrive while paging: now, long ago, signed in or not.
                page.is_multiple_of(2).then(|| {
                    added += 1;
                    vec![
                        (format!("new{added}a"), Utc::now(), None),
                        (
                            format!("user9{added:02}"),
                            t0 - Duration::days(1),
                            Some(Utc::now()),
                        ),
                    ]
                })
            })
            .await;
            let unique: HashSet<i64> = seen.iter().copied().collect();
            assert_eq!(
                unique.len(),
                seen.len(),
                "{sort:?} {search:?}: no account twice"
            );
            assert!(
                original.is_subset(&unique),
                "{sort:?} {search:?}: every account that was there all along"
            );

            // Backwards from the end gives the same order, reversed.
            let all = directory::list_users(
                &app.state.db,
                &UserQuery {
                    search: search.clone(),
                    sort,
                    limit: 500,
                    ..UserQuery::default()
                },
            )
            .await
            .unwrap()
            .rows;
            assert!(all.len() > 1);
            // The last row's position: the "previous" of a one-row page holding it.
            let before_last = directory::list_users(
                &app.state.db,
                &UserQuery {
                    search: search.clone(),
                    sort,
                    limit: (all.len() - 1) as u32,
                    ..UserQuery::default()
                },
            )
            .await
            .unwrap()
            .next;
            let last_page = directory::list_users(
                &app.state.db,
                &UserQuery {
                    search: search.clone(),
                    sort,
                    cursor: before_last,
                    limit: 1,
                    ..UserQuery::default()
                },
            )
            .await
            .unwrap();
            assert_eq!(last_page.rows.len(), 1);
            assert_eq!(last_page.next, None);
            let mut backwards = vec![last_page.rows[0].id];
            let mut cursor = last_page.previous;
            while let Some(before) = cursor {
                let page = directory::list_users(
                    &app.state.db,
                    &UserQuery {
                        search: search.clone(),
                        sort,
                        cursor: Some(before),
                        direction: Direction::Before,
                        limit: 6,
                        ..UserQuery::default()
                    },
                )
                .await
                .unwrap();
                backwards.extend(page.rows.iter().rev().map(|r| r.id));
                cursor = page.previous;
            }
            backwards.reverse();
            let forwards: Vec<i64> = all.iter().map(|r| r.id).collect();
            assert_eq!(backwards, forwards, "{sort:?} {search:?}: backwards");
        }
    }

    // And through the pages' own links.
    let (root, _) = staff(&app, "root", false).await;
    let mut path = "/admin/users?sort=last_login".to_owned();
    let mut rows = Vec::new();
    loop {
        let page = root.page(&path).await;
        rows.extend(
            page.match_indices("data-testid=\"user-row\" data-id=\"")
                .map(|(at, m)| {
                    let rest = &page[at + m.len()..];
                    rest[..rest.find('"').unwrap()].parse::<i64>().unwrap()
                }),
        );
        let Some(at) = page.find("rel=\"next\"") else {
            break;
        };
        let href_at = page[..at].rfind("href=\"").unwrap() + 6;
        path = page[href_at..]
            .split('"')
            .next()
            .unwrap()
            .replace("&amp;", "&");
    }
    let unique: HashSet<i64> = rows.iter().copied().collect();
    assert_eq!(unique.len(), rows.len());
    assert!(original.is_subset(&unique));
}

async fn security_activity_answers_who_is_trying_passwords(app: TestApp) {
    let (_, target) = member(&app, "target").await;
    for _ in 0..3 {
        assert_eq!(app.login("target", "wrong-password").await.status(), 400);
    }
    assert_eq!(
        app.login("nobody-here", "wrong-password").await.status(),
        400
    );
    let (root, _) = staff(&app, "root", false).await;

    let page = root.page("/admin/activity").await;
    assert!(page.contains("<svg"), "the chart is drawn on the server");
    assert!(
        page.contains("data-testid=\"failed-total\">4<"),
        "4 failed sign-ins"
    );
    assert_eq!(page.matches("data-testid=\"chart-hour\"").count(), 24);

    let page = root.page("/admin/activity?kind=sign_in_failed").await;
    assert_eq!(page.matches("data-testid=\"event-row\"").count(), 4);
    let page = root
        .page("/admin/activity?kind=sign_in_failed&user=target")
        .await;
    assert_eq!(page.matches("data-testid=\"event-row\"").count(), 3);
    let page = root
        .page(&format!(
            "/admin/activity?kind=sign_in_failed&user={target}&ip=127.0.0.1"
        ))
        .await;
    assert_eq!(page.matches("data-testid=\"event-row\"").count(), 3);
    let page = root.page("/admin/activity?ip=203.0.113.9").await;
    assert_eq!(page.matches("data-testid=\"event-row\"").count(), 0);

    for (query, problem) in [
        ("kind=nonsense", "There is no event kind"),
        ("user=ghost", "There is no account named"),
        ("ip=not-an-ip", "is not an IP address"),
    ] {
        let page = root.page(&format!("/admin/activity?{query}")).await;
        assert!(page.contains(problem), "{query}");
    }

    // Older pages.
    let q = backend::admin::activity::EventQuery {
        limit: 2,
        ..Default::default()
    };
    let first = backend::admin::activity::events(&app.state.db, &q)
        .await
        .unwrap();
    assert_eq!(first.events.len(), 2);
    let second = backend::admin::activity::events(
        &app.state.db,
        &backend::admin::activity::EventQuery {
            before: first.older,
            ..q
        },
    )
    .await
    .unwrap();
    assert!(second.events[0].id < first.events[1].id);
}

crate::on_both_databases!(
    admin_is_a_404_to_everyone_but_staff,
    staff_read_everything_but_only_superusers_change_accounts,
    every_superuser_action_works_and_is_recorded_naming_the_admin,
    admin_actions_need_a_recent_proof_of_identity,
    search_and_filters_return_the_right_users,
    keyset_pagination_returns_every_user_exactly_once_while_users_are_added,
    security_activity_answers_who_is_trying_passwords,
    the_404_for_outsiders_is_the_same_page_an_unknown_address_gets,
);

async fn the_404_for_outsiders_is_the_same_page_an_unknown_address_gets(app: TestApp) {
    let anonymous = Browser::new(&app);
    let (member, _) = member(&app, "member").await;
    let strip = |body: String| {
        // Each page has its own CSP nonce.
        let mut out = String::new();
        let mut rest = body.as_str();
        while let Some(at) = ["nonce=\"", "crossorigin=\""]
            .iter()
            .filter_map(|attr| rest.find(attr).map(|at| at + attr.len()))
            .min()
        {
            out.push_str(&rest[..at]);
            let after = &rest[at..];
            rest = &after[after.find('"').unwrap()..];
        }
        out.push_str(rest);
        out
    };
    let names = |res: &reqwest::Response| {
        let mut names: Vec<String> = res.headers().keys().map(|k| k.to_string()).collect();
        names.retain(|n| n != "x-request-id" && n != "date");
        names.sort();
        names
    };
    for browser in [&anonymous, &member] {
        for (method, path) in [
            ("GET", "/admin"),
            ("GET", "/admin/users"),
            ("GET", "/admin/users/1"),
            ("GET", "/admin/activity"),
            // Methods the path lacks: no `Allow` header gives it away.
            ("POST", "/admin"),
            ("POST", "/admin/users/1"),
            ("GET", "/admin/users/1/delete"),
            ("DELETE", "/admin/users"),
        ] {
            let send = |path: &'static str| {
                let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
                browser.request(method, path)
            };
            let unknown = send("/no-such-page").await;
            let admin = send(path).await;
            assert_eq!(admin.status(), StatusCode::NOT_FOUND, "{method} {path}");
            assert_eq!(unknown.status(), admin.status(), "{method} {path}");
            assert_eq!(names(&unknown), names(&admin), "{method} {path}");
            assert_eq!(
                strip(unknown.text().await.unwrap()),
                strip(admin.text().await.unwrap()),
                "{path}"
            );
        }
    }
}

async fn the_chart_counts_every_rate_limit_refusal(app: TestApp) {
    // Five attempts a minute per IP: the sixth and later are refused.
    for _ in 0..8 {
        app.login("nobody-at-all", "wrong-password").await;
    }
    let refused = app
        .state
        .rate_limits
        .refusal_counts()
        .hourly(&app.state.db, 0, 1)
        .await
        .unwrap();
    assert_eq!(refused, [0], "an hour in 1970 saw nothing");
    let now = Utc::now().timestamp();
    let hours = backend::admin::activity::last_day(
        &app.state.db,
        app.state.rate_limits.refusal_counts(),
        now,
    )
    .await
    .unwrap();
    let limited: u64 = hours.iter().map(|h| h.rate_limited).sum();
    assert!(limited >= 3, "every refusal counts, got {limited}");
    // Written to the table, the count stays the same (and other instances see it).
    app.state
        .rate_limits
        .refusal_counts()
        .flush(&app.state.db)
        .await
        .unwrap();
    let again: u64 = backend::admin::activity::last_day(
        &app.state.db,
        app.state.rate_limits.refusal_counts(),
        now,
    )
    .await
    .unwrap()
    .iter()
    .map(|h| h.rate_limited)
    .sum();
    assert_eq!(again, limited);
}

mod rate_limited {
    use super::*;

    fn limits(s: &mut backend::Settings) {
        s.rate_limit_enabled = true;
        s.rate_limit_login_per_minute = 5;
    }

    #[tokio::test]
    async fn the_chart_counts_every_rate_limit_refusal_sqlite() {
        let app = TestApp::spawn_with(Engine::Sqlite, limits).await;
        super::the_chart_counts_every_rate_limit_refusal(app).await;
    }

    #[tokio::test]
    async fn the_chart_counts_every_rate_limit_refusal_postgres() {
        let app = TestApp::spawn_with(Engine::Postgres, limits).await;
        super::the_chart_counts_every_rate_limit_refusal(app).await;
    }
}
