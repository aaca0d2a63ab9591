//! The staff pages: `/admin` (overview), `/admin/users` (find an account), `/admin/users/{id}`
//! (one account and what staff can do to it) and `/admin/activity` (security activity across
//! every account, with the last day's failed sign-ins as a chart drawn on the server).
//!
//! They render on the server only and hold no island: every form is a plain POST, so they
//! work without JavaScript. Unlike the other pages they read the backend's own types (the
//! page context's `admin` view) rather than copies made for the browser, because nothing of
//! them is ever compiled into the WASM bundle. Anyone but staff never gets here: the
//! server's gate answers them with the 404 page first.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::pages::not_found::NotFound;

/// `/admin`.
#[component]
pub fn AdminHomePage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        ssr::home()
    }
    #[cfg(not(feature = "ssr"))]
    ()
}

/// `/admin/users`.
#[component]
pub fn AdminUsersPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        ssr::users()
    }
    #[cfg(not(feature = "ssr"))]
    ()
}

/// `/admin/users/{id}`.
#[component]
pub fn AdminUserPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        ssr::user()
    }
    #[cfg(not(feature = "ssr"))]
    ()
}

/// `/admin/activity`.
#[component]
pub fn AdminActivityPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        ssr::activity()
    }
    #[cfg(not(feature = "ssr"))]
    ()
}

#[cfg(feature = "ssr")]
mod ssr {
    use backend::admin::account::Account;
    use backend::admin::activity::{HourCount, StaffEvent};
    use backend::admin::directory::UserRow;
    use backend::audit::Kind;
    use backend::web::admin::{ActivityParams, ActivityView, AdminView, UsersView};
    use chrono::{DateTime, Utc};
    use leptos::prelude::*;
    use leptos_meta::Title;

    use super::NotFound;
    use crate::components::form::{Field, FormMessages, SubmitButton};
    use crate::context::{
        ago, describe_event, page_context, providers, reauth_recent, viewer, Feedback,
    };

    fn view_of_page() -> Option<std::sync::Arc<AdminView>> {
        page_context()?.admin
    }

    fn when(at: DateTime<Utc>) -> String {
        at.format("%-d %b %Y, %H:%M UTC").to_string()
    }

    fn label_of(provider: &str) -> String {
        providers()
            .into_iter()
            .find(|(id, _)| id == provider)
            .map_or_else(|| provider.to_owned(), |(_, label)| label)
    }

    /// The links between the staff pages.
    #[component]
    fn AdminNav(current: &'static str) -> impl IntoView {
        let link = move |href: &'static str, text: &'static str| {
            let here = href == current;
            view! {
                <a href=href aria-current=here.then_some("page") class:current=here>{text}</a>
            }
        };
        view! {
            <nav class="admin-nav" aria-label="Administration">
                {link("/admin", "Overview")}
                {link("/admin/users", "Users")}
                {link("/admin/activity", "Security activity")}
            </nav>
        }
    }

    pub fn home() -> AnyView {
        let Some(user) = viewer() else {
            return view! { <NotFound/> }.into_any();
        };
        if view_of_page().is_none() {
            return view! { <NotFound/> }.into_any();
        }
        let superuser = page_context()
            .and_then(|c| c.user)
            .is_some_and(|u| u.is_superuser);
        let role = if superuser { "superuser" } else { "staff" };
        view! {
            <Title text="Administration · leptos-auth-starter"/>
            <AdminNav current="/admin"/>
            <section class="card">
                <h1>"Administration"</h1>
                <p>{format!("You are signed in as {} ({role}).", user.username)}</p>
                <ul class="admin-links">
                    <li><a href="/admin/users">"Users"</a>
                        " — find an account by username, address or id, and act on it."</li>
                    <li><a href="/admin/activity">"Security activity"</a>
                        " — what happened across every account, and failed sign-ins over the last day."</li>
                </ul>
                <p class="muted">
                    "Staff can read everything, end sign-ins and send password-reset links; \
                     editing, deactivating, staff changes, second-factor resets and deletion \
                     need a superuser. Every action is recorded on the account, with your name."
                </p>
            </section>
        }
        .into_any()
    }

