// The account lifecycle by mail, in a real browser, with real mail over SMTP (aiosmtpd):
// confirm the address given at sign-up, recover a forgotten password, change the address;
// and a reset requested while the mail server is down arrives once it is back.
import { test, expect, type Page } from "@playwright/test";
import { PASSWORD, signIn, signUp, uniqueName } from "../support/flows";
import { linkIn, readMaildir, SmtpServer, waitForMail } from "../support/mail";
import { startServer } from "../support/server";

const NEW_PASSWORD = "amber-xylophone-77";

function maildir(): string {
  const dir = process.env.E2E_MAILDIR;
  if (!dir) throw new Error("E2E_MAILDIR is set by the global setup");
  return dir;
}

async function requestReset(page: Page, email: string) {
  await page.goto("/signin");
  await page.getByTestId("forgot-password").click();
  await expect(page).toHaveURL(/\/password-reset$/);
  await page.getByLabel("Email").fill(email);
  await page.getByRole("button", { name: "Send the link" }).click();
  await expect(page.getByTestId("form-notice")).toContainText(
    "If an account uses this address, we sent it a link",
  );
}

async function setNewPassword(page: Page, link: string, password: string) {
  await page.goto(link);
  await page.getByLabel("New password", { exact: true }).fill(password);
  await page.getByLabel("New password (again)").fill(password);
  await page.getByRole("button", { name: "Set the new password" }).click();
  await expect(page).toHaveURL(/\/signin$/);
  await expect(page.getByTestId("notice")).toContainText("Your password was changed");
}

for (const javaScriptEnabled of [true, false]) {
  test.describe(javaScriptEnabled ? "with JavaScript" : "without JavaScript", () => {
    test.use({ javaScriptEnabled });

    test("sign up, receive the verification mail, confirm the address", async ({ page }) => {
      const name = uniqueName("ver");
      const email = `${name}@example.com`;
      await signUp(page, name, email);
      await expect(page.getByTestId("email-unverified")).toBeVisible();

      const mail = await waitForMail(maildir(), email, "Please confirm your e-mail address");
      const link = linkIn(mail, "/verify-email/");
      // Opening the link confirms nothing by itself.
      await page.goto(link);
      await page.goto("/profile");
      await expect(page.getByTestId("email-unverified")).toBeVisible();

      await page.goto(link);
      await page.getByRole("button", { name: "Confirm" }).click();
      await expect(page).toHaveURL(/\/profile$/);
      await expect(page.getByTestId("notice")).toContainText(`${email} is confirmed`);
      await expect(page.getByTestId("email-verified")).toBeVisible();
      // A link works once.
      await page.goto(link);
      await expect(page.getByTestId("link-invalid")).toBeVisible();
    });

    test("forget the password, reset it by mail; every old sign-in ends", async ({ page, browser }) => {
      const name = uniqueName("rst");
      const email = `${name}@example.com`;
      // The account is signed in elsewhere (this page).
      await signUp(page, name, email);

      const other = await browser.newContext({ javaScriptEnabled });
      const forgetful = await other.newPage();
      await requestReset(forgetful, email.toUpperCase());
      const mail = await waitForMail(maildir(), email, "Reset your password");
      await setNewPassword(forgetful, linkIn(mail, "/password-reset/confirm/"), NEW_PASSWORD);

      await signIn(forgetful, name, PASSWORD);
      await expect(forgetful).toHaveURL(/\/signin/);
      await signIn(forgetful, name, NEW_PASSWORD);
      await expect(forgetful).toHaveURL(/\/profile$/);
      await other.close();

      // The sign-in from before the reset is over.
      await page.goto("/profile");
      await expect(page).toHaveURL(/\/signin/);
      await waitForMail(maildir(), email, "Your password was changed");
    });

    test("change the address from the profile", async ({ page }) => {
      const name = uniqueName("chg");
      const before = `${name}@example.com`;
      const after = `${name}@new.example`;
      await signUp(page, name, before);

      const form = page.getByTestId("email-form");
      await form.getByLabel("New email").fill(after);
      await form.getByLabel("Current password").fill(PASSWORD);
      await form.getByRole("button", { name: "Send the link" }).click();
      await expect(page).toHaveURL(/\/profile$/);
      await expect(page.getByTestId("email-form").locator("..")).toContainText(
        `We sent a link to ${after}.`,
      );
      // Nothing changes before the new address confirms.
      await expect(page.getByTestId("profile-email")).toContainText(before);

      const mail = await waitForMail(maildir(), after, "Please confirm your e-mail address");
      await page.goto(linkIn(mail, "/verify-email/"));
      await page.getByRole("button", { name: "Confirm" }).click();
      await expect(page).toHaveURL(/\/profile$/);
      await expect(page.getByTestId("profile-email")).toContainText(after);
      await expect(page.getByTestId("email-verified")).toBeVisible();
      await waitForMail(maildir(), before, "Your e-mail address was changed");
    });
  });
}

