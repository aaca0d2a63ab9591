use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::form::{Field, FormMessages, SubmitButton};
use crate::components::passkey::PasskeyButton;
use crate::components::user_details::UserDetails;
use crate::context::{
    activity, linked_providers, mfa_status, passkeys_enabled, providers, reauth_recent, sign_ins,
    viewer, ActivityRow, Feedback, SignInRow,
};

#[component]
pub fn ProfilePage() -> impl IntoView {
    // The server redirects signed-out visitors to /signin before this renders.
    let Some(user) = viewer() else {
        return view! { <p>"Please " <a href="/signin?next=/profile">"sign in"</a> "."</p> }
            .into_any();
    };
    let feedback = Feedback::for_form("profile");
    let keep =
        |field: &str, saved: &str| Some(feedback.value(field).unwrap_or_else(|| saved.to_owned()));
    let (username, first_name, last_name) = (
        keep("username", &user.username),
        keep("first_name", &user.first_name),
        keep("last_name", &user.last_name),
    );
    let or_dash = |s: &str| {
        if s.is_empty() {
            "—".to_owned()
        } else {
            s.to_owned()
        }
    };
    view! {
        <Title text="Profile · leptos-auth-starter"/>
        <section class="card">
            <h1>"Your profile"</h1>
            <dl class="details" data-testid="profile-details">
                <dt>"PK"</dt><dd data-testid="profile-pk">{user.id}</dd>
                <dt>"Username"</dt><dd data-testid="profile-username">{user.username.clone()}</dd>
                <dt>"Email"</dt>
                <dd>
                    <span data-testid="profile-email">
                        {user.email.clone().unwrap_or_else(|| "Not provided".into())}
                    </span>
                    {user.email.is_some().then(|| if user.email_verified {
                        view! { <span class="badge ok" data-testid="email-verified">" Confirmed"</span> }.into_any()
                    } else {
                        view! { <span class="badge warn" data-testid="email-unverified">" Not confirmed"</span> }.into_any()
                    })}
                </dd>
                <dt>"First name"</dt><dd data-testid="profile-first-name">{or_dash(&user.first_name)}</dd>
                <dt>"Last name"</dt><dd data-testid="profile-last-name">{or_dash(&user.last_name)}</dd>
                <dt>"Date joined"</dt><dd>{user.date_joined.clone()}</dd>
            </dl>
        </section>
        <section class="card">
            <h2>"Edit your profile"</h2>
            <FormMessages feedback=feedback.clone()/>
            <form method="post" action="/profile" class="stack" data-testid="profile-form">
                <Field name="username" label="Username" autocomplete="username" required=true
                    value=username errors=feedback.errors("username")/>
                <Field name="first_name" label="First name" autocomplete="given-name"
                    value=first_name errors=feedback.errors("first_name")/>
                <Field name="last_name" label="Last name" autocomplete="family-name"
                    value=last_name errors=feedback.errors("last_name")/>
                <SubmitButton label="Save" pending="Saving…"/>
            </form>
        </section>
        <EmailAddress email=user.email.clone() verified=user.email_verified
            has_password=user.has_password/>
        <ChangePassword has_password=user.has_password/>
        <SignInMethods has_password=user.has_password/>
        <TwoFactor has_password=user.has_password/>
        <ConfirmIdentity has_password=user.has_password/>
        <SignIns has_password=user.has_password/>
        <RecentActivity/>
        <YourData has_password=user.has_password/>
        <section class="card">
            <h2>"Call the API from the browser"</h2>
            <p class="muted">
                "The page asks the server for a fresh access token (the refresh token never \
                 leaves the server) and calls " <code>"GET /api/auth/user/"</code> " with it, \
                 or without it."
            </p>
            <UserDetails/>
        </section>
        <section class="card">
            <h2>"Sign out"</h2>
            <p class="muted">"Ends this session; the tokens this page held stop working at once."</p>
            <form method="post" action="/signout">
                <SubmitButton label="Sign out" pending="Signing out…" secondary=true/>
            </form>
        </section>
    }
    .into_any()
}