    /// A yes/no/either `<select>` of the user list's filters.
    fn either(name: &'static str, label: &'static str, value: &str) -> impl IntoView {
        let id = format!("filter-{name}");
        let option = |v: &'static str, text: &'static str| {
            view! { <option value=v selected=value == v>{text}</option> }
        };
        view! {
            <div class="field compact">
                <label for=id.clone()>{label}</label>
                <select id=id name=name>
                    {option("", "Any")}
                    {option("yes", "Yes")}
                    {option("no", "No")}
                </select>
            </div>
        }
    }

    pub fn users() -> AnyView {
        let Some(view) = view_of_page() else {
            return view! { <NotFound/> }.into_any();
        };
        let AdminView::Users(UsersView {
            params,
            page,
            problem,
        }) = view.as_ref()
        else {
            return view! { <NotFound/> }.into_any();
        };
        let option = |current: &str, v: &'static str, text: &'static str| {
            let selected = current == v;
            view! { <option value=v selected=selected>{text}</option> }
        };
        let searching = !params.q.trim().is_empty();
        let rows = page.rows.iter().cloned().map(user_row).collect_view();
        let empty = page.rows.is_empty();
        let previous = page
            .previous
            .as_ref()
            .map(|c| params.link(Some(("before", c))));
        let next = page.next.as_ref().map(|c| params.link(Some(("after", c))));
        let paged = previous.is_some() || next.is_some();
        let first_link = params.link(None);
        let paged_from_cursor = !params.after.is_empty() || !params.before.is_empty();
        let first = previous.is_some().then(|| first_link.clone());
        view! {
            <Title text="Users · Administration · leptos-auth-starter"/>
            <AdminNav current="/admin/users"/>
            <section class="card wide">
                <h1>"Users"</h1>
                <form method="get" action="/admin/users" class="admin-filters" role="search"
                    data-testid="user-search">
                    <div class="field search">
                        <label for="search-q">"Search"</label>
                        <input id="search-q" name="q" type="search" value=params.q.clone()
                            placeholder="Username, e-mail address or id"
                            aria-describedby="search-hint"/>
                        <p class="hint" id="search-hint">
                            "Names and addresses match from their start, ignoring case. \
                             Results are listed by the name or address they matched."
                        </p>
                    </div>
                    <div class="field compact">
                        <label for="search-by">"In"</label>
                        <select id="search-by" name="by">
                            {option(&params.by, "", "Work it out")}
                            {option(&params.by, "username", "Usernames")}
                            {option(&params.by, "email", "E-mail addresses")}
                            {option(&params.by, "id", "Ids")}
                        </select>
                    </div>
                    {either("active", "Active", &params.active)}
                    {either("staff", "Staff", &params.staff)}
                    {either("verified", "Verified e-mail", &params.verified)}
                    {either("social", "Social sign-in", &params.social)}
                    {either("mfa", "Second factor", &params.mfa)}
                    <div class="field compact">
                        <label for="sort">"Sort"</label>
                        <select id="sort" name="sort" disabled=searching
                            title=searching.then_some("Search results are listed by name")>
                            {option(&params.sort, "joined", "Newest first")}
                            {option(&params.sort, "joined_asc", "Oldest first")}
                            {option(&params.sort, "last_login", "Recently signed in")}
                            {option(&params.sort, "last_login_asc", "Least recently signed in")}
                        </select>
                    </div>
                    <div class="actions">
                        <button type="submit" class="button">"Search"</button>
                        <a class="button secondary" href="/admin/users">"Clear"</a>
                    </div>
                </form>
                {problem.clone().map(|p| view! {
                    <p class="alert error" role="alert" data-testid="search-problem">{p}</p>
                })}
                {empty.then(|| view! {
            <p class="muted" data-testid="no-users">
                "No account matches."
                {paged_from_cursor.then(|| view! { " " <a href=first_link.clone()>"First page"</a> })}
            </p>
        })}
                {(!empty).then(|| view! {
                    <table class="admin-table" data-testid="users">
                        <thead>
                            <tr>
                                <th scope="col">"Id"</th>
                                <th scope="col">"Username"</th>
                                <th scope="col">"E-mail"</th>
                                <th scope="col">"Status"</th>
                                <th scope="col">"Joined"</th>
                                <th scope="col">"Last sign-in"</th>
                            </tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                })}
                {paged.then(|| view! {
                    <nav class="pager" aria-label="Pages">
                        {first.map(|href| view! { <a href=href>"First page"</a> })}
                        {previous.map(|href| view! {
                            <a href=href rel="prev" data-testid="previous-page">"← Previous"</a>
                        })}
                        {next.map(|href| view! {
                            <a href=href rel="next" data-testid="next-page">"Next →"</a>
                        })}
                    </nav>
                })}
            </section>
        }
        .into_any()
    }

