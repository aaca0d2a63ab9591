//! What an import would write, worked out from the Django data and what our database holds,
//! before anything is written: new accounts, accounts a previous import wrote that changed
//! since, Google (and other) links, revoked tokens, and every clash that stops the import.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::source::{DjangoData, DjangoUser};
use crate::auth::django_hashers::{classify, within_work_limits, DjangoHash};
use crate::users::identity_key;

/// An account as it will be stored (`users` plus its `login_names`); also, with the
/// password replaced by a fingerprint ([`Account::snapshot`]), what Django held at an import.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Django's primary key, kept.
    pub id: i64,
    /// As Django stored it.
    pub username: String,
    /// The primary address (allauth's, else `auth_user.email`); `None` when there is none.
    pub email: Option<String>,
    /// Whether allauth recorded that address as confirmed.
    pub email_verified: bool,
    /// `first_name`.
    pub first_name: String,
    /// `last_name`.
    pub last_name: String,
    /// Django's hash as it is (verified at sign-in, then upgraded); `None` for an unusable
    /// or empty password.
    pub password_hash: Option<String>,
    /// `is_active`.
    pub is_active: bool,
    /// `is_staff`.
    pub is_staff: bool,
    /// `is_superuser`.
    pub is_superuser: bool,
    /// `date_joined`.
    pub date_joined: DateTime<Utc>,
    /// `last_login`.
    pub last_login: Option<DateTime<Utc>>,
}

impl Account {
    /// What `imported_users.django` keeps of it: every field, with the password hash as
    /// its SHA-256 (a copy of an old hash would outlive a password changed here).
    pub fn snapshot(&self) -> Account {
        Account {
            password_hash: fingerprint(self.password_hash.as_deref()),
            ..self.clone()
        }
    }

    /// The identity keys the account claims in `login_names`: its username's, and its
    /// address's when that differs.
    pub fn login_keys(&self) -> Vec<String> {
        let username = identity_key(&self.username);
        let mut keys = vec![username.clone()];
        if let Some(email) = &self.email {
            let key = identity_key(email);
            if key != username {
                keys.push(key);
            }
        }
        keys
    }
}

/// A social link to write (`identities`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// The provider id.
    pub provider: String,
    /// The provider's id for the person.
    pub subject: String,
    /// The account.
    pub user_id: i64,
    /// When it was linked, Unix seconds.
    pub created_at: i64,
}

/// A blacklisted simplejwt refresh token to record as refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokedToken {
    /// SHA-256 (hex) of its `jti`.
    pub jti_hash: String,
    /// Its user.
    pub user_id: i64,
    /// Its `exp`, Unix seconds.
    pub expires_at: i64,
}

/// An account a previous import wrote.
#[derive(Debug, Clone)]
pub struct Imported {
    /// As it is here now; `None` when it was deleted here since.
    pub now: Option<Account>,
    /// What Django held at that import ([`Account::snapshot`]).
    pub django: Account,
    /// Whether its owner changed or reset the password here since (an upgrade of the hash
    /// at sign-in is not a change: the password is the same).
    pub password_set_here: bool,
}

/// What our database holds that an import must respect.
#[derive(Debug, Default)]
pub struct Existing {
    /// Every user id, with its username.
    pub users: HashMap<i64, String>,
    /// The accounts previous imports wrote.
    pub imported: HashMap<i64, Imported>,
    /// `login_names`: identity key to user id.
    pub login_names: HashMap<String, i64>,
    /// `identities`: (provider, subject) to user id.
    pub links: HashMap<(String, String), i64>,
    /// `identities`: (user id, provider) pairs.
    pub links_by_user: HashSet<(i64, String)>,
    /// `legacy_refresh_tokens` jti hashes.
    pub revoked: HashSet<String>,
}

/// An account a previous import wrote, to write again.
#[derive(Debug, Clone)]
pub struct Change {
    /// The account as it will be: Django's changes since the last import, where it was not
    /// changed here too.
    pub account: Account,
    /// Whether the `users` row changes (else only the snapshot of Django's row does).
    pub rewrites_account: bool,
    /// Django's row now ([`Account::snapshot`]).
    pub django: Account,
}