for (const javaScriptEnabled of [true, false]) {
  test(`mandatory verification: sign-in waits for the address (JavaScript ${javaScriptEnabled ? "on" : "off"})`, async ({ browser }) => {
    test.setTimeout(60_000);
    const smtp = await SmtpServer.start();
    const server = await startServer({ EMAIL_URL: smtp.url, ACCOUNT_EMAIL_VERIFICATION: "mandatory" });
    const context = await browser.newContext({ javaScriptEnabled });
    const page = await context.newPage();
    try {
      const name = uniqueName("man");
      const email = `${name}@example.com`;
      await page.goto(`${server.baseURL}/signup`);
      await page.getByLabel("Username").fill(name);
      await page.getByLabel("Email").fill(email);
      await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
      await page.getByLabel("Confirm password").fill(PASSWORD);
      await page.getByRole("button", { name: "Create account" }).click();
      await expect(page).toHaveURL(/\/signin$/);
      await expect(page.getByTestId("notice")).toContainText("we sent a link to your e-mail address");

      await signIn(page, email);
      await expect(page.getByTestId("form-error")).toContainText("E-mail is not verified.");
      const resend = page.getByTestId("resend-verification");
      await expect(resend.getByLabel("Email")).toHaveValue(email);
      await resend.getByRole("button", { name: "Send the link again" }).click();
      await expect(page.getByTestId("resend-verification")).toContainText("we sent it a new link");

      // Two links arrived (sign-up and resend); the newer one confirms.
      await waitForMail(smtp.maildir, email, "Please confirm your e-mail address");
      let links: string[] = [];
      for (let i = 0; i < 150 && links.length < 2; i++) {
        links = readMaildir(smtp.maildir)
          .filter((m) => m.to.includes(email))
          .map((m) => linkIn(m, "/verify-email/"));
        if (links.length < 2) await new Promise((r) => setTimeout(r, 100));
      }
      expect(links.length).toBe(2);
      await page.goto(links[1]);
      await page.getByRole("button", { name: "Confirm" }).click();
      await expect(page).toHaveURL(/\/signin$/);
      await expect(page.getByTestId("notice")).toContainText(`${email} is confirmed`);
      await signIn(page, name);
      await expect(page).toHaveURL(/\/profile$/);
      await expect(page.getByTestId("email-verified")).toBeVisible();
    } finally {
      await context.close();
      await server.stop();
      await smtp.dispose();
    }
  });
}

test("a reset asked for while the mail server is down arrives once it is back", async ({ page }) => {
  test.setTimeout(60_000);
  const smtp = await SmtpServer.start();
  const server = await startServer({ EMAIL_URL: smtp.url });
  try {
    const name = uniqueName("down");
    const email = `${name}@example.com`;
    await signUp(page, name, email, server.baseURL);
    await smtp.stop();
    await page.goto(`${server.baseURL}/password-reset`);
    await page.getByLabel("Email").fill(email);
    await page.getByRole("button", { name: "Send the link" }).click();
    // Answered as always, mail server or not.
    await expect(page.getByTestId("form-notice")).toContainText("If an account uses this address");
    await new Promise((r) => setTimeout(r, 1500));
    await smtp.resume();
    const mail = await waitForMail(smtp.maildir, email, "Reset your password", 40_000);
    await setNewPassword(page, linkIn(mail, "/password-reset/confirm/"), NEW_PASSWORD);
    await signIn(page, name, NEW_PASSWORD);
    await expect(page).toHaveURL(/\/profile$/);
  } finally {
    await server.stop();
    await smtp.dispose();
  }
});