    fn badges(
        active: bool,
        staff: bool,
        superuser: bool,
        social: bool,
        mfa: bool,
    ) -> impl IntoView {
        view! {
            {if active {
                view! { <span class="badge ok">"Active"</span> }.into_any()
            } else {
                view! { <span class="badge warn" data-testid="badge-inactive">"Deactivated"</span> }.into_any()
            }}
            {(superuser && staff).then(|| view! { " " <span class="badge">"Superuser"</span> })}
            {(superuser && !staff).then(|| view! {
                " " <span class="badge warn" title="Without the staff flag, no admin pages">
                    "Superuser, not staff"
                </span>
            })}
            {(staff && !superuser).then(|| view! { " " <span class="badge">"Staff"</span> })}
            {social.then(|| view! { " " <span class="badge">"Social"</span> })}
            {mfa.then(|| view! { " " <span class="badge">"2FA"</span> })}
        }
    }

    fn user_row(row: UserRow) -> impl IntoView {
        let href = format!("/admin/users/{}", row.id);
        view! {
            <tr data-testid="user-row" data-id=row.id>
                <td data-label="Id">{row.id}</td>
                <td data-label="Username"><a href=href>{row.username}</a></td>
                <td data-label="E-mail">
                    {row.email.clone().unwrap_or_else(|| "—".into())}
                    {(row.email.is_some() && row.email_verified).then(|| view! {
                        " " <span class="badge ok" title="Verified">"✓"</span>
                    })}
                </td>
                <td data-label="Status">
                    {badges(row.is_active, row.is_staff, row.is_superuser, row.has_social, row.has_mfa)}
                </td>
                <td data-label="Joined">{when(row.date_joined)}</td>
                <td data-label="Last sign-in">{row.last_login.map_or_else(|| "Never".into(), when)}</td>
            </tr>
        }
    }

    /// The administrator's password, on a staff form, when their sign-in's proof is older
    /// than `REAUTH_MAX_AGE`.
    fn confirm_field(form: &'static str, errors: Vec<String>) -> impl IntoView {
        if reauth_recent() {
            return None;
        }
        let has_password = viewer().is_some_and(|v| v.has_password);
        Some(if has_password {
            view! {
                <Field name="password" form=form label="Your password" kind="password"
                    autocomplete="current-password" required=true
                    hint="Staff actions need a recent proof that it is you."
                    errors=errors/>
            }
            .into_any()
        } else {
            // Without a password, the proof is a fresh sign-in with a provider.
            view! {
                <p class="hint">
                    "Staff actions need a recent proof that it is you: "
                    <a href="/profile">"confirm it on your profile"</a> ", then come back."
                </p>
            }
            .into_any()
        })
    }