/// The account's address: confirm it (a new link), or move to another one (which changes
/// when the new address follows its link). A signed-in user with no address adds one here.
#[component]
fn EmailAddress(email: Option<String>, verified: bool, has_password: bool) -> impl IntoView {
    let feedback = Feedback::for_form("email");
    let resend = email.as_ref().filter(|_| !verified).map(|address| {
        view! {
            <p data-testid="email-status">
                {format!("{address} is not confirmed yet. ")}
                "Confirming it lets you sign in with a linked provider that knows it, and \
                 proves the reset links go to you."
            </p>
            <form method="post" action="/profile/email/resend" class="inline">
                <SubmitButton label="Send the link again" pending="Sending…" secondary=true/>
            </form>
        }
    });
    let (title, label) = if email.is_some() {
        ("Change your e-mail address", "New email")
    } else {
        ("Add an e-mail address", "Email")
    };
    view! {
        <section class="card">
            <h2>{title}</h2>
            <FormMessages feedback=feedback.clone()/>
            {resend}
            <form method="post" action="/profile/email" class="stack" data-testid="email-form">
                <Field name="email" label=label kind="email" autocomplete="email" required=true
                    value=feedback.value("email") errors=feedback.errors("email")
                    hint="We send a link to the new address; your address changes when you follow it."/>
                {has_password.then(|| view! {
                    <Field name="password" label="Current password" kind="password"
                        autocomplete="current-password" required=true
                        errors=feedback.errors("password")/>
                })}
                <SubmitButton label="Send the link" pending="Sending…"/>
            </form>
        </section>
    }
}

/// The current password and a new one, twice; the page says what happened to the other
/// sign-ins. Accounts without a password (social sign-in only) have nothing to change.
#[component]
fn ChangePassword(has_password: bool) -> impl IntoView {
    if !has_password {
        return None;
    }
    let feedback = Feedback::for_form("password");
    Some(view! {
        <section class="card">
            <h2>"Change your password"</h2>
            <FormMessages feedback=feedback.clone()/>
            <form method="post" action="/profile/password" class="stack" data-testid="password-form">
                <Field name="old_password" label="Current password" kind="password"
                    autocomplete="current-password" required=true
                    errors=feedback.errors("old_password")/>
                <Field name="new_password1" label="New password" kind="password"
                    autocomplete="new-password" required=true
                    errors=feedback.errors("new_password1")/>
                <Field name="new_password2" label="New password (again)" kind="password"
                    autocomplete="new-password" required=true
                    hint="Every other sign-in of this account ends; this one stays."
                    errors=feedback.errors("new_password2")/>
                <SubmitButton label="Change password" pending="Changing…"/>
            </form>
        </section>
    })
}

/// Password and social providers: link the ones not linked, unlink the others (unless it
/// is the last way in, which the server refuses too).
#[component]
fn SignInMethods(has_password: bool) -> impl IntoView {
    let configured = providers();
    if configured.is_empty() {
        return None;
    }
    let linked = linked_providers();
    let ways_in = linked.len() + usize::from(has_password);
    let recent = reauth_recent();
    let rows = configured
        .into_iter()
        .map(|(id, label)| {
            let is_linked = linked.contains(&id);
            let action = if is_linked {
                let last = ways_in <= 1;
                // A sensitive change: past REAUTH_MAX_AGE the password goes with it.
                let ask_password = has_password && !last && !recent;
                view! {
                    <form method="post" action=format!("/profile/identities/{id}/unlink")
                        class="inline">
                        {ask_password.then(|| view! {
                            <input type="password" name="password" required=true
                                autocomplete="current-password" placeholder="Your password"
                                aria-label=format!("Your password, to unlink {label}")
                                class="inline-password"/>
                        })}
                        <button type="submit" class="button secondary small" disabled=last
                            title=last.then_some("The only way to sign in to this account")>
                            "Unlink"
                        </button>
                    </form>
                }
                .into_any()
            } else {
                view! {
                    <a class="button small" href=format!("/auth/{id}/start?link=1")>"Link"</a>
                }
                .into_any()
            };
            view! {
                <li data-testid=format!("method-{id}")>
                    <span>{label}</span>
                    <span class="muted">{if is_linked { "Linked" } else { "Not linked" }}</span>
                    {action}
                </li>
            }
        })
        .collect_view();
    Some(view! {
        <section class="card">
            <h2>"Sign-in methods"</h2>
            <ul class="methods">
                <li>
                    <span>"Password"</span>
                    <span class="muted">{if has_password { "Set" } else { "Not set" }}</span>
                    <span></span>
                </li>
                {rows}
            </ul>
        </section>
    })
}

