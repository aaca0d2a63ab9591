//! The rules that keep an account from locking itself out, as pure functions over what an
//! account has ([`Factors`]); the use cases read the rows, ask these rules, and carry out
//! exactly what they say.
//!
//! - Recovery codes exist while any other second factor does: the first factor switched on
//!   brings a set, and removing the last one takes the set with it.
//! - The last second factor goes only with an explicit confirmation (besides the
//!   re-authentication every change needs).
//! - So MFA is never on without a usable factor: the property test below runs random
//!   sequences of every operation to show it.

/// What an account has, as the rules see it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Factors {
    /// An authenticator app is switched on.
    pub totp: bool,
    /// Passkeys registered as second factors.
    pub passkeys: usize,
    /// Unused recovery codes; `None`: the account has no set.
    pub recovery_codes: Option<usize>,
}

/// A second factor that can be added or removed (recovery codes come and go with them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Factor {
    /// The authenticator app (at most one, as in allauth).
    Totp,
    /// One passkey.
    Passkey,
}

/// Why a change is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// An authenticator app is already on; remove it first.
    #[error("an authenticator app is already set up")]
    AlreadyEnrolled,
    /// There is no such factor to remove.
    #[error("no such second factor")]
    NotEnrolled,
    /// It is the last second factor: removing it switches two-factor sign-in off, which
    /// needs an explicit confirmation.
    #[error("the last second factor needs confirmation")]
    LastFactor,
}

/// What removing a factor also does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Removal {
    /// The recovery codes go too: nothing is left for them to back up.
    pub recovery_codes_too: bool,
}

impl Factors {
    /// Whether sign-in asks for a second factor.
    pub fn mfa_enabled(&self) -> bool {
        self.totp || self.passkeys > 0 || self.recovery_codes.is_some()
    }

    /// Whether a second factor can still be given.
    pub fn usable(&self) -> bool {
        self.totp || self.passkeys > 0 || self.recovery_codes.is_some_and(|n| n > 0)
    }

    fn strong(&self) -> usize {
        usize::from(self.totp) + self.passkeys
    }

    /// Whether adding `factor` is allowed; `Ok(true)` when a recovery-code set must come
    /// with it (the account has none).
    pub fn enrol(&self, factor: Factor) -> Result<bool, Refusal> {
        if factor == Factor::Totp && self.totp {
            return Err(Refusal::AlreadyEnrolled);
        }
        Ok(self.recovery_codes.is_none())
    }

    /// Whether removing `factor` is allowed (`confirmed`: the person said yes to switching
    /// two-factor sign-in off when it is the last one), and what goes with it.
    pub fn remove(&self, factor: Factor, confirmed: bool) -> Result<Removal, Refusal> {
        let present = match factor {
            Factor::Totp => self.totp,
            Factor::Passkey => self.passkeys > 0,
        };
        if !present {
            return Err(Refusal::NotEnrolled);
        }
        let last = self.strong() == 1;
        if last && !confirmed {
            return Err(Refusal::LastFactor);
        }
        Ok(Removal {
            recovery_codes_too: last,
        })
    }

    /// The account after a successful [`enrol`](Self::enrol) (a new set holds `fresh` codes).
    pub fn enrolled(mut self, factor: Factor, fresh: usize) -> Factors {
        match factor {
            Factor::Totp => self.totp = true,
            Factor::Passkey => self.passkeys += 1,
        }
        if self.recovery_codes.is_none() {
            self.recovery_codes = Some(fresh);
        }
        self
    }

    /// The account after a successful [`remove`](Self::remove).
    pub fn removed(mut self, factor: Factor, removal: Removal) -> Factors {
        match factor {
            Factor::Totp => self.totp = false,
            Factor::Passkey => self.passkeys -= 1,
        }
        if removal.recovery_codes_too {
            self.recovery_codes = None;
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    enum Op {
        Enrol(Factor),
        Remove(Factor, bool),
        SpendCode,
        Regenerate,
        AdminReset,
    }

    fn factor() -> impl Strategy<Value = Factor> {
        prop_oneof![Just(Factor::Totp), Just(Factor::Passkey)]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            factor().prop_map(Op::Enrol),
            (factor(), any::<bool>()).prop_map(|(f, c)| Op::Remove(f, c)),
            Just(Op::SpendCode),
            Just(Op::Regenerate),
            Just(Op::AdminReset),
        ]
    }

    /// Carries out `op` as the use cases do: ask the rule, act only on its answer.
    fn apply(f: Factors, op: &Op) -> Factors {
        match *op {
            Op::Enrol(factor) => match f.enrol(factor) {
                Ok(_) => f.enrolled(factor, super::super::recovery_codes::COUNT),
                Err(_) => f,
            },
            Op::Remove(factor, confirmed) => match f.remove(factor, confirmed) {
                Ok(removal) => f.removed(factor, removal),
                Err(_) => f,
            },
            // Signing in with a code (the use case spends one only when one is left).
            Op::SpendCode => Factors {
                recovery_codes: f.recovery_codes.map(|n| n.saturating_sub(1)),
                ..f
            },
            // Regenerating replaces an existing set only.
            Op::Regenerate => Factors {
                recovery_codes: f
                    .recovery_codes
                    .map(|_| super::super::recovery_codes::COUNT),
                ..f
            },
            // The administrator's reset removes every row: MFA off, nothing half left.
            Op::AdminReset => Factors::default(),
        }
    }

    proptest! {
        #[test]
        fn mfa_is_never_on_without_a_usable_factor(ops in proptest::collection::vec(op(), 0..60)) {
            let mut f = Factors::default();
            for op in &ops {
                let before = f;
                f = apply(f, op);
                // Recovery codes exist exactly while another second factor does.
                prop_assert_eq!(f.recovery_codes.is_some(), f.strong() > 0, "{:?} after {:?}", f, op);
                // MFA on means a factor is there to give.
                prop_assert!(!f.mfa_enabled() || f.usable(), "{:?}", f);
                // Switching MFA off takes an explicit confirmation (or the admin reset).
                if before.mfa_enabled() && !f.mfa_enabled() {
                    prop_assert!(
                        matches!(op, Op::Remove(_, true) | Op::AdminReset),
                        "switched off by {:?}", op
                    );
                }
            }
        }
    }

    #[test]
    fn the_last_factor_needs_confirmation_and_takes_the_codes() {
        let f = Factors::default().enrolled(Factor::Totp, 10);
        assert_eq!(f.remove(Factor::Totp, false), Err(Refusal::LastFactor));
        let removal = f.remove(Factor::Totp, true).expect("confirmed");
        assert!(removal.recovery_codes_too);
        assert_eq!(f.removed(Factor::Totp, removal), Factors::default());
    }

    #[test]
    fn one_factor_of_two_goes_without_confirmation_and_keeps_the_codes() {
        let f = Factors::default()
            .enrolled(Factor::Totp, 10)
            .enrolled(Factor::Passkey, 10);
        let removal = f.remove(Factor::Passkey, false).expect("not the last");
        assert!(!removal.recovery_codes_too);
        assert_eq!(f.enrol(Factor::Totp), Err(Refusal::AlreadyEnrolled));
        assert_eq!(
            Factors::default().remove(Factor::Totp, true),
            Err(Refusal::NotEnrolled)
        );
    }
}