    pub fn user() -> AnyView {
        let Some(view) = view_of_page() else {
            return view! { <NotFound/> }.into_any();
        };
        let AdminView::User(Some(account)) = view.as_ref() else {
            return view! { <NotFound/> }.into_any();
        };
        let Account {
            user,
            identities,
            sign_ins,
            factors,
            activity,
            pending_email,
        } = account.as_ref().clone();
        let Some(me) = viewer() else {
            return view! { <NotFound/> }.into_any();
        };
        let superuser = page_context()
            .and_then(|c| c.user)
            .is_some_and(|u| u.is_superuser);
        let myself = me.id == user.id;
        // What staff may do to this account (the server refuses the rest anyway): not to
        // oneself, and to other staff only as a superuser.
        let may_act = !myself && (superuser || !(user.is_staff || user.is_superuser));
        let id = user.id;
        let or_dash = |s: &str| {
            if s.is_empty() {
                "—".to_owned()
            } else {
                s.to_owned()
            }
        };
        let profile_form = Feedback::for_form("admin-profile");
        let active_form_feedback = Feedback::for_form("admin-active");
        let staff_form_feedback = Feedback::for_form("admin-staff");
        let reset_form_feedback = Feedback::for_form("admin-reset");
        let sign_ins_form = Feedback::for_form("admin-sign-ins");
        let mfa_form = Feedback::for_form("admin-mfa");
        let delete_form = Feedback::for_form("admin-delete");
        let keep = |field: &str, saved: &str| {
            Some(
                profile_form
                    .value(field)
                    .unwrap_or_else(|| saved.to_owned()),
            )
        };
        let current_sign_in = page_context().and_then(|c| c.current_sign_in);
        let now = Utc::now().timestamp();

        let profile = (superuser && !myself).then(|| {
            view! {
                <section class="card">
                    <h2>"Edit the profile"</h2>
                    <FormMessages feedback=profile_form.clone()/>
                    <form method="post" action=format!("/admin/users/{id}/profile") class="stack"
                        data-testid="admin-profile-form">
                        <Field name="username" form="admin-profile" label="Username" required=true
                            value=keep("username", &user.username)
                            errors=profile_form.errors("username")/>
                        <Field name="first_name" form="admin-profile" label="First name"
                            value=keep("first_name", &user.first_name)
                            errors=profile_form.errors("first_name")/>
                        <Field name="last_name" form="admin-profile" label="Last name"
                            value=keep("last_name", &user.last_name)
                            errors=profile_form.errors("last_name")/>
                        {confirm_field("admin-profile", profile_form.errors("password"))}
                        <SubmitButton label="Save" pending="Saving…"/>
                    </form>
                </section>
            }
        });

        let account_actions = {
            let active_form = (superuser && !myself).then(|| {
                let (value, label, pending) = if user.is_active {
                    ("no", "Deactivate the account", "Deactivating…")
                } else {
                    ("yes", "Activate the account", "Activating…")
                };
                view! {
                    <form method="post" action=format!("/admin/users/{id}/active") class="stack"
                        data-testid="admin-active-form">
                        <input type="hidden" name="active" value=value/>
                        {confirm_field("admin-active", active_form_feedback.errors("password"))}
                        <SubmitButton label=label pending=pending secondary=true/>
                    </form>
                }
            });
            let staff_form = (superuser && !myself).then(|| {
                let (value, label) = if user.is_staff {
                    ("no", "Remove from staff")
                } else {
                    ("yes", "Make staff")
                };
                view! {
                    <form method="post" action=format!("/admin/users/{id}/staff") class="stack"
                        data-testid="admin-staff-form">
                        <input type="hidden" name="staff" value=value/>
                        {confirm_field("admin-staff", staff_form_feedback.errors("password"))}
                        <SubmitButton label=label pending="Saving…" secondary=true/>
                    </form>
                }
            });
            let reset_form = (user.email.is_some() && may_act).then(|| {
                view! {
                    <form method="post" action=format!("/admin/users/{id}/password-reset")
                        class="stack" data-testid="admin-reset-form">
                        {confirm_field("admin-reset", reset_form_feedback.errors("password"))}
                        <SubmitButton label="Send a password-reset link" pending="Sending…"
                            secondary=true/>
                    </form>
                }
            });
            view! {
                <section class="card" data-testid="admin-account-actions">
                    <h2>"Account"</h2>
                    <FormMessages feedback=active_form_feedback.clone()/>
                    <FormMessages feedback=staff_form_feedback.clone()/>
                    <FormMessages feedback=reset_form_feedback.clone()/>
                    // Where the profile and delete forms are not shown, their refusals land
                    // here.
                    {(!superuser || myself).then(|| view! {
                        <FormMessages feedback=profile_form.clone()/>
                        <FormMessages feedback=delete_form.clone()/>
                    })}
                    {myself.then(|| view! {
                        <p class="muted">"This is your own account: change it from your profile."</p>
                    })}
                    {(!superuser).then(|| view! {
                        <p class="muted">
                            "Editing the profile, deactivating, staff changes and deletion need \
                             a superuser."
                        </p>
                    })}
                    <div class="admin-actions">{active_form}{staff_form}{reset_form}</div>
                </section>
            }
        };

        let identity_count = identities.len();
        let identity_rows = identities
            .into_iter()
            .map(|i| {
                view! {
                    <li>
                        <strong>{label_of(&i.provider)}</strong>
                        {format!(" · linked {}", when(i.linked_at))}
                        {i.email.map(|e| format!(" · said the address was {e}"))}
                    </li>
                }
            })
            .collect_view();

        let sign_in_count = sign_ins.len();
        let sign_in_rows = sign_ins
            .into_iter()
            .map(|s| {
                let this_browser = current_sign_in.as_deref() == Some(s.id.as_str());
                let action = format!("/admin/users/{id}/sign-ins/{}/end", s.id);
                let device = if s.user_agent.is_empty() {
                    "Unknown device".to_owned()
                } else {
                    s.user_agent.clone()
                };
                let ip = s.ip.clone().or(s.created_ip.clone()).unwrap_or_else(|| "unknown".into());
                view! {
                    <li data-testid="admin-sign-in">
                        <strong>{device}</strong>
                        {this_browser.then(|| view! { <span class="badge ok">" This browser"</span> })}
                        <br/>
                        <span class="muted">
                            {format!("{} · {} · signed in {} · last used {} · {}",
                                s.channel, s.method, when(s.created_at),
                                ago(now, s.last_used_at.timestamp()), ip)}
                        </span>
                        {(!this_browser && may_act).then(|| view! {
                            <form method="post" action=action class="inline">
                                {(!reauth_recent()).then(|| view! {
                                    <input type="password" name="password" required=true
                                        autocomplete="current-password" placeholder="Your password"
                                        aria-label="Your password, to end this sign-in"
                                        class="inline-password"/>
                                })}
                                <SubmitButton label="End" pending="Ending…" secondary=true/>
                            </form>
                        })}
                    </li>
                }
            })
            .collect_view();

        let factor_count = factors.len();
        let factor_rows = factors
            .into_iter()
            .map(|f| {
                let kind = match f.kind.as_str() {
                    "totp" => "Authenticator app (TOTP)".to_owned(),
                    "recovery_codes" => "Recovery codes".to_owned(),
                    "webauthn" => "Passkey".to_owned(),
                    other => other.to_owned(),
                };
                view! {
                    <li>
                        <strong>{kind}</strong>
                        {format!(" · set up {} · last used {}", when(f.created_at),
                            f.last_used_at.map_or_else(|| "never".into(), when))}
                    </li>
                }
            })
            .collect_view();

        let activity_rows = activity.into_iter().map(event_item).collect_view();

        let delete = (superuser && !myself).then(|| {
            view! {
                <section class="card danger" data-testid="admin-delete">
                    <h2>"Delete the account"</h2>
                    <p class="muted">
                        "Everything the account holds goes at once, its sign-ins end, and only \
                         a record that it existed (and that you deleted it) stays. It cannot be \
                         undone."
                    </p>
                    <FormMessages feedback=delete_form.clone()/>
                    <form method="post" action=format!("/admin/users/{id}/delete") class="stack"
                        data-testid="admin-delete-form">
                        <Field name="confirm" form="admin-delete" label="Type the username to confirm"
                            required=true errors=delete_form.errors("confirm")/>
                        {confirm_field("admin-delete", delete_form.errors("password"))}
                        <SubmitButton label="Delete the account" pending="Deleting…" secondary=true/>
                    </form>
                </section>
            }
        });

        view! {
            <Title text=format!("{} · Users · Administration · leptos-auth-starter", user.username)/>
            <AdminNav current=""/>
            <p><a href="/admin/users">"← All users"</a></p>
            <section class="card">
                <h1 data-testid="admin-user-name">{user.username.clone()}</h1>
                <p>{badges(user.is_active, user.is_staff, user.is_superuser, identity_count > 0,
                    factor_count > 0)}</p>
                <dl class="details" data-testid="admin-user-details">
                    <dt>"Id"</dt><dd>{user.id}</dd>
                    <dt>"Username"</dt><dd>{user.username.clone()}</dd>
                    <dt>"E-mail"</dt>
                    <dd data-testid="admin-user-email">
                        {user.email.clone().unwrap_or_else(|| "None".into())}
                        {user.email.is_some().then(|| if user.email_verified {
                            view! { " " <span class="badge ok">"Verified"</span> }.into_any()
                        } else {
                            view! { " " <span class="badge warn">"Not verified"</span> }.into_any()
                        })}
                    </dd>
                    {pending_email.map(|address| view! {
                        <dt>"Moving to"</dt>
                        <dd>{address}" "<span class="badge warn">"Link not followed yet"</span></dd>
                    })}
                    <dt>"First name"</dt><dd>{or_dash(&user.first_name)}</dd>
                    <dt>"Last name"</dt><dd>{or_dash(&user.last_name)}</dd>
                    <dt>"Password"</dt>
                    <dd>{if user.password_hash.is_some() { "Set" } else { "None (social sign-in only)" }}</dd>
                    <dt>"Joined"</dt><dd>{when(user.date_joined)}</dd>
                    <dt>"Last sign-in"</dt><dd>{user.last_login.map_or_else(|| "Never".into(), when)}</dd>
                </dl>
            </section>
            {account_actions}
            {profile}
            <section class="card">
                <h2>"Linked providers"</h2>
                {(identity_count == 0).then(|| view! { <p class="muted">"None."</p> })}
                <ul class="sign-ins">{identity_rows}</ul>
            </section>
            <section class="card" data-testid="admin-sign-ins">
                <h2>"Live sign-ins"</h2>
                <FormMessages feedback=sign_ins_form.clone()/>
                {(sign_in_count == 0).then(|| view! { <p class="muted">"Not signed in anywhere."</p> })}
                <ul class="sign-ins">{sign_in_rows}</ul>
                {(sign_in_count > 0 && may_act).then(|| view! {
                    <form method="post" action=format!("/admin/users/{id}/sign-ins/end-all")
                        class="stack" data-testid="admin-end-all-form">
                        {confirm_field("admin-end-all", sign_ins_form.errors("password"))}
                        <SubmitButton label="End every sign-in" pending="Ending…" secondary=true/>
                    </form>
                })}
            </section>
            <section class="card" data-testid="admin-mfa">
                <h2>"Second factors"</h2>
                <FormMessages feedback=mfa_form.clone()/>
                {(factor_count == 0).then(|| view! { <p class="muted">"None set up."</p> })}
                <ul class="sign-ins">{factor_rows}</ul>
                {(factor_count > 0 && superuser && !myself).then(|| view! {
                    <form method="post" action=format!("/admin/users/{id}/mfa/reset") class="stack"
                        data-testid="admin-mfa-reset-form">
                        {confirm_field("admin-mfa", mfa_form.errors("password"))}
                        <SubmitButton label="Remove every second factor" pending="Removing…"
                            secondary=true/>
                    </form>
                })}
            </section>
            <section class="card" data-testid="admin-user-activity">
                <h2>"Recent security activity"</h2>
                <ul class="events">{activity_rows}</ul>
                <p><a href=format!("/admin/activity?user={id}")>"All of this account's activity"</a></p>
            </section>
            {delete}
        }
        .into_any()
    }

