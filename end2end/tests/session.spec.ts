// The browser session against a server with a 3-second access token: the page keeps
// working across expiries without reloads, racing tabs share one refresh, sign-in is
// rate limited in words.
import { test, expect } from "@playwright/test";
import { startServer, type RunningServer } from "../support/server";
import { islandsReady, signUp, uniqueName, userDetails } from "../support/flows";

let server: RunningServer;

test.describe.configure({ mode: "serial" });

test.beforeAll(async () => {
  server = await startServer({
    JWT_ACCESS_TOKEN_LIFETIME: "3",
    RATE_LIMIT_LOGIN_PER_MINUTE: "3",
  });
});

test.afterAll(async () => {
  await server?.stop();
});

test("the profile page keeps working across several token expiries", async ({ page }) => {
  test.setTimeout(60_000);
  await signUp(page, uniqueName("longrun"), "", server.baseURL);
  await islandsReady(page);
  // A marker that a reload would wipe.
  await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));

  for (let round = 0; round < 4; round++) {
    await page.waitForTimeout(2_200);
    const details = await userDetails(page, true);
    expect(details, `round ${round}`).toContain("HTTP 200");
  }
  expect(await page.evaluate(() => (window as unknown as { marker: number }).marker)).toBe(42);

  // The tokens really were refreshed: the page was handed several distinct ones.
  const tokens = await page.evaluate(async () => {
    const out: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await fetch("/api/session/access-token", {
        method: "POST",
        headers: {
          accept: "application/json",
          "content-type": "application/x-www-form-urlencoded",
        },
        body: "",
      });
      out.push(JSON.stringify(await res.json()));
      await new Promise((r) => setTimeout(r, 2_200));
    }
    return out;
  });
  expect(tokens[0]).not.toEqual(tokens[1]);
});

test("two tabs refreshing at once both stay signed in", async ({ context }) => {
  test.setTimeout(60_000);
  const first = await context.newPage();
  await signUp(first, uniqueName("tabs"), "", server.baseURL);
  const second = await context.newPage();
  await second.goto(`${server.baseURL}/profile`);
  await islandsReady(first);
  await islandsReady(second);

  for (let round = 0; round < 3; round++) {
    await first.waitForTimeout(2_200);
    const [a, b] = await Promise.all([userDetails(first, true), userDetails(second, true)]);
    expect(a, `tab 1, round ${round}`).toContain("HTTP 200");
    expect(b, `tab 2, round ${round}`).toContain("HTTP 200");
  }
  for (const tab of [first, second]) {
    await tab.reload();
    await expect(tab).toHaveURL(/\/profile$/);
  }
});

test("sign-in attempts beyond the limit are refused in words", async ({ page }) => {
  await page.goto(`${server.baseURL}/signin`);
  for (let i = 0; i < 4; i++) {
    await page.getByLabel("Username or email").fill("nobody-here");
    await page.getByLabel("Password").fill("wrong-password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  }
  await expect(page.getByTestId("form-notice")).toContainText("Too many attempts. Please wait");
});
