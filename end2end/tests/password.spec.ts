import { test, expect, type Page } from "@playwright/test";
import { PASSWORD, signIn, signOut, signUp, uniqueName } from "../support/flows";

const NEW_PASSWORD = "amber-xylophone-77";

async function changePassword(page: Page, current: string, next: string) {
  const form = page.getByTestId("password-form");
  await form.getByLabel("Current password").fill(current);
  await form.getByLabel("New password", { exact: true }).fill(next);
  await form.getByLabel("New password (again)").fill(next);
  await form.getByRole("button", { name: "Change password" }).click();
  await expect(page).toHaveURL(/\/profile$/);
}

for (const javaScriptEnabled of [true, false]) {
  test.describe(javaScriptEnabled ? "with JavaScript" : "without JavaScript", () => {
    test.use({ javaScriptEnabled });

    test("change the password on the profile; other sign-ins end", async ({ page, browser }) => {
      const name = uniqueName("pw");
      await signUp(page, name);

      // A second browser signed in to the same account.
      const other = await browser.newContext({ javaScriptEnabled });
      const otherPage = await other.newPage();
      await otherPage.goto("/signin");
      await signIn(otherPage, name);
      await expect(otherPage).toHaveURL(/\/profile$/);

      await changePassword(page, "not-my-password", NEW_PASSWORD);
      await expect(page.getByTestId("password-form")).toContainText(
        "Your old password was entered incorrectly.",
      );

      await changePassword(page, PASSWORD, NEW_PASSWORD);
      await expect(page.getByText("Your password was changed.")).toBeVisible();
      // This browser stays signed in; the other one is signed out.
      await page.reload();
      await expect(page.getByTestId("profile-username")).toHaveText(name);
      await otherPage.goto("/profile");
      await expect(otherPage).toHaveURL(/\/signin/);
      await other.close();

      await signOut(page);
      await page.goto("/signin");
      await signIn(page, name, PASSWORD);
      await expect(page).toHaveURL(/\/signin/);
      await signIn(page, name, NEW_PASSWORD);
      await expect(page).toHaveURL(/\/profile$/);
    });
  });
}
