//! The passkey island: the one part of the passkey pages that needs JavaScript, because only
//! the browser can talk to an authenticator (`navigator.credentials`). It asks the server for
//! the ceremony's options, hands them to the browser, and sends the browser's answer back
//! (WebAuthn's JSON forms: `PublicKeyCredential.parseCreationOptionsFromJSON()`, `toJSON()`).
//!
//! Server-rendered, it is `hidden`: without JavaScript, or in a browser without WebAuthn,
//! there is no passkey button at all, and the page's other ways still work.

use leptos::prelude::*;

/// What the button does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// "Sign in with a passkey" (and autofill, where the browser offers it).
    SignIn,
    /// "Use a passkey" as the second factor.
    SecondFactor,
    /// "Add a passkey" on the profile.
    Register,
}

impl Mode {
    fn parse(mode: &str) -> Mode {
        match mode {
            "register" => Mode::Register,
            "second-factor" => Mode::SecondFactor,
            _ => Mode::SignIn,
        }
    }

    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn urls(self) -> (&'static str, &'static str) {
        match self {
            Mode::SignIn => ("/signin/passkey/begin", "/signin/passkey/finish"),
            Mode::SecondFactor => (
                "/signin/second-factor/passkey/begin",
                "/signin/second-factor/passkey/finish",
            ),
            Mode::Register => ("/profile/passkeys/begin", "/profile/passkeys/finish"),
        }
    }
}

/// A passkey button. `mode`: `sign-in`, `second-factor` or `register`; `next`: where a
/// sign-in goes; `ask_password`: a registration must confirm the password first (the
/// sign-in is older than `REAUTH_MAX_AGE`).
#[island]
pub fn PasskeyButton(
    #[prop(into)] mode: String,
    #[prop(into)] label: String,
    #[prop(optional)] next: Option<String>,
    #[prop(optional)] ask_password: Option<bool>,
) -> impl IntoView {
    let ask_password = ask_password.unwrap_or(false);
    let mode = Mode::parse(&mode);
    let supported = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let name = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    // An empty `next`: the server's default destination.
    let next = StoredValue::new(next.filter(|n| !n.is_empty()));
    #[cfg(not(feature = "hydrate"))]
    let _ = (next, password);

    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        if browser::available() {
            supported.set(true);
            if mode == Mode::SignIn {
                leptos::task::spawn_local(async move {
                    // Autofill: waits, silently, until the person picks a passkey from the
                    // username field's suggestions.
                    if let Ok(Some(to)) = browser::autofill(next.get_value()).await {
                        browser::go(&to);
                    }
                });
            }
        }
    });

    let run = move |_| {
        if busy.get_untracked() {
            return;
        }
        if mode == Mode::Register && name.get_untracked().trim().is_empty() {
            error.set(Some("Give the passkey a name, such as \"Laptop\".".into()));
            return;
        }
        busy.set(true);
        error.set(None);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let outcome = browser::ceremony(
                mode,
                name.get_untracked(),
                password.get_untracked(),
                next.get_value(),
            )
            .await;
            match outcome {
                Ok(to) => browser::go(&to),
                Err(message) => {
                    error.set(Some(message));
                    busy.set(false);
                }
            }
        });
    };

    let fields = (mode == Mode::Register).then(|| {
        view! {
            <div class="field">
                <label for="passkey-name">"Name for this passkey"</label>
                <input id="passkey-name" type="text" maxlength="64" placeholder="Laptop"
                    autocomplete="off" data-testid="passkey-name"
                    on:input=move |ev| name.set(event_target_value(&ev))/>
            </div>
            {ask_password.then(|| view! {
                <div class="field">
                    <label for="passkey-password">"Your password"</label>
                    <input id="passkey-password" type="password" autocomplete="current-password"
                        data-testid="passkey-password"
                        on:input=move |ev| password.set(event_target_value(&ev))/>
                </div>
            })}
        }
        .into_any()
    });
    let testid = match mode {
        Mode::SignIn => "passkey-sign-in",
        Mode::SecondFactor => "passkey-second-factor",
        Mode::Register => "passkey-register",
    };
    view! {
        <div class="passkey stack" hidden=move || !supported.get() data-testid=testid
            data-ready=move || supported.get().then_some("")>
            {fields}
            <button type="button" class="button secondary" on:click=run
                disabled=move || busy.get() aria-busy=move || busy.get().to_string()>
                {move || if busy.get() { "Waiting for your passkey…".to_owned() } else { label.clone() }}
            </button>
            {move || error.get().map(|e| view! {
                <p class="alert error" role="alert" data-testid="passkey-error">{e}</p>
            })}
        </div>
    }
    // One erased type: pages that hold the island stay within the compiler's type depth.
    .into_any()
}

