// Social sign-in against a real OpenID Connect provider (the certified `oidc-provider`
// package) running locally, through its own login and consent pages.
import { test, expect, type Page } from "@playwright/test";
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { freePort, startServer, type RunningServer } from "../support/server";
import { PASSWORD, signOut, uniqueName } from "../support/flows";

let server: RunningServer;
let idp: ChildProcess;

test.describe.configure({ mode: "serial" });

test.beforeAll(async () => {
  const idpPort = await freePort();
  const issuer = `http://127.0.0.1:${idpPort}`;
  server = await startServer({
    OIDC_PROVIDERS: "testidp",
    OIDC_TESTIDP_ISSUER: issuer,
    OIDC_TESTIDP_CLIENT_ID: "las-e2e",
    OIDC_TESTIDP_CLIENT_SECRET: "las-e2e-secret",
    OIDC_TESTIDP_LABEL: "Test IdP",
  });
  idp = spawn(process.execPath, [path.join(__dirname, "..", "support", "oidc-provider.mjs")], {
    env: {
      ...process.env,
      PORT: String(idpPort),
      REDIRECT_URI: `${server.baseURL}/auth/testidp/callback`,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    idp.once("exit", (code) => reject(new Error(`oidc-provider exited with ${code}`)));
    idp.stdout!.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("listening")) resolve();
    });
  });
});

test.afterAll(async () => {
  idp?.kill("SIGTERM");
  await server?.stop();
});

/// At the provider: log in as `login` (any password) and consent, as far as it asks.
async function atProvider(page: Page, login: string) {
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill("anything");
  await page.getByRole("button", { name: "Sign-in" }).click();
  await page.getByRole("button", { name: "Continue" }).click();
}

test("sign in with the provider, sign out, and come back to the same account", async ({
  page,
}) => {
  const login = uniqueName("oidc");
  await page.goto(`${server.baseURL}/signin`);
  await page.getByRole("link", { name: "Continue with Test IdP" }).click();
  await expect(page).toHaveURL(/127\.0\.0\.1:\d+\/interaction\//);
  await atProvider(page, login);

  await expect(page).toHaveURL(`${server.baseURL}/profile`);
  await expect(page.getByTestId("profile-username")).toHaveText(login);
  await expect(page.getByTestId("profile-email")).toHaveText(`${login}@example.com`);
  await expect(page.getByTestId("method-testidp")).toContainText("Linked");
  const pk = await page.getByTestId("profile-pk").textContent();

  await signOut(page);
  await page.goto(`${server.baseURL}/signin`);
  await page.getByRole("link", { name: "Continue with Test IdP" }).click();
  // The provider remembers its own session; it may or may not ask again.
  if (!page.url().startsWith(server.baseURL)) {
    const button = page.getByRole("button", { name: /Sign-in|Continue/ });
    if (await button.getByText("Sign-in").count()) await atProvider(page, login);
    else await button.click();
  }
  await expect(page).toHaveURL(`${server.baseURL}/profile`);
  await expect(page.getByTestId("profile-pk")).toHaveText(pk!);
});

test("link the provider to an existing password account", async ({ page }) => {
  const login = uniqueName("linker");
  await page.goto(`${server.baseURL}/signup`);
  await page.getByLabel("Username").fill(login);
  await page.getByLabel("Email").fill(`${login}@example.com`);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByLabel("Confirm password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(`${server.baseURL}/profile`);
  const pk = await page.getByTestId("profile-pk").textContent();
  await expect(page.getByTestId("method-testidp")).toContainText("Not linked");
  await signOut(page);

  await page.goto(`${server.baseURL}/signin`);
  await page.getByRole("link", { name: "Continue with Test IdP" }).click();
  await atProvider(page, login);
  // Same verified email as a local account: no automatic linking, the password decides.
  await expect(page).toHaveURL(`${server.baseURL}/signin`);
  await expect(page.getByTestId("form-notice")).toContainText(
    "Sign in with its password to link Test IdP",
  );
  await expect(page.getByLabel("Username or email")).toHaveValue(`${login}@example.com`);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(`${server.baseURL}/profile`);
  await expect(page.getByTestId("notice")).toHaveText("Test IdP is now linked to your account.");
  await expect(page.getByTestId("method-testidp")).toContainText("Linked");

  // From now on the provider alone signs in to this account.
  await signOut(page);
  await page.goto(`${server.baseURL}/signin`);
  await page.getByRole("link", { name: "Continue with Test IdP" }).click();
  if (!page.url().startsWith(server.baseURL)) {
    await page.getByRole("button", { name: "Continue" }).click();
  }
  await expect(page).toHaveURL(`${server.baseURL}/profile`);
  await expect(page.getByTestId("profile-pk")).toHaveText(pk!);
});
