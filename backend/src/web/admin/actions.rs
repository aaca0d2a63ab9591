//! The staff forms: each a `POST` under `/admin/users/{id}/`, answered with a redirect to
//! the account's page (post/redirect/get) carrying what happened. Every one of them first
//! confirms the administrator (their password with the form, or a sign-in that proved itself
//! within `REAUTH_MAX_AGE`), then calls `accounts::administration`.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use tower_sessions::Session;

use super::super::feedback::{self, FormInput};
use super::super::redirect::{see_other, see_other_with};
use crate::accounts::administration::{self as admin, Staff};
use crate::accounts::AccountError;
use crate::browser::flash::Flash;
use crate::browser::sessions::Current;
use crate::client::Client;
use crate::input::{Fields, NON_FIELD_ERRORS};
use crate::state::AppState;
use crate::users::{self, User};

/// The forms' routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/users/{id}/profile", post(edit_profile))
        .route("/admin/users/{id}/active", post(set_active))
        .route("/admin/users/{id}/staff", post(set_staff))
        .route(
            "/admin/users/{id}/password-reset",
            post(send_password_reset),
        )
        .route("/admin/users/{id}/sign-ins/end-all", post(end_all_sign_ins))
        .route("/admin/users/{id}/sign-ins/{sid}/end", post(end_sign_in))
        .route("/admin/users/{id}/mfa/reset", post(reset_second_factors))
        .route("/admin/users/{id}/delete", post(delete))
}

/// The account page's address.
fn page(id: i64) -> String {
    format!("/admin/users/{id}")
}

/// Back to the account's page with `notice` for `form`.
fn done(state: &AppState, id: i64, form: &str, notice: impl Into<String>) -> Response {
    let flash = Flash {
        form: form.into(),
        notice: Some(notice.into()),
        ..Flash::default()
    };
    see_other_with(state, &page(id), &flash)
}

/// Back to the account's page with the refusal for `form`.
fn refused(state: &AppState, id: i64, form: &str, error: AccountError) -> Response {
    let flash = match error {
        AccountError::NotFound => Flash {
            form: form.into(),
            notice: Some("That is no longer there: the page shows what is.".into()),
            ..Flash::default()
        },
        error => feedback::rejected(form, error, Default::default()),
    };
    see_other_with(state, &page(id), &flash)
}

/// A form of the staff pages, once its sender is known to be active staff who confirmed
/// who they are: the administrator's sign-in, the account acted on and the fields.
struct Confirmed {
    current: Current,
    target: User,
    fields: Fields,
}

/// Checks the sender of `form` about account `id`: signed in as active staff (the gate let
/// nobody else this far; a sign-in that lost the flag meanwhile goes home), the account
/// exists (else back to the list), and the administrator's password or recent sign-in
/// (ASVS 3.7.1). Anything else is the redirect to answer with.
async fn confirm(
    state: &AppState,
    client: &Client,
    session: &Session,
    id: i64,
    form: &str,
    input: FormInput,
) -> Result<Confirmed, Response> {
    let current = match state.browser.sessions.current(session).await {
        Ok(Some(current)) if current.user.is_staff && current.user.is_active => current,
        Ok(_) => return Err(see_other("/")),
        Err(error) => {
            let flash = feedback::failure(form, error.into());
            return Err(see_other_with(state, &page(id), &flash));
        }
    };
    let target = match users::find_by_id(&state.db, id).await {
        Ok(Some(target)) => target,
        Ok(None) => {
            let flash = Flash {
                notice: Some(format!("There is no account {id}.")),
                ..Flash::default()
            };
            return Err(see_other_with(state, "/admin/users", &flash));
        }
        Err(error) => {
            let flash = feedback::failure(form, error.into());
            return Err(see_other_with(state, &page(id), &flash));
        }
    };
    let fields = input
        .into_fields(form, Default::default())
        .map_err(|flash| see_other_with(state, &page(id), &flash))?;
    let confirmed = state
        .reauth()
        .from(client)
        .confirm(&current.user, &current.signed_in.sid, &fields)
        .await;
    if let Err(error) = confirmed {
        return Err(refused(state, id, form, error));
    }
    Ok(Confirmed {
        current,
        target,
        fields,
    })
}