#[cfg(feature = "hydrate")]
mod browser {
    use js_sys::{Function, Object, Promise, Reflect, JSON};
    use serde_json::{json, Value};
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    use super::Mode;

    thread_local! {
        /// The autofill request in flight, to abort before a button asks.
        static AUTOFILL: std::cell::RefCell<Option<JsValue>> = const { std::cell::RefCell::new(None) };
    }

    fn get(target: &JsValue, key: &str) -> Result<JsValue, JsValue> {
        Reflect::get(target, &JsValue::from_str(key))
    }

    fn public_key_credential() -> Option<JsValue> {
        get(&js_sys::global(), "PublicKeyCredential")
            .ok()
            .filter(|v| !v.is_undefined() && !v.is_null())
    }

    /// Whether the browser can do WebAuthn with the JSON helpers this island uses.
    pub fn available() -> bool {
        public_key_credential().is_some_and(|pkc| {
            get(&pkc, "parseRequestOptionsFromJSON").is_ok_and(|f| f.is_function())
        })
    }

    pub fn go(to: &str) {
        if let Some(window) = web_sys::window() {
            let _ = window.location().assign(to);
        }
    }

    async fn post(url: &str, body: &Value) -> Result<Value, String> {
        let request = gloo_net::http::Request::post(url)
            .json(body)
            .map_err(|e| e.to_string())?;
        let response = request
            .send()
            .await
            .map_err(|_| "The server could not be reached. Try again.".to_owned())?;
        let ok = response.ok();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        if ok {
            return Ok(answer);
        }
        let mut words: Vec<String> = answer["errors"]
            .as_object()
            .into_iter()
            .flat_map(|m| m.values())
            .filter_map(Value::as_array)
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        if let Some(notice) = answer["notice"].as_str() {
            words.push(notice.to_owned());
        }
        if let Some(to) = answer["redirect"].as_str() {
            go(to);
        }
        Err(if words.is_empty() {
            "Something went wrong on our side. Please try again.".to_owned()
        } else {
            words.join(" ")
        })
    }

    fn words(error: JsValue) -> String {
        let name = get(&error, "name").ok().and_then(|n| n.as_string());
        match name.as_deref() {
            Some("NotAllowedError") => "The passkey request was cancelled or timed out.".into(),
            Some("InvalidStateError") => "This passkey is already registered.".into(),
            Some("AbortError") => String::new(),
            _ => "Your browser could not use a passkey here.".into(),
        }
    }

