pub mod form;
pub mod layout;
pub mod passkey;
pub mod user_details;
