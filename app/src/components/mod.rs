pub mod form;
pub mod layout;
pub mod user_details;