/// The import, worked out.
#[derive(Debug, Default)]
pub struct Plan {
    /// Accounts to insert.
    pub new_accounts: Vec<Account>,
    /// Accounts a previous import wrote that changed in Django since.
    pub changes: Vec<Change>,
    /// Accounts a previous import wrote, the same in Django now.
    pub unchanged: usize,
    /// Accounts a previous import wrote that were deleted here since: not brought back.
    pub deleted_here: usize,
    /// Usernames of accounts a previous import wrote that Django no longer has: left as
    /// they are here (an import never deletes).
    pub gone_from_django: Vec<String>,
    /// Links to insert.
    pub new_links: Vec<Link>,
    /// Links already here.
    pub existing_links: usize,
    /// Blacklisted tokens to record.
    pub revoked_tokens: Vec<RevokedToken>,
    /// Blacklisted tokens already recorded, or past their expiry (nothing to refuse).
    pub skipped_tokens: usize,
    /// allauth addresses other than each account's primary one: not imported (one address
    /// per account here).
    pub secondary_addresses: usize,
    /// Accounts by Django password format (`pbkdf2_sha256`, ...): what sign-in verifies.
    pub password_formats: BTreeMap<String, usize>,
    /// Accounts with an unusable (or empty) password: they stay without one.
    pub unusable_passwords: usize,
    /// Accounts whose hash is in a format we cannot verify, by format, with their
    /// usernames: they must reset their password.
    pub unsupported_passwords: BTreeMap<String, Vec<String>>,
    /// Tables the Django database lacks (their data is simply absent).
    pub missing_tables: Vec<&'static str>,
    /// What stops the import, one sentence each.
    pub clashes: Vec<String>,
}

