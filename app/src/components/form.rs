//! Form building blocks: labelled fields with their errors, form-level messages, and the
//! submit button island that shows the pending state.

use leptos::prelude::*;

use crate::context::Feedback;

/// A labelled input with its hint and error messages, wired for screen readers
/// (`aria-describedby`, `aria-invalid`). `form` keeps the ids apart when one page has two
/// fields of one name (the profile's several password fields).
#[component]
pub fn Field(
    name: &'static str,
    #[prop(optional)] form: &'static str,
    label: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] autocomplete: &'static str,
    #[prop(optional)] required: bool,
    #[prop(optional)] hint: &'static str,
    #[prop(optional_no_strip)] value: Option<String>,
    errors: Vec<String>,
) -> impl IntoView {
    let id = if form.is_empty() {
        format!("field-{name}")
    } else {
        format!("field-{form}-{name}")
    };
    let hint_id = format!("{id}-hint");
    let error_id = format!("{id}-error");
    let invalid = !errors.is_empty();
    let described_by = [
        (!hint.is_empty()).then(|| hint_id.clone()),
        invalid.then(|| error_id.clone()),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    view! {
        <div class="field" class:invalid=invalid>
            <label for=id.clone()>
                {label}
                {(!required).then(|| view! { <span class="optional">" (optional)"</span> })}
            </label>
            <input
                id=id
                name=name
                type=kind
                autocomplete=(!autocomplete.is_empty()).then_some(autocomplete)
                required=required
                value=value
                aria-invalid=invalid.then_some("true")
                aria-describedby=(!described_by.is_empty()).then_some(described_by)
            />
            {(!hint.is_empty()).then(|| view! { <p class="hint" id=hint_id>{hint}</p> })}
            {invalid.then(|| view! {
                <ul class="errors" id=error_id data-testid=format!("error-{name}")>
                    {errors.into_iter().map(|e| view! { <li>{e}</li> }).collect_view()}
                </ul>
            })}
        </div>
    }
}

/// The form's own messages: a notice (rate limit, saved) and errors not tied to one field.
#[component]
pub fn FormMessages(feedback: Feedback) -> impl IntoView {
    let general = feedback.errors("non_field_errors");
    let notice = feedback.notice.clone();
    view! {
        {(!general.is_empty()).then(|| view! {
            <div class="alert error" role="alert" data-testid="form-error">
                {general.into_iter().map(|e| view! { <p>{e}</p> }).collect_view()}
            </div>
        })}
        {notice.map(|n| view! { <p class="alert info" role="status" data-testid="form-notice">{n}</p> })}
    }
}

/// A submit button that shows `pending` (and ignores further clicks) from the moment its
/// form is submitted until the next page arrives. Without JavaScript it is a plain button.
#[island]
pub fn SubmitButton(
    #[prop(into)] label: String,
    #[prop(into)] pending: String,
    #[prop(optional)] secondary: Option<bool>,
) -> impl IntoView {
    let secondary = secondary.unwrap_or(false);
    let busy = RwSignal::new(false);
    let button = NodeRef::<leptos::html::Button>::new();
    Effect::new(move |_| {
        use wasm_bindgen::JsValue;
        let Some(el) = button.get() else {
            return;
        };
        // For browser tests: this island is live.
        let _ = el.set_attribute("data-ready", "");
        let Some(form) = el.form() else {
            return;
        };
        let form = JsValue::from(form);
        // Submit events bubble; this button's form is the one that counts. An invalid
        // form never fires `submit`, so the button does not get stuck.
        let submitted = window_event_listener(leptos::ev::submit, move |ev| {
            if ev.target().map(JsValue::from).as_ref() == Some(&form) {
                busy.set(true);
            }
        });
        // Back/forward cache: the page comes back as it was left, button included.
        let restored = window_event_listener(leptos::ev::pageshow, move |_| busy.set(false));
        std::mem::forget((submitted, restored));
    });
    let class = if secondary {
        "button secondary"
    } else {
        "button"
    };
    view! {
        <button
            node_ref=button
            type="submit"
            class=class
            disabled=move || busy.get()
            aria-busy=move || busy.get().to_string()
        >
            {move || if busy.get() { pending.clone() } else { label.clone() }}
        </button>
    }
}
