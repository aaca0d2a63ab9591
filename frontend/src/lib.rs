//! The WASM entry point. In the islands architecture there is no app to hydrate as a
//! whole: `hydrate_islands` starts the reactive runtime, and the script Leptos puts in the
//! page hydrates each `#[island]` (compiled in from the `app` crate) where it appears.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // Keeps the islands' exports in this cdylib: they are defined in `app`.
    use app as _;
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
    // A marker for browser tests (and curious developers): islands are live from here on.
    if let Some(body) = leptos::prelude::document().body() {
        let _ = body.set_attribute("data-hydrated", "");
    }
}
