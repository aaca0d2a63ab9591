pub mod admin;
pub mod home;
pub mod not_found;
pub mod password_reset;
pub mod profile;
pub mod signin;
pub mod signup;
pub mod verify_email;