    /// One event as a list item (the account page) or table row (the activity page).
    fn describe(e: &StaffEvent) -> String {
        let text = match e.kind.as_str() {
            "sign_in_ended" if e.actor.is_some() => "An administrator ended a sign-in".to_owned(),
            kind => describe_event(kind, e.detail.as_deref(), &label_of),
        };
        match &e.actor {
            Some((id, Some(name))) => format!("{text} (by {name}, #{id})"),
            Some((id, None)) => format!("{text} (by deleted account #{id})"),
            None => text,
        }
    }

    fn event_item(e: StaffEvent) -> impl IntoView {
        let from = [e.user_agent.clone(), e.ip.clone()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ");
        view! {
            <li data-testid="admin-event" data-kind=e.kind.clone()>
                <strong>{describe(&e)}</strong>
                {(!from.is_empty()).then(|| format!(" from {from}"))}
                ", " <time>{when(e.at)}</time>
            </li>
        }
    }

    pub fn activity() -> AnyView {
        let Some(view) = view_of_page() else {
            return view! { <NotFound/> }.into_any();
        };
        let AdminView::Activity(ActivityView {
            params,
            page,
            hours,
            problem,
        }) = view.as_ref()
        else {
            return view! { <NotFound/> }.into_any();
        };
        let kinds = Kind::ALL
            .into_iter()
            .map(|k| {
                let name = k.as_str();
                view! { <option value=name selected=params.kind == name>{name.replace('_', " ")}</option> }
            })
            .collect_view();
        let rows = page
            .events
            .iter()
            .map(|e| {
                let account = match (e.user_id, e.username.clone()) {
                    (Some(id), Some(name)) => view! {
                        <a href=format!("/admin/users/{id}")>{name}</a>
                    }
                    .into_any(),
                    (Some(id), None) => format!("#{id} (deleted)").into_any(),
                    (None, _) => "—".into_any(),
                };
                let ip = e.ip.clone().map(|ip| {
                    let href = ActivityParams {
                        ip: ip.clone(),
                        ..ActivityParams::default()
                    }
                    .link(None);
                    view! { <a href=href title="Everything from this address">{ip}</a> }
                });
                view! {
                    <tr data-testid="event-row" data-kind=e.kind.clone()>
                        <td data-label="When">{when(e.at)}</td>
                        <td data-label="What">{describe(e)}</td>
                        <td data-label="Account">{account}</td>
                        <td data-label="IP">{ip}</td>
                        <td data-label="Client">{e.user_agent.clone().unwrap_or_default()}</td>
                    </tr>
                }
            })
            .collect_view();
        let empty = page.events.is_empty();
        let older = page.older.map(|before| params.link(Some(before)));
        view! {
            <Title text="Security activity · Administration · leptos-auth-starter"/>
            <AdminNav current="/admin/activity"/>
            <section class="card wide">
                <h1>"Security activity"</h1>
                <LastDay hours=hours.clone()/>
                <form method="get" action="/admin/activity" class="admin-filters"
                    data-testid="activity-filters">
                    <div class="field compact">
                        <label for="filter-kind">"Kind"</label>
                        <select id="filter-kind" name="kind">
                            <option value="" selected=params.kind.is_empty()>"Any"</option>
                            {kinds}
                        </select>
                    </div>
                    <div class="field compact">
                        <label for="filter-user">"Account"</label>
                        <input id="filter-user" name="user" value=params.user.clone()
                            placeholder="Username or id"/>
                    </div>
                    <div class="field compact">
                        <label for="filter-ip">"IP address"</label>
                        <input id="filter-ip" name="ip" value=params.ip.clone()
                            placeholder="203.0.113.7"/>
                    </div>
                    <div class="actions">
                        <button type="submit" class="button">"Filter"</button>
                        <a class="button secondary" href="/admin/activity">"Clear"</a>
                    </div>
                </form>
                {problem.clone().map(|p| view! {
                    <p class="alert error" role="alert" data-testid="activity-problem">{p}</p>
                })}
                {empty.then(|| view! { <p class="muted">"No event matches."</p> })}
                {(!empty).then(|| view! {
                    <table class="admin-table" data-testid="events">
                        <thead>
                            <tr>
                                <th scope="col">"When"</th>
                                <th scope="col">"What"</th>
                                <th scope="col">"Account"</th>
                                <th scope="col">"IP"</th>
                                <th scope="col">"Client"</th>
                            </tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                })}
                {(older.is_some() || !params.before.is_empty()).then(|| view! {
                    <nav class="pager" aria-label="Pages">
                        {(!params.before.is_empty()).then(|| view! {
                            <a href=params.link(None)>"Newest"</a>
                        })}
                        {older.map(|href| view! {
                            <a href=href rel="next" data-testid="older-events">"Older →"</a>
                        })}
                    </nav>
                })}
            </section>
        }
        .into_any()
    }

    /// Width and height of the chart's drawing, in SVG user units.
    const CHART_W: i64 = 720;
    const CHART_H: i64 = 160;
    const AXIS: i64 = 20;

    /// Failed sign-ins and rate-limit refusals per hour over the last day: two bars an hour,
    /// drawn here as SVG (no script), each with its count as a tooltip, and the totals in
    /// words for screen readers.
    #[component]
    fn LastDay(hours: Vec<HourCount>) -> impl IntoView {
        let failed: u64 = hours.iter().map(|h| h.failed_sign_ins).sum();
        let limited: u64 = hours.iter().map(|h| h.rate_limited).sum();
        let top = hours
            .iter()
            .map(|h| h.failed_sign_ins.max(h.rate_limited))
            .max()
            .unwrap_or(0)
            .max(1);
        let slot = CHART_W / 24;
        let plot = CHART_H - AXIS;
        let height = |n: u64| -> i64 {
            let h = (n as f64 / top as f64 * plot as f64).round() as i64;
            if n > 0 {
                h.max(2)
            } else {
                0
            }
        };
        let hour_label = |at: i64| {
            DateTime::<Utc>::from_timestamp(at, 0)
                .map(|t| t.format("%H:00").to_string())
                .unwrap_or_default()
        };
        let bars = hours
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let x = i as i64 * slot;
                let (hf, hr) = (height(h.failed_sign_ins), height(h.rate_limited));
                let at = hour_label(h.hour);
                let tip = format!(
                    "{at} UTC: {} failed sign-ins, {} rate-limit refusals",
                    h.failed_sign_ins, h.rate_limited
                );
                let tick = (i % 6 == 0).then(|| {
                    view! {
                        <text x=x + 2 y=CHART_H - 5 class="chart-label">{at.clone()}</text>
                    }
                });
                view! {
                    <g data-testid="chart-hour" data-failed=h.failed_sign_ins
                        data-limited=h.rate_limited>
                        <title>{tip}</title>
                        <rect x=x + 3 y=plot - hf width=slot / 2 - 3 height=hf class="bar-failed"/>
                        <rect x=x + slot / 2 y=plot - hr width=slot / 2 - 3 height=hr
                            class="bar-limited"/>
                        {tick}
                    </g>
                }
            })
            .collect_view();
        let summary = format!(
            "Last 24 hours: {failed} failed sign-ins and {limited} rate-limit refusals; \
             the highest bar is {top} in one hour."
        );
        view! {
            <figure class="chart" data-testid="last-day">
                <svg viewBox=format!("0 0 {CHART_W} {CHART_H}") role="img"
                    aria-label=summary.clone() preserveAspectRatio="none">
                    <line x1=0 y1=plot x2=CHART_W y2=plot class="chart-axis"/>
                    {bars}
                </svg>
                <figcaption>
                    <span class="legend failed">"■"</span>" Failed sign-ins "
                    <span data-testid="failed-total">{failed}</span>
                    " · "<span class="legend limited">"■"</span>" Rate-limit refusals "
                    <span data-testid="limited-total">{limited}</span>
                    <span class="muted">" · per hour, UTC, the current hour last."</span>
                </figcaption>
            </figure>
        }
    }
}