/// A `yes`/`no` field (`true`/`false` also), or the refusal.
fn flag(fields: &Fields, name: &str) -> Result<bool, AccountError> {
    let mut ignored = crate::input::FieldErrors::new();
    match fields
        .text(name, crate::input::Text::OPTIONAL, &mut ignored)
        .as_deref()
    {
        Some("yes" | "true") => Ok(true),
        Some("no" | "false") => Ok(false),
        // The forms send one of those: anything else is a form made elsewhere.
        _ => Err(AccountError::invalid(
            NON_FIELD_ERRORS,
            format!("The form must say {name}=yes or {name}=no."),
        )),
    }
}

/// Confirms a staff form ([`confirm`]) about the account `$id` names (an id in the address,
/// as typed) and declares, in the handler, `$account` (the id), `$c` ([`Confirmed`]) and
/// `$staff` ([`Staff`]); or returns the redirect to answer with.
macro_rules! confirmed {
    ($state:expr, $client:expr, $session:expr, $id:expr, $form:expr, $input:expr
        => $account:ident, $c:ident, $staff:ident) => {
        let Some($account) = account_id(&$id) else {
            return no_such_account(&$state, &$id);
        };
        let $c = match confirm(&$state, &$client, &$session, $account, $form, $input).await {
            Ok(confirmed) => confirmed,
            Err(redirect) => return redirect,
        };
        let Some($staff) = Staff::new(&$c.current.user, &$client) else {
            return see_other("/");
        };
    };
}

/// Back to the account's page with what happened: `notice`, or the refusal.
fn finish(
    state: &AppState,
    id: i64,
    form: &str,
    outcome: Result<String, AccountError>,
) -> Response {
    match outcome {
        Ok(notice) => done(state, id, form, notice),
        Err(error) => refused(state, id, form, error),
    }
}

/// The account id in an address (`/admin/users/{id}/...`): a positive integer.
fn account_id(text: &str) -> Option<i64> {
    text.parse().ok().filter(|id| *id > 0)
}

/// Back to the list, saying the account is not there.
fn no_such_account(state: &AppState, id: &str) -> Response {
    let shown: String = id.chars().filter(|c| !c.is_control()).take(40).collect();
    let flash = Flash {
        notice: Some(format!("There is no account \"{shown}\".")),
        ..Flash::default()
    };
    see_other_with(state, "/admin/users", &flash)
}

/// `POST /admin/users/{id}/profile`: `username`, `first_name`, `last_name` (superusers).
pub async fn edit_profile(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: Client,
    session: Session,
    input: FormInput,
) -> Response {
    const FORM: &str = "admin-profile";
    let kept = input.keep(&["username", "first_name", "last_name"]);
    confirmed!(state, client, session, id, FORM, input => id, c, staff);
    match admin::edit_profile(&state.db, &state.user_cache, staff, &c.target, &c.fields).await {
        Ok(changed) if changed.is_empty() => done(&state, id, FORM, "Nothing changed."),
        Ok(_) => done(&state, id, FORM, "The profile was saved."),
        Err(error) => {
            let flash = feedback::rejected(FORM, error, kept);
            see_other_with(&state, &page(id), &flash)
        }
    }
}

/// `POST /admin/users/{id}/active` with `active=yes|no` (superusers).
pub async fn set_active(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: Client,
    session: Session,
    input: FormInput,
) -> Response {
    const FORM: &str = "admin-active";
    confirmed!(state, client, session, id, FORM, input => id, c, staff);
    let outcome = async {
        let active = flag(&c.fields, "active")?;
        let (db, tokens, cache) = (&state.db, &state.tokens, &state.user_cache);
        let changed = admin::set_active(db, tokens, cache, staff, id, active).await?;
        Ok(match (changed, active) {
            (true, true) => "The account was activated.",
            (true, false) => {
                "The account was deactivated: every sign-in ended, and it cannot sign in."
            }
            (false, true) => "The account was already active.",
            (false, false) => "The account was already deactivated.",
        }
        .to_owned())
    };
    finish(&state, id, FORM, outcome.await)
}

/// `POST /admin/users/{id}/staff` with `staff=yes|no` (superusers).
pub async fn set_staff(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: Client,
    session: Session,
    input: FormInput,
) -> Response {
    const FORM: &str = "admin-staff";
    confirmed!(state, client, session, id, FORM, input => id, c, staff);
    let outcome = async {
        let make_staff = flag(&c.fields, "staff")?;
        let changed = admin::set_staff(&state.db, &state.user_cache, staff, id, make_staff).await?;
        Ok(match (changed, make_staff) {
            (true, true) => "The account is staff now.",
            (true, false) => "The account is no longer staff.",
            (false, true) => "The account was already staff.",
            (false, false) => "The account was not staff.",
        }
        .to_owned())
    };
    finish(&state, id, FORM, outcome.await)
}

