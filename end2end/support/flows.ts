// What a user does, as reusable steps. Each test signs up its own user, so tests run in
// parallel without sharing state.
import { createHmac } from "node:crypto";
import { expect, type Page } from "@playwright/test";

export const PASSWORD = "violet-tambourine-42";

let counter = 0;
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}${Date.now().toString(36)}${process.pid}${counter}`;
}

export async function signUp(page: Page, username: string, email = "", base = "") {
  await page.goto(`${base}/signup`);
  await page.getByLabel("Username").fill(username);
  if (email) await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByLabel("Confirm password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/profile$/);
  await expect(page.getByTestId("profile-username")).toHaveText(username);
}

export async function signIn(page: Page, login: string, password = PASSWORD) {
  await page.getByLabel("Username or email").fill(login);
  await page.getByLabel("Password").fill(password);
  // Exact: "Sign in with a passkey" is a button too, where passkeys are on.
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
}

export async function signOut(page: Page) {
  // The profile's own sign-out form: "Where you're signed in" has "Sign out" buttons too.
  await page
    .getByRole("main")
    .locator('form[action="/signout"]')
    .getByRole("button", { name: "Sign out" })
    .click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByTestId("auth-state")).toHaveText("You are not authenticated.");
}

/// Waits until the profile page's interactive island is hydrated.
export async function islandsReady(page: Page) {
  await expect(page.locator('[data-testid="details-output"][data-ready]')).toHaveCount(1);
}

export async function userDetails(page: Page, withToken: boolean): Promise<string> {
  const name = withToken ? "User details (with token)" : "User details (without token)";
  const output = page.getByTestId("details-output");
  const before = Number(await output.getAttribute("data-count"));
  await page.getByRole("button", { name }).click();
  await expect(output).toHaveAttribute("data-count", String(before + 1));
  return (await output.textContent()) ?? "";
}

/// The code an authenticator app shows for `secret` (base32, as the set-up page prints it)
/// at `at` (Unix seconds): RFC 6238 with HMAC-SHA-1, 6 digits, 30-second steps.
export function totpCode(secret: string, at = Date.now() / 1000): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of secret.replace(/\s+/g, "").toUpperCase()) {
    const value = alphabet.indexOf(c);
    if (value < 0) throw new Error(`not base32: ${c}`);
    bits += value.toString(2).padStart(5, "0");
  }
  const key = Buffer.alloc(Math.floor(bits.length / 8));
  for (let i = 0; i < key.length; i++) key[i] = parseInt(bits.slice(i * 8, i * 8 + 8), 2);
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 30)));
  const mac = createHmac("sha1", key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return code.toString().padStart(6, "0");
}
