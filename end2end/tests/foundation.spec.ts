import { test, expect } from "@playwright/test";

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the home page is rendered on the server and readable", async ({ page }) => {
    const response = await page.goto("/");
    expect(response?.status()).toBe(200);
    await expect(page.getByRole("heading", { name: "Welcome" })).toBeVisible();
    await expect(page.getByTestId("auth-state")).toHaveText("You are not authenticated.");
    await expect(page.getByRole("main").getByRole("link", { name: "Sign in" })).toBeVisible();
  });

  test("unknown pages get the app's 404 page with a 404 status", async ({ page }) => {
    const response = await page.goto("/no/such/page");
    expect(response?.status()).toBe(404);
    await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
  });
});

test.describe("with JavaScript", () => {
  test("the WASM loads and the islands hydrate without errors", async ({ page }) => {
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));

    await page.goto("/signin");
    await expect(page.locator("body[data-hydrated]")).toHaveCount(1);
    await expect(page.locator("button[data-ready]")).toHaveCount(1);
    expect(errors).toEqual([]);
  });
});

test.describe("the single binary", () => {
  test("serves its embedded assets with the right types", async ({ request }) => {
    const expected: Record<string, string> = {
      "/pkg/leptos-auth-starter.wasm": "application/wasm",
      "/pkg/leptos-auth-starter.js": "javascript",
      "/pkg/leptos-auth-starter.css": "text/css",
      "/favicon.svg": "image/svg+xml",
    };
    for (const [url, type] of Object.entries(expected)) {
      const res = await request.get(url);
      expect(res.status(), url).toBe(200);
      expect(res.headers()["content-type"], url).toContain(type);
      expect((await res.body()).length, url).toBeGreaterThan(0);
    }
  });

  test("serves precompressed assets to clients that accept them", async ({ request }) => {
    const res = await request.get("/pkg/leptos-auth-starter.wasm", {
      headers: { "accept-encoding": "br" },
    });
    expect(res.status()).toBe(200);
    expect(res.headers()["content-encoding"]).toBe("br");
    expect(res.headers()["content-type"]).toBe("application/wasm");
  });

  test("answers health probes and sets security headers", async ({ request }) => {
    const health = await request.get("/healthz");
    expect(health.status()).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });
    const ready = await request.get("/readyz");
    expect(ready.status()).toBe(200);
    expect(ready.headers()["x-request-id"]).toBeTruthy();
    expect(ready.headers()["x-frame-options"]).toBe("DENY");
    expect(ready.headers()["x-content-type-options"]).toBe("nosniff");
    expect(ready.headers()["referrer-policy"]).toBe("same-origin");
    expect(ready.headers()["cross-origin-opener-policy"]).toBe("same-origin");
  });
});