/// Works out the import of `data` into a database holding `existing`, at `now`.
pub fn plan(data: &DjangoData, existing: &Existing, now: DateTime<Utc>) -> Plan {
    let mut plan = Plan::default();
    for (table, present) in [
        ("account_emailaddress", data.addresses.is_some()),
        (
            "socialaccount_socialaccount",
            data.social_accounts.is_some(),
        ),
        ("token_blacklist_blacklistedtoken", data.blacklist.is_some()),
    ] {
        if !present {
            plan.missing_tables.push(table);
        }
    }

    let mut addresses: HashMap<i64, Vec<&super::source::DjangoAddress>> = HashMap::new();
    for address in data.addresses.iter().flatten() {
        addresses.entry(address.user_id).or_default().push(address);
    }
    let accounts: Vec<Account> = data
        .users
        .iter()
        .map(|user| {
            let (account, secondary) = account(user, addresses.get(&user.id));
            plan.secondary_addresses += secondary;
            account
        })
        .collect();
    // What each will be: Django's account, or for one imported before, the merge of
    // Django's changes since with ours. Accounts deleted here since an import stay deleted.
    let mut planned: Vec<(Account, Account, Option<Change>)> = Vec::new();
    for django in accounts {
        match existing.imported.get(&django.id) {
            Some(Imported { now: None, .. }) => plan.deleted_here += 1,
            Some(Imported {
                now: Some(now),
                django: before,
                password_set_here,
            }) => {
                let merged = merge(&django, now, before, *password_set_here);
                let change = Change {
                    rewrites_account: merged != *now,
                    account: merged.clone(),
                    django: django.snapshot(),
                };
                let changed = change.rewrites_account || change.django != *before;
                planned.push((django, merged, changed.then_some(change)));
            }
            None => planned.push((django.clone(), django, None)),
        }
    }
    let in_django: HashSet<i64> = data.users.iter().map(|u| u.id).collect();
    let mut gone: Vec<(i64, String)> = existing
        .imported
        .iter()
        .filter(|(id, _)| !in_django.contains(id))
        .filter_map(|(id, imported)| Some((*id, imported.now.as_ref()?.username.clone())))
        .collect();
    gone.sort();
    plan.gone_from_django = gone.into_iter().map(|(_, name)| name).collect();
    let importing: HashSet<i64> = planned.iter().map(|(a, _, _)| a.id).collect();
    let rewritten = |id: &i64| importing.contains(id) && existing.imported.contains_key(id);

    // One namespace of sign-in names among the accounts themselves: Django compares
    // usernames case-sensitively and may share an address between accounts; here neither
    // is possible.
    let mut names: HashMap<String, (i64, String)> = HashMap::new();
    let usernames = planned
        .iter()
        .map(|(_, a, _)| (a, identity_key(&a.username), &a.username));
    let emails = planned.iter().filter_map(|(_, a, _)| {
        let email = a.email.as_ref()?;
        let key = identity_key(email);
        (key != identity_key(&a.username)).then_some((a, key, email))
    });
    for (account, key, shown) in usernames.chain(emails) {
        match names.get(&key) {
            Some((other, other_shown)) if *other != account.id => plan.clashes.push(format!(
                "Django users {other} ({other_shown:?}) and {} ({shown:?}) would share the \
                 sign-in name {key:?} (names and addresses are one namespace here, compared \
                 ignoring case): rename one in Django first",
                account.id
            )),
            Some(_) => {}
            None => {
                names.insert(key, (account.id, shown.clone()));
            }
        }
    }

    for (django, account, change) in planned {
        let hash = django.password_hash.as_deref().unwrap_or("!");
        match classify(hash) {
            DjangoHash::Known(format) if within_work_limits(hash) => {
                *plan.password_formats.entry(format.to_owned()).or_default() += 1;
            }
            DjangoHash::Known(format) => plan
                .unsupported_passwords
                .entry(format!("{format} (work factor above our limits)"))
                .or_default()
                .push(django.username.clone()),
            DjangoHash::Unusable => plan.unusable_passwords += 1,
            DjangoHash::Other => plan
                .unsupported_passwords
                .entry(format_name(hash))
                .or_default()
                .push(django.username.clone()),
        }
        if let Some(problem) = username_problem(&django.username) {
            plan.clashes.push(format!(
                "Django user {} ({:?}): {problem}: rename it in Django first",
                django.id,
                django.username.chars().take(40).collect::<String>()
            ));
        }
        let imported_before = existing.imported.contains_key(&account.id);
        if !imported_before {
            if let Some(username) = existing.users.get(&account.id) {
                plan.clashes.push(format!(
                    "Django user {} ({:?}) has the id of our user {username:?}, which no \
                     import made",
                    account.id, account.username
                ));
            }
        }
        for key in account.login_keys() {
            match existing.login_names.get(&key) {
                // Held by an account this import writes again: its names are rewritten.
                Some(owner) if *owner == account.id || rewritten(owner) => {}
                Some(owner) => plan.clashes.push(format!(
                    "Django user {} ({:?}): the sign-in name {key:?} belongs to our user {} \
                     ({:?})",
                    account.id,
                    account.username,
                    owner,
                    existing.users.get(owner).map_or("?", String::as_str)
                )),
                None => {}
            }
        }
        match (imported_before, change) {
            (false, _) => plan.new_accounts.push(account),
            (true, Some(change)) => plan.changes.push(change),
            (true, None) => plan.unchanged += 1,
        }
    }

    let mut linked: HashSet<(i64, &str)> = HashSet::new();
    for social in data.social_accounts.iter().flatten() {
        if !importing.contains(&social.user_id) {
            continue;
        }
        let key = (social.provider.clone(), social.uid.clone());
        match existing.links.get(&key) {
            Some(owner) if *owner == social.user_id => {
                plan.existing_links += 1;
                continue;
            }
            None if existing
                .links_by_user
                .contains(&(social.user_id, social.provider.clone())) =>
            {
                plan.clashes.push(format!(
                    "Django user {}'s {} account {:?} differs from the one linked here",
                    social.user_id, social.provider, social.uid
                ));
                continue;
            }
            Some(owner) => {
                plan.clashes.push(format!(
                    "Django user {}'s {} account {:?} is linked to our user {owner}",
                    social.user_id, social.provider, social.uid
                ));
                continue;
            }
            None => {}
        }
        if !linked.insert((social.user_id, &social.provider)) {
            plan.clashes.push(format!(
                "Django user {} has more than one {} account; here an account links one per \
                 provider: remove the extra one in Django first",
                social.user_id, social.provider
            ));
            continue;
        }
        plan.new_links.push(Link {
            provider: social.provider.clone(),
            subject: social.uid.clone(),
            user_id: social.user_id,
            created_at: social.date_joined.timestamp(),
        });
    }

    for token in data.blacklist.iter().flatten() {
        let jti_hash = crate::auth::tokens::legacy::jti_hash(&token.jti);
        if token.expires_at <= now || existing.revoked.contains(&jti_hash) {
            plan.skipped_tokens += 1;
            continue;
        }
        plan.revoked_tokens.push(RevokedToken {
            jti_hash,
            user_id: token.user_id,
            expires_at: token.expires_at.timestamp(),
        });
    }
    plan
}