/// "Where you're signed in": every live sign-in of the account, most recently used first,
/// with a form to end each other one, or all of them at once.
#[component]
fn SignIns(has_password: bool) -> impl IntoView {
    let feedback = Feedback::for_form("sign-ins");
    // A sensitive action: past REAUTH_MAX_AGE the form asks for the password with it.
    let ask_password = has_password && !reauth_recent();
    let password_errors = feedback.errors("password");
    let rows = sign_ins();
    let others = rows.iter().filter(|r| !r.current).count();
    let row = move |r: SignInRow| {
        let action = format!("/profile/sign-ins/{}/end", r.id);
        let end = (!r.current).then(|| {
            view! {
                <form method="post" action=action class="inline">
                    {ask_password.then(|| view! {
                        <input type="password" name="password" required=true
                            autocomplete="current-password" placeholder="Your password"
                            aria-label="Your password, to sign this device out"
                            class="inline-password"/>
                    })}
                    <SubmitButton label="Sign out" pending="Signing out…" secondary=true/>
                </form>
            }
        });
        view! {
            <li data-testid="sign-in" data-current=r.current.to_string()>
                <strong data-testid="sign-in-device">{r.device}</strong>
                {r.current.then(|| view! { <span class="badge ok">" This browser"</span> })}
                <br/>
                <span class="muted">
                    {format!("{} · {} · signed in {} · last used {} · {}",
                        r.channel, r.method, r.started, r.last_used, r.ip)}
                </span>
                {end}
            </li>
        }
    };
    view! {
        <section class="card" data-testid="sign-ins">
            <h2>"Where you're signed in"</h2>
            <FormMessages feedback=feedback/>
            <ul class="sign-ins">{rows.into_iter().map(row).collect_view()}</ul>
            {(others > 0).then(|| view! {
                <form method="post" action="/profile/sign-ins/end-others" class="stack"
                    data-testid="end-others-form">
                    {ask_password.then(|| view! {
                        <Field name="password" form="end-others" label="Your password"
                            kind="password" autocomplete="current-password" required=true
                            hint="To sign out everywhere else, confirm it is you."
                            errors=password_errors.clone()/>
                    })}
                    <SubmitButton label="Sign out everywhere else" pending="Signing out…"
                        secondary=true/>
                </form>
            })}
        </section>
    }
}

/// "Recent security activity": the account's latest events, in words.
#[component]
fn RecentActivity() -> impl IntoView {
    let rows = activity();
    let empty = rows.is_empty();
    let row = |r: ActivityRow| {
        let from = (!r.from.is_empty()).then(|| format!(" from {}", r.from));
        view! {
            <li data-testid="activity">
                <strong>{r.what}</strong>{from}", "
                <time title=r.at>{r.when}</time>
            </li>
        }
    };
    view! {
        <section class="card" data-testid="recent-activity">
            <h2>"Recent security activity"</h2>
            {empty.then(|| view! { <p class="muted">"Nothing yet."</p> })}
            <ul class="sign-ins">{rows.into_iter().map(row).collect_view()}</ul>
            <p class="muted">"API clients: " <code>"GET /api/auth/events/"</code> " lists them all."</p>
        </section>
    }
}

