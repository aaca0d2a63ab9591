// "Where you're signed in": two browsers signed in as one user; the first sees both and
// signs the second out, which finds itself signed out on its next page load. With and
// without JavaScript.
import { test, expect } from "@playwright/test";
import { signIn, signUp, uniqueName } from "../support/flows";

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
  });
}