/// The name of a password format we cannot check, as the report shows it: the prefix
/// before `$` when it looks like a hasher's name, else `unrecognised`. Never the stored
/// value itself, which may be a bare hash or even a password.
fn format_name(hash: &str) -> String {
    match hash.split_once('$') {
        Some((name, _))
            if (1..=32).contains(&name.len())
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') =>
        {
            name.to_owned()
        }
        _ => "unrecognised".to_owned(),
    }
}

/// Why a Django username cannot be an account's name here (Django's own validator
/// prevents each of these, but a database edited by hand may hold them).
fn username_problem(username: &str) -> Option<&'static str> {
    let chars = username.chars().count();
    if chars == 0 {
        return Some("an empty username");
    }
    if chars > crate::users::NAME_MAX_CHARS {
        return Some("a username over 150 characters");
    }
    if !username
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '@' | '.' | '+' | '-' | '_'))
    {
        return Some("a username with characters other than letters, digits and @.+-_");
    }
    None
}

/// SHA-256 (hex) of a password hash, as snapshots keep it.
fn fingerprint(hash: Option<&str>) -> Option<String> {
    hash.map(|h| hex::encode(Sha256::digest(h.as_bytes())))
}

/// Three-way merge of an account imported before: each field takes Django's value when
/// Django changed it since the import (`before`) and it was not changed here; otherwise
/// ours stays (a deactivation, a rename, an address change, a password changed or reset
/// here). The address and its verification go together. A password Django changed wins
/// over our upgrade of the old one's hash (the same password, rehashed at sign-in).
fn merge(django: &Account, now: &Account, before: &Account, password_set_here: bool) -> Account {
    macro_rules! pick {
        ($($field:ident),*) => {
            Account {
                $($field: if django.$field != before.$field && now.$field == before.$field {
                    django.$field.clone()
                } else {
                    now.$field.clone()
                },)*
                ..now.clone()
            }
        };
    }
    let mut merged = pick!(
        username,
        first_name,
        last_name,
        is_active,
        is_staff,
        is_superuser,
        date_joined,
        last_login
    );
    let address = |a: &Account| (a.email.clone(), a.email_verified);
    if address(django) != address(before) && address(now) == address(before) {
        (merged.email, merged.email_verified) = address(django);
    }
    let django_password = fingerprint(django.password_hash.as_deref());
    let unchanged_here = fingerprint(now.password_hash.as_deref()) == before.password_hash
        || (!password_set_here
            && now
                .password_hash
                .as_deref()
                .is_some_and(|h| h.starts_with("$argon2id$")));
    if django_password != before.password_hash && unchanged_here {
        merged.password_hash.clone_from(&django.password_hash);
    }
    merged
}

/// A Django user as an account here, and how many of its allauth addresses are left out.
fn account(
    user: &DjangoUser,
    addresses: Option<&Vec<&super::source::DjangoAddress>>,
) -> (Account, usize) {
    let addresses = addresses.map(Vec::as_slice).unwrap_or_default();
    let primary = addresses
        .iter()
        .find(|a| a.primary)
        .or_else(|| {
            addresses
                .iter()
                .find(|a| identity_key(&a.email) == identity_key(&user.email))
        })
        .copied();
    let (email, email_verified) = match primary {
        Some(address) => (Some(address.email.clone()), address.verified),
        None if user.email.trim().is_empty() => (None, false),
        None => (Some(user.email.clone()), false),
    };
    let secondary = addresses.len() - usize::from(primary.is_some());
    let password_hash = match classify(&user.password) {
        DjangoHash::Unusable => None,
        _ if user.password.is_empty() => None,
        _ => Some(user.password.clone()),
    };
    (
        Account {
            id: user.id,
            username: user.username.clone(),
            email,
            email_verified,
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            password_hash,
            is_active: user.is_active,
            is_staff: user.is_staff,
            is_superuser: user.is_superuser,
            date_joined: user.date_joined,
            last_login: user.last_login,
        },
        secondary,
    )
}

