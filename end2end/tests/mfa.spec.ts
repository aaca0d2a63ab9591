// Two-factor sign-in in a real browser: an authenticator app set up by reading the secret
// off the page (codes computed here, as an app would), signing in with its code and with a
// recovery code, with and without JavaScript; and passkeys through Chromium's virtual
// authenticator (Chrome DevTools Protocol): added on the profile, then signing in with the
// passkey alone.
import { test, expect, type Page } from "@playwright/test";
import { PASSWORD, signIn, signOut, signUp, totpCode, uniqueName } from "../support/flows";
import { startServer, type RunningServer } from "../support/server";

/// Sets up the authenticator app from the profile; returns its secret and recovery codes.
async function setUpApp(page: Page): Promise<{ secret: string; codes: string[] }> {
  await page.getByRole("button", { name: "Set up an authenticator app" }).click();
  await expect(page).toHaveURL(/\/profile\/mfa\/totp$/);
  await expect(page.locator(".qr svg")).toBeVisible();
  const secret = (await page.getByTestId("totp-secret").textContent())?.trim() ?? "";
  expect(secret).toMatch(/^[A-Z2-7 ]{32,}$/);
  await page.getByLabel("Code from the app").fill(totpCode(secret));
  await page.getByRole("button", { name: "Switch on" }).click();
  await expect(page).toHaveURL(/\/profile\/mfa\/recovery-codes$/);
  const codes = await page.getByTestId("recovery-code").allTextContents();
  expect(codes).toHaveLength(10);
  await page.getByRole("link", { name: "I have saved them" }).click();
  await expect(page.getByTestId("mfa-on")).toBeVisible();
  await expect(page.getByTestId("recovery-codes-left")).toHaveText("10 unused recovery codes left.");
  return { secret, codes };
}

for (const javaScriptEnabled of [true, false]) {
  test.describe(javaScriptEnabled ? "with JavaScript" : "without JavaScript", () => {
    test.use({ javaScriptEnabled });

    test("an authenticator app and a recovery code", async ({ page }) => {
      const name = uniqueName("totp");
      await signUp(page, name);
      const { secret, codes } = await setUpApp(page);
      await signOut(page);

      // The password alone is not enough: the second page asks for a code.
      await page.goto("/signin");
      await signIn(page, name);
      await expect(page).toHaveURL(/\/signin\/second-factor$/);
      await page.getByLabel("Code").fill("000000");
      await page.getByRole("button", { name: "Sign in" }).click();
      await expect(page.getByTestId("error-code")).toHaveText("Incorrect code.");
      // The set-up code's time step is used; the app's next code signs in.
      await page.getByLabel("Code").fill(totpCode(secret, Date.now() / 1000 + 30));
      await page.getByRole("button", { name: "Sign in" }).click();
      await expect(page).toHaveURL(/\/profile$/);
      await expect(page.getByTestId("profile-username")).toHaveText(name);
      await signOut(page);

      // A recovery code, once.
      await page.goto("/signin");
      await signIn(page, name);
      await page.getByLabel("Code").fill(codes[0]);
      await page.getByRole("button", { name: "Sign in" }).click();
      await expect(page).toHaveURL(/\/profile$/);
      await expect(page.getByTestId("recovery-codes-left")).toHaveText("9 unused recovery codes left.");
      await expect(page.getByText("Signed in with a recovery code (9 left)")).toBeVisible();
    });
  });
}

test.describe("passkeys", () => {
  let server: RunningServer;
  test.beforeAll(async () => {
    // Browsers refuse passkeys on an IP address: this server is http://localhost:<port>.
    server = await startServer(
      { RATE_LIMIT_LOGIN_PER_MINUTE: "1000", RATE_LIMIT_REGISTER_PER_MINUTE: "1000" },
      { host: "localhost" },
    );
  });
  test.afterAll(async () => {
    await server.stop();
  });

  test("a passkey added on the profile signs in alone", async ({ page }) => {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("WebAuthn.enable");
    const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
      options: {
        protocol: "ctap2",
        transport: "internal",
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
    const base = server.baseURL;
    const name = uniqueName("pk");
    await signUp(page, name, "", base);
    const register = page.getByTestId("passkey-register");
    await expect(register).toHaveAttribute("data-ready", "");
    await register.getByLabel("Name for this passkey").fill("Test laptop");
    await register.getByRole("button", { name: "Add a passkey" }).click();
    await expect(page).toHaveURL(/\/profile\/mfa\/recovery-codes$/);
    await expect(page.getByTestId("recovery-code")).toHaveCount(10);
    await page.goto(`${base}/profile`);
    await expect(page.getByTestId("passkey-name-shown")).toHaveText("Test laptop");
    const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
    expect(credentials).toHaveLength(1);
    expect(credentials[0].isResidentCredential).toBe(true);
    await signOut(page);

    // Autofill (conditional mediation): the sign-in page asks at once, and the browser's
    // passkey answers (Chromium's virtual authenticator needs no pick from the list).
    await page.goto(`${base}/signin`);
    await expect(page).toHaveURL(/\/profile$/);
    await expect(page.getByTestId("profile-username")).toHaveText(name);
    await expect(page.getByText("Signed in with a passkey").first()).toBeVisible();
    await signOut(page);

    // The button, in a browser without autofill: no username, no password, the passkey
    // says whose it is.
    await page.addInitScript(() => {
      const pkc = window.PublicKeyCredential as unknown as {
        isConditionalMediationAvailable: () => Promise<boolean>;
      };
      pkc.isConditionalMediationAvailable = async () => false;
    });
    await page.goto(`${base}/signin`);
    const button = page.getByTestId("passkey-sign-in");
    await expect(button).toHaveAttribute("data-ready", "");
    await button.getByRole("button", { name: "Sign in with a passkey" }).click();
    await expect(page).toHaveURL(/\/profile$/);
    await expect(page.getByTestId("profile-username")).toHaveText(name);
    await signOut(page);

    // The password, then the passkey as the second factor.
    await page.goto(`${base}/signin`);
    await signIn(page, name);
    await expect(page).toHaveURL(/\/signin\/second-factor$/);
    const second = page.getByTestId("passkey-second-factor");
    await expect(second).toHaveAttribute("data-ready", "");
    await second.getByRole("button", { name: "Use a passkey" }).click();
    await expect(page).toHaveURL(/\/profile$/);
    await expect(page.getByTestId("profile-username")).toHaveText(name);
  });

  test("without JavaScript there is no passkey button, and the password still works", async ({
    browser,
  }) => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    const base = server.baseURL;
    const name = uniqueName("nojs");
    await signUp(page, name, "", base);
    await expect(page.getByTestId("passkey-register")).toBeHidden();
    await signOut(page);
    await page.goto(`${base}/signin`);
    await expect(page.getByTestId("passkey-sign-in")).toBeHidden();
    await page.getByLabel("Username or email").fill(name);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(/\/profile$/);
    await context.close();
  });
});