/// `POST /admin/users/{id}/password-reset` (staff).
pub async fn send_password_reset(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: Client,
    session: Session,
    input: FormInput,
) -> Response {
    const FORM: &str = "admin-reset";
    confirmed!(state, client, session, id, FORM, input => id, c, staff);
    let (limits, mail) = (&state.rate_limits, state.mail_context());
    let outcome =
        admin::send_password_reset(&state.db, limits, &state.mailer, staff, &c.target, mail)
            .await
            .map(|()| "A password-reset link is on its way to the account's address.".to_owned());
    finish(&state, id, FORM, outcome)
}

/// `POST /admin/users/{id}/sign-ins/{sid}/end` (staff).
pub async fn end_sign_in(
    State(state): State<AppState>,
    Path((id, sid)): Path<(String, String)>,
    client: Client,
    session: Session,
    input: FormInput,
) -> Response {
    const FORM: &str = "admin-sign-ins";
    confirmed!(state, client, session, id, FORM, input => id, c, staff);
    let outcome = if sid == c.current.signed_in.sid {
        Err(AccountError::invalid(
            NON_FIELD_ERRORS,
            "That is this browser: use \"Sign out\" to end it.",
        ))
    } else {
        match admin::end_sign_in(&state.tokens, staff, &c.target, &sid).await {
            Ok(()) => Ok("That sign-in was ended.".to_owned()),
            Err(AccountError::NotFound) => Ok("That sign-in had already ended.".to_owned()),
            Err(error) => Err(error),
        }
    };
    finish(&state, id, FORM, outcome)
}

/// `POST /admin/users/{id}/sign-ins/end-all` (staff).
pub async fn end_all_sign_ins(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: Client,
    session: Session,
    input: FormInput,
) -> Response {
    const FORM: &str = "admin-sign-ins";
    confirmed!(state, client, session, id, FORM, input => id, c, staff);
    let outcome = admin::end_all_sign_ins(&state.tokens, staff, &c.target)
        .await
        .map(|n| match n {
            0 => "The account was not signed in anywhere.".to_owned(),
            1 => "1 sign-in was ended.".to_owned(),
            n => format!("{n} sign-ins were ended."),
        });
    finish(&state, id, FORM, outcome)
}

/// `POST /admin/users/{id}/mfa/reset` (superusers).
pub async fn reset_second_factors(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: Client,
    session: Session,
    input: FormInput,
) -> Response {
    const FORM: &str = "admin-mfa";
    confirmed!(state, client, session, id, FORM, input => id, _c, staff);
    let outcome = admin::reset_second_factors(&state.db, staff, id)
        .await
        .map(|n| match n {
            0 => "The account had no second factor.".to_owned(),
            _ => "Every second factor was removed: the account signs in with its password \
                  alone until it sets them up again."
                .to_owned(),
        });
    finish(&state, id, FORM, outcome)
}

/// `POST /admin/users/{id}/delete` with `confirm` (the account's username, typed as a
/// check) (superusers).
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: Client,
    session: Session,
    input: FormInput,
) -> Response {
    const FORM: &str = "admin-delete";
    confirmed!(state, client, session, id, FORM, input => id, c, staff);
    let typed = {
        let mut ignored = crate::input::FieldErrors::new();
        c.fields
            .text("confirm", crate::input::Text::OPTIONAL, &mut ignored)
            .unwrap_or_default()
    };
    if typed != c.target.username {
        let error = AccountError::invalid(
            "confirm",
            "Type the account's username exactly, to show which account you mean.",
        );
        return refused(&state, id, FORM, error);
    }
    let (db, tokens, cache) = (&state.db, &state.tokens, &state.user_cache);
    match admin::delete_account(db, tokens, cache, staff, id).await {
        Ok(()) => {
            let flash = Flash {
                notice: Some(format!("The account {} was deleted.", c.target.username)),
                ..Flash::default()
            };
            see_other_with(&state, "/admin/users", &flash)
        }
        Err(error) => refused(&state, id, FORM, error),
    }
}