#[cfg(test)]
mod tests {
    use super::super::source::{DjangoAddress, DjangoSocialAccount};
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    fn user(id: i64, username: &str, email: &str, password: &str) -> DjangoUser {
        DjangoUser {
            id,
            username: username.into(),
            email: email.into(),
            first_name: String::new(),
            last_name: String::new(),
            password: password.into(),
            is_active: true,
            is_staff: false,
            is_superuser: false,
            date_joined: at(1_700_000_000),
            last_login: None,
        }
    }

    fn data(users: Vec<DjangoUser>) -> DjangoData {
        DjangoData {
            users,
            addresses: Some(vec![]),
            social_accounts: Some(vec![]),
            blacklist: Some(vec![]),
        }
    }

    const PBKDF2: &str = "pbkdf2_sha256$1000$salt$hash=";

    #[test]
    fn primary_address_and_its_verification_win() {
        let mut d = data(vec![user(1, "alice", "old@example.com", PBKDF2)]);
        d.addresses = Some(vec![
            DjangoAddress {
                user_id: 1,
                email: "old@example.com".into(),
                verified: false,
                primary: false,
            },
            DjangoAddress {
                user_id: 1,
                email: "alice@example.com".into(),
                verified: true,
                primary: true,
            },
        ]);
        let p = plan(&d, &Existing::default(), at(1_800_000_000));
        assert!(p.clashes.is_empty(), "{:?}", p.clashes);
        let a = &p.new_accounts[0];
        assert_eq!(a.email.as_deref(), Some("alice@example.com"));
        assert!(a.email_verified);
        assert_eq!(p.secondary_addresses, 1);
        assert_eq!(p.password_formats["pbkdf2_sha256"], 1);
    }

    #[test]
    fn reports_never_show_a_stored_value_and_odd_usernames_stop_it() {
        let d = data(vec![
            user(1, "a", "", "88e4ddd2402d92d50e1879d6ecd9ffd4"),
            user(2, "b", "", "MyPlainPassw0rd!"),
            user(3, "c", "", "pbkdf2_sha256$999999999$salt$hash="),
            user(4, "", "", PBKDF2),
            user(5, "bad\u{1b}name", "", PBKDF2),
            user(6, &"x".repeat(151), "", PBKDF2),
        ]);
        let p = plan(&d, &Existing::default(), at(0));
        let formats: Vec<&String> = p.unsupported_passwords.keys().collect();
        assert_eq!(
            formats,
            [
                "pbkdf2_sha256 (work factor above our limits)",
                "unrecognised"
            ]
        );
        assert_eq!(p.unsupported_passwords["unrecognised"], ["a", "b"]);
        assert_eq!(p.clashes.len(), 3, "{:#?}", p.clashes);
    }

    #[test]
    fn passwords_are_sorted_by_what_sign_in_can_do() {
        let d = data(vec![
            user(1, "a", "", PBKDF2),
            user(2, "b", "", "!unusable"),
            user(3, "c", "", ""),
            user(4, "d", "", "md5$salt$abc"),
            user(5, "e", "", "sha1$salt$abc"),
        ]);
        let p = plan(&d, &Existing::default(), at(0));
        assert_eq!(p.unusable_passwords, 2);
        assert_eq!(p.new_accounts[1].password_hash, None);
        assert_eq!(p.unsupported_passwords["md5"], vec!["d".to_owned()]);
        assert_eq!(p.unsupported_passwords["sha1"], vec!["e".to_owned()]);
        // Kept as it is: it never matches, and the count says who must reset.
        assert_eq!(
            p.new_accounts[3].password_hash.as_deref(),
            Some("md5$salt$abc")
        );
    }

    #[test]
    fn names_that_are_one_here_clash() {
        let d = data(vec![
            user(1, "Alice", "", PBKDF2),
            user(2, "alice", "", PBKDF2),
            user(3, "bob", "shared@example.com", PBKDF2),
            user(4, "carol", "SHARED@example.com", PBKDF2),
            user(5, "dave@example.com", "", PBKDF2),
            user(6, "erin", "dave@example.com", PBKDF2),
        ]);
        let p = plan(&d, &Existing::default(), at(0));
        assert_eq!(p.clashes.len(), 3, "{:#?}", p.clashes);
        assert!(p.clashes[0].contains("\"alice\""), "{}", p.clashes[0]);
    }

