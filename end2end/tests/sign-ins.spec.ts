// "Where you're signed in": two browsers signed in as one user; the first sees both and
// signs the second out, which finds itself signed out on its next page load; the activity
// list tells it. Then "Delete my account". With and without JavaScript.
import { test, expect } from "@playwright/test";
import { PASSWORD, signIn, signUp, uniqueName } from "../support/flows";

const IPHONE =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 " +
  "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

for (const javaScriptEnabled of [true, false]) {
  test.describe(javaScriptEnabled ? "with JavaScript" : "without JavaScript", () => {
    test.use({ javaScriptEnabled });

    test("see where you are signed in and sign another browser out", async ({ page, browser }) => {
      const name = uniqueName("dev");
      await signUp(page, name);
      const rows = page.getByTestId("sign-in");
      await expect(rows).toHaveCount(1);
      await expect(rows.first()).toContainText("This browser");
      // Nothing else to end: no "Sign out everywhere else".
      await expect(page.getByRole("button", { name: "Sign out everywhere else" })).toHaveCount(0);

      const phone = await browser.newContext({ javaScriptEnabled, userAgent: IPHONE });
      const phonePage = await phone.newPage();
      await phonePage.goto("/signin");
      await signIn(phonePage, name);
      await expect(phonePage).toHaveURL(/\/profile$/);

      await page.reload();
      await expect(rows).toHaveCount(2);
      const phoneRow = rows.filter({ hasText: "Safari on iPhone" });
      await expect(phoneRow).toContainText("Browser · Password");
      await expect(phoneRow).toContainText("last used just now");
      await expect(phoneRow).not.toContainText("This browser");
      await phoneRow.getByRole("button", { name: "Sign out" }).click();
      await expect(page).toHaveURL(/\/profile$/);
      await expect(page.getByTestId("sign-ins")).toContainText("That sign-in was ended.");
      await expect(rows).toHaveCount(1);

      // The activity list shows both sign-ins and the remote sign-out, newest first.
      const activity = page.getByTestId("activity");
      await expect(activity.nth(0)).toContainText("Signed out another device");
      await expect(activity.nth(1)).toContainText("Signed in with a password from Safari on iPhone");
      await expect(activity.nth(2)).toContainText("Signed up and signed in");

      // The phone is signed out on its next page load.
      await phonePage.goto("/profile");
      await expect(phonePage).toHaveURL(/\/signin/);

      // Two more sign-ins, then "Sign out everywhere else".
      await phonePage.goto("/signin");
      await signIn(phonePage, name);
      await expect(phonePage).toHaveURL(/\/profile$/);
      const tablet = await browser.newContext({ javaScriptEnabled });
      const tabletPage = await tablet.newPage();
      await tabletPage.goto("/signin");
      await signIn(tabletPage, name);
      await expect(tabletPage).toHaveURL(/\/profile$/);
      await page.reload();
      await expect(rows).toHaveCount(3);
      await page.getByRole("button", { name: "Sign out everywhere else" }).click();
      await expect(page.getByTestId("sign-ins")).toContainText("2 other sign-ins were ended.");
      await expect(rows).toHaveCount(1);
      for (const other of [phonePage, tabletPage]) {
        await other.goto("/profile");
        await expect(other).toHaveURL(/\/signin/);
      }
      // This browser is still signed in.
      await page.reload();
      await expect(page.getByTestId("profile-username")).toHaveText(name);
      await phone.close();
      await tablet.close();
    });

    test("download your data, then delete your account", async ({ page, browser }) => {
      const name = uniqueName("del");
      await signUp(page, name);
      const other = await browser.newContext({ javaScriptEnabled });
      const otherPage = await other.newPage();
      await otherPage.goto("/signin");
      await signIn(otherPage, name);
      await expect(otherPage).toHaveURL(/\/profile$/);

      // The export is a download of the account's data.
      const response = await page.request.get("/profile/export");
      expect(response.status()).toBe(200);
      expect(response.headers()["content-disposition"]).toContain("attachment");
      const data = await response.json();
      expect(data.user.username).toBe(name);
      expect(data.sign_ins).toHaveLength(2);

      const form = page.getByTestId("delete-form");
      await form.getByLabel("Your password").fill("not-my-password");
      await form.getByRole("button", { name: "Delete my account" }).click();
      await expect(page.getByTestId("your-data")).toContainText("Your password was entered incorrectly.");
      await form.getByLabel("Your password").fill(PASSWORD);
      await form.getByRole("button", { name: "Delete my account" }).click();
      await expect(page).toHaveURL(/\/$/);
      await expect(page.getByTestId("notice")).toContainText("Your account and everything in it were deleted.");
      await expect(page.getByTestId("auth-state")).toHaveText("You are not authenticated.");
      // The other browser is signed out, and the account is gone.
      await otherPage.goto("/profile");
      await expect(otherPage).toHaveURL(/\/signin/);
      await signIn(otherPage, name);
      await expect(otherPage.getByTestId("form-error")).toHaveText(
        "Unable to log in with provided credentials.",
      );
      await other.close();
    });
  });
}
