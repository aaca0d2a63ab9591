//! `GET /api/example/protected/`: how an endpoint of your own requires a signed-in user.
//! Adding the `CurrentUser` argument is all it takes.

use axum::Json;
use serde_json::{json, Value};

use super::current_user::CurrentUser;
use crate::users::UserDetails;

pub async fn protected(CurrentUser { user, .. }: CurrentUser) -> Json<Value> {
    Json(json!({
        "message": format!("Hello, {}!", user.username),
        "user": UserDetails::from(&user),
    }))
}