/// "Confirm it's you": shown when the sign-in's proof is older than `REAUTH_MAX_AGE`;
/// sensitive changes (unlinking a provider, an address change without a password, signing
/// out everywhere else) then go ahead for a while without asking again.
#[component]
fn ConfirmIdentity(has_password: bool) -> impl IntoView {
    let feedback = Feedback::for_form("reauth");
    if reauth_recent() {
        // Just confirmed: say so (and for how long), nothing else.
        return feedback.notice.clone().map(|notice| {
            view! {
                <section class="card" data-testid="identity-confirmed">
                    <p class="notice" role="status">{notice}</p>
                </section>
            }
            .into_any()
        });
    }
    let body = if has_password {
        view! {
            <form method="post" action="/profile/reauth" class="stack" data-testid="reauth-form">
                <Field name="password" form="reauth" label="Your password" kind="password"
                    autocomplete="current-password" required=true
                    errors=feedback.errors("password")/>
                <SubmitButton label="Confirm" pending="Checking…" secondary=true/>
            </form>
        }
        .into_any()
    } else {
        let linked = linked_providers();
        let links = providers()
            .into_iter()
            .filter(|(id, _)| linked.contains(id))
            .map(|(id, label)| {
                view! {
                    <a class="button small" href=format!("/auth/{id}/start?reauth=1")>
                        {format!("Confirm with {label}")}
                    </a>
                }
            })
            .collect_view();
        view! { <p>{links}</p> }.into_any()
    };
    Some(
        view! {
            <section class="card" data-testid="confirm-identity">
                <h2>"Confirm it's you"</h2>
                <FormMessages feedback=feedback.clone()/>
                <p class="muted">
                    "Signing out everywhere else, unlinking a provider and similar changes need a \
                     recent proof that it is you."
                </p>
                {body}
            </section>
        }
        .into_any(),
    )
}

/// "Your data": download everything the server holds about the account, or delete it.
#[component]
fn YourData(has_password: bool) -> impl IntoView {
    let feedback = Feedback::for_form("delete");
    view! {
        <section class="card" data-testid="your-data">
            <h2>"Your data"</h2>
            <p>
                <a class="button small secondary" href="/profile/export" download="account-data.json"
                    data-testid="export-link">"Download my data"</a>
                <span class="muted">" Your profile, linked providers, sign-ins and security activity, as JSON."</span>
            </p>
            <h3>"Delete my account"</h3>
            <p class="muted">
                "This deletes your account and everything in it at once, and signs you out \
                 everywhere. It cannot be undone."
            </p>
            <FormMessages feedback=feedback.clone()/>
            <form method="post" action="/profile/delete" class="stack" data-testid="delete-form">
                {has_password.then(|| view! {
                    <Field name="password" form="delete" label="Your password" kind="password"
                        autocomplete="current-password" required=true
                        errors=feedback.errors("password")/>
                })}
                <SubmitButton label="Delete my account" pending="Deleting…" secondary=true/>
            </form>
        </section>
    }
}

