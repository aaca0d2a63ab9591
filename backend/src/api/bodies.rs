//! Response bodies shared by several endpoints.

use serde::Serialize;

use crate::auth::tokens::TokenPair;
use crate::users::{User, UserDetails};

/// register, login and social login: keys in dj-rest-auth's order.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoginBody {
    /// A new access token.
    pub access: String,
    /// The first refresh token of the new sign-in.
    pub refresh: String,
    /// The signed-in user.
    pub user: UserDetails,
}

impl LoginBody {
    pub fn new(pair: TokenPair, user: &User) -> LoginBody {
        LoginBody {
            access: pair.access.token,
            refresh: pair.refresh.token,
            user: UserDetails::from(user),
        }
    }
}

/// What `login/` and `google/` answer: tokens, or a second factor to give first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum LoginOutcome {
    /// Signed in.
    SignedIn(LoginBody),
    /// The account has a second factor: complete with `mfa/authenticate/`.
    SecondFactor(super::mfa::MfaRequiredBody),
}