    /// `navigator.credentials.create()` or `.get()` with the server's `options`; the
    /// browser's answer as JSON.
    async fn call(
        create: bool,
        options: &Value,
        mediation: Option<&str>,
        signal: Option<&JsValue>,
    ) -> Result<Value, JsValue> {
        let pkc = public_key_credential().ok_or_else(|| JsValue::from_str("no WebAuthn"))?;
        let parser = if create {
            "parseCreationOptionsFromJSON"
        } else {
            "parseRequestOptionsFromJSON"
        };
        let parse: Function = get(&pkc, parser)?.dyn_into()?;
        let json = JSON::parse(&options["publicKey"].to_string())?;
        let public_key = parse.call1(&pkc, &json)?;
        let arg = Object::new();
        Reflect::set(&arg, &"publicKey".into(), &public_key)?;
        if let Some(mediation) = mediation {
            Reflect::set(&arg, &"mediation".into(), &mediation.into())?;
        }
        if let Some(signal) = signal {
            Reflect::set(&arg, &"signal".into(), signal)?;
        }
        let credentials = get(&get(&js_sys::global(), "navigator")?, "credentials")?;
        let method: Function =
            get(&credentials, if create { "create" } else { "get" })?.dyn_into()?;
        let promise: Promise = method.call1(&credentials, &arg)?.dyn_into()?;
        let credential = JsFuture::from(promise).await?;
        let to_json: Function = get(&credential, "toJSON")?.dyn_into()?;
        let text: String = JSON::stringify(&to_json.call0(&credential)?)?.into();
        serde_json::from_str(&text).map_err(|e| JsValue::from_str(&e.to_string()))
    }

    fn abort_autofill() {
        AUTOFILL.with(|slot| {
            if let Some(controller) = slot.borrow_mut().take() {
                if let Ok(abort) = get(&controller, "abort").and_then(|f| f.dyn_into::<Function>())
                {
                    let _ = abort.call0(&controller);
                }
            }
        });
    }

    /// The button's whole ceremony; where to go next.
    pub async fn ceremony(
        mode: Mode,
        name: String,
        password: String,
        next: Option<String>,
    ) -> Result<String, String> {
        abort_autofill();
        let (begin, finish) = mode.urls();
        let mut asked = json!({});
        if !password.is_empty() {
            asked["password"] = password.into();
        }
        let options = post(begin, &asked).await?;
        let credential = call(mode == Mode::Register, &options, None, None)
            .await
            .map_err(words)?;
        let mut answer = json!({ "credential": credential });
        if mode == Mode::Register {
            answer["name"] = name.trim().into();
        }
        if let Some(next) = next {
            answer["next"] = next.into();
        }
        let done = post(finish, &answer).await?;
        done["redirect"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| "Something went wrong on our side. Please try again.".to_owned())
    }

    /// Passkey autofill on the sign-in page (conditional mediation), where the browser has
    /// it; `Ok(None)` when it does not, or the request was aborted.
    pub async fn autofill(next: Option<String>) -> Result<Option<String>, String> {
        let Some(pkc) = public_key_credential() else {
            return Ok(None);
        };
        let Ok(check) =
            get(&pkc, "isConditionalMediationAvailable").and_then(|f| f.dyn_into::<Function>())
        else {
            return Ok(None);
        };
        let Ok(promise) = check.call0(&pkc).and_then(|p| p.dyn_into::<Promise>()) else {
            return Ok(None);
        };
        if !JsFuture::from(promise).await.is_ok_and(|v| v.is_truthy()) {
            return Ok(None);
        }
        let options = post("/signin/passkey/begin", &json!({})).await?;
        let controller = get(&js_sys::global(), "AbortController")
            .and_then(|c| c.dyn_into::<Function>())
            .and_then(|c| Reflect::construct(&c, &js_sys::Array::new()))
            .map_err(words)?;
        let signal = get(&controller, "signal").map_err(words)?;
        AUTOFILL.with(|slot| *slot.borrow_mut() = Some(controller));
        let credential = match call(false, &options, Some("conditional"), Some(&signal)).await {
            Ok(credential) => credential,
            Err(_) => return Ok(None),
        };
        let mut answer = json!({ "credential": credential });
        if let Some(next) = next {
            answer["next"] = next.into();
        }
        let done = post("/signin/passkey/finish", &answer).await?;
        Ok(done["redirect"].as_str().map(str::to_owned))
    }
}