/// Two-factor sign-in: the authenticator app (set up, or remove), the recovery codes (how
/// many are left; make new ones). Every change is sensitive: past `REAUTH_MAX_AGE` the form
/// asks for the password with it.
#[component]
fn TwoFactor(has_password: bool) -> impl IntoView {
    let feedback = Feedback::for_form("mfa");
    let status = mfa_status();
    let ask_password = has_password && !reauth_recent();
    let password_errors = feedback.errors("password");
    let password = move |form: &'static str, hint: &'static str| {
        ask_password.then(|| {
            view! {
                <Field name="password" form=form label="Your password" kind="password"
                    autocomplete="current-password" required=true hint=hint
                    errors=password_errors.clone()/>
            }
        })
    };
    let app = match status.totp_since.clone() {
        None => view! {
            <p data-testid="mfa-off">
                {if status.enabled() { "No authenticator app." } else {
                    "Two-factor sign-in is off: your password alone signs you in."
                }}
            </p>
            <form method="post" action="/profile/mfa/totp/setup" class="stack"
                data-testid="totp-setup-form">
                {password("totp-setup", "To change how you sign in, confirm it is you.")}
                <SubmitButton label="Set up an authenticator app" pending="Starting…"/>
            </form>
        }
        .into_any(),
        Some(since) => {
            // Removing the last second factor switches two-factor sign-in off: ask.
            let last = status.strong_factors() == 1;
            view! {
                <p data-testid="mfa-on">
                    <span class="badge ok">"On"</span>
                    {format!(" Authenticator app, set up {since}; {}.",
                        status.totp_last_used.as_ref()
                            .map_or_else(|| "not used yet".to_owned(), |w| format!("last used {w}")))}
                </p>
                <form method="post" action="/profile/mfa/totp/remove" class="stack"
                    data-testid="totp-remove-form">
                    {password("totp-remove", "")}
                    {last.then(|| view! {
                        <div class="field checkbox">
                            <label>
                                <input type="checkbox" name="confirm" value="true"
                                    required=true data-testid="confirm-last-factor"/>
                                " Yes, switch two-factor sign-in off (the recovery codes stop                                  working too)"
                            </label>
                            {(!feedback.errors("confirm").is_empty()).then(|| view! {
                                <ul class="errors" data-testid="error-confirm">
                                    {feedback.errors("confirm").into_iter()
                                        .map(|e| view! { <li>{e}</li> }).collect_view()}
                                </ul>
                            })}
                        </div>
                    })}
                    <SubmitButton label="Remove the authenticator app" pending="Removing…"
                        secondary=true/>
                </form>
            }
            .into_any()
        }
    };
    let last_factor = status.strong_factors() == 1;
    let confirm_errors = feedback.errors("confirm");
    let passkey_rows = status
        .passkeys
        .iter()
        .map(|p| {
            let action = format!("/profile/passkeys/{}/remove", p.id);
            let used = p
                .last_used
                .clone()
                .map_or_else(|| "not used yet".to_owned(), |w| format!("last used {w}"));
            view! {
                <li data-testid="passkey">
                    <strong data-testid="passkey-name-shown">{p.name.clone()}</strong>
                    <span class="muted">{format!(" · added {} · {used}", p.added)}</span>
                    <form method="post" action=action class="inline">
                        {ask_password.then(|| view! {
                            <input type="password" name="password" required=true
                                autocomplete="current-password" placeholder="Your password"
                                aria-label="Your password, to remove this passkey"
                                class="inline-password"/>
                        })}
                        {last_factor.then(|| view! {
                            <label class="inline-confirm">
                                <input type="checkbox" name="confirm" value="true" required=true/>
                                " Switch two-factor sign-in off"
                            </label>
                        })}
                        <SubmitButton label="Remove" pending="Removing…" secondary=true/>
                    </form>
                </li>
            }
        })
        .collect_view();
    let passkeys = view! {
        <h3>"Passkeys"</h3>
        {if status.passkeys.is_empty() {
            view! {
                <p class="muted" data-testid="no-passkeys">
                    "A passkey signs you in with your fingerprint, face or device PIN, no \
                     password needed, and is a second factor too."
                </p>
            }
            .into_any()
        } else {
            view! { <ul class="passkeys" data-testid="passkeys">{passkey_rows}</ul> }.into_any()
        }}
        {(!confirm_errors.is_empty() && status.totp_since.is_none()).then(|| view! {
            <ul class="errors" data-testid="error-confirm">
                {confirm_errors.into_iter().map(|e| view! { <li>{e}</li> }).collect_view()}
            </ul>
        })}
        {if passkeys_enabled() {
            view! {
                <PasskeyButton mode="register" label="Add a passkey" ask_password=ask_password/>
                <noscript><p class="muted">"Adding a passkey needs JavaScript."</p></noscript>
            }
            .into_any()
        } else {
            view! {
                <p class="muted" data-testid="passkeys-off">
                    "Passkeys are not available on this server (its address must be a domain \
                     name)."
                </p>
            }
            .into_any()
        }}
    };
    let codes = status.recovery_codes_left.map(|left| {
        view! {
            <h3>"Recovery codes"</h3>
            <p data-testid="recovery-codes-left" class:warn={left < 3}>
                {match left {
                    0 => "You have no recovery codes left: make new ones now.".to_owned(),
                    1 => "1 unused recovery code left.".to_owned(),
                    n => format!("{n} unused recovery codes left."),
                }}
            </p>
            <form method="post" action="/profile/mfa/recovery-codes" class="stack"
                data-testid="recovery-codes-form">
                {password("recovery-codes", "")}
                <SubmitButton label="Make new recovery codes" pending="Making…" secondary=true/>
            </form>
        }
    });
    view! {
        <section class="card" data-testid="two-factor">
            <h2>"Two-factor sign-in"</h2>
            <FormMessages feedback=feedback.clone()/>
            <h3>"Authenticator app"</h3>
            {app}
            {passkeys}
            {codes}
        </section>
    }
}