    #[test]
    fn our_own_accounts_are_never_overwritten() {
        let d = data(vec![
            user(1, "alice", "a@example.com", PBKDF2),
            user(2, "bob", "", PBKDF2),
        ]);
        let mut existing = Existing::default();
        existing.users.insert(1, "zed".into());
        existing.login_names.insert("zed".into(), 1);
        existing.users.insert(9, "Bob".into());
        existing.login_names.insert("bob".into(), 9);
        let p = plan(&d, &existing, at(0));
        assert_eq!(p.clashes.len(), 2, "{:#?}", p.clashes);
        assert!(p.clashes[0].contains("id of our user \"zed\""));
        assert!(p.clashes[1].contains("belongs to our user 9"));
    }

    /// The state after importing `d` into an empty database, as `existing` would read it.
    fn imported(d: &DjangoData) -> Existing {
        let first = plan(d, &Existing::default(), at(0));
        let mut existing = Existing::default();
        for a in &first.new_accounts {
            existing.users.insert(a.id, a.username.clone());
            existing.imported.insert(
                a.id,
                Imported {
                    now: Some(a.clone()),
                    django: a.snapshot(),
                    password_set_here: false,
                },
            );
            for key in a.login_keys() {
                existing.login_names.insert(key, a.id);
            }
        }
        existing
    }

    #[test]
    fn a_second_run_changes_only_what_changed_in_django() {
        let d = data(vec![
            user(1, "alice", "", PBKDF2),
            user(2, "bob", "", PBKDF2),
        ]);
        let mut existing = imported(&d);
        let again = plan(&d, &existing, at(0));
        assert!(again.new_accounts.is_empty() && again.changes.is_empty());
        assert_eq!(again.unchanged, 2);

        // Here: bob changed his password and was deactivated. In Django: alice was
        // renamed, bob's name, active flag and password changed.
        let bob = existing.imported.get_mut(&2).unwrap();
        bob.password_set_here = true;
        let bob = bob.now.as_mut().unwrap();
        bob.password_hash = Some("$argon2id$v=19$x".into());
        bob.is_active = false;
        let mut d2 = d.clone();
        d2.users[0].username = "alicia".into();
        d2.users[1].first_name = "Robert".into();
        d2.users[1].is_active = true;
        d2.users[1].password = "pbkdf2_sha256$1000$other$hash=".into();
        let third = plan(&d2, &existing, at(0));
        assert_eq!(third.changes.len(), 2);
        assert_eq!(third.changes[0].account.username, "alicia");
        let bob = &third.changes[1].account;
        assert_eq!(bob.first_name, "Robert", "changed in Django only");
        assert!(!bob.is_active, "changed here: stays");
        assert_eq!(bob.password_hash.as_deref(), Some("$argon2id$v=19$x"));
        // Had bob only signed in here (his old password rehashed), Django's new one wins.
        existing.imported.get_mut(&2).unwrap().password_set_here = false;
        let fourth = plan(&d2, &existing, at(0));
        assert_eq!(
            fourth.changes[1].account.password_hash.as_deref(),
            Some(d2.users[1].password.as_str())
        );
        // Snapshots keep no password hash, only its fingerprint.
        assert_ne!(
            third.changes[1].django.password_hash.as_deref(),
            Some(d2.users[1].password.as_str())
        );
    }

    #[test]
    fn an_account_deleted_here_stays_deleted() {
        let d = data(vec![
            user(1, "alice", "", PBKDF2),
            user(2, "bob", "", PBKDF2),
        ]);
        let mut existing = imported(&d);
        existing.imported.get_mut(&2).unwrap().now = None;
        existing.users.remove(&2);
        existing.login_names.remove("bob");
        let p = plan(&d, &existing, at(0));
        assert_eq!((p.deleted_here, p.unchanged), (1, 1));
        assert!(p.new_accounts.is_empty() && p.changes.is_empty());
    }

    #[test]
    fn links_one_per_provider() {
        let mut d = data(vec![user(1, "alice", "", PBKDF2)]);
        let social = |uid: &str| DjangoSocialAccount {
            user_id: 1,
            provider: "google".into(),
            uid: uid.into(),
            date_joined: at(5),
        };
        d.social_accounts = Some(vec![social("1"), social("2")]);
        let p = plan(&d, &Existing::default(), at(0));
        assert_eq!(p.new_links.len(), 1);
        assert_eq!(p.clashes.len(), 1);
    }
}
