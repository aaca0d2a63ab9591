//! What staff read on `/admin`: the user list ([`directory`]) and the security activity
//! across every account ([`activity`]). What staff do to accounts is a use case like any
//! other: `accounts::administration`.

pub mod account;
pub mod activity;
pub mod directory;
