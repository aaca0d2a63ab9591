// The staff pages: a superuser finds a user by e-mail address, ends their sign-in (the
// user's other browser is signed out on its next page), deactivates them, and the user
// cannot sign in; the security activity shows it, naming the administrator. Everyone else
// gets the ordinary 404 page at /admin. With and without JavaScript.
import { test, expect } from "@playwright/test";
import { PASSWORD, signIn, signUp, uniqueName } from "../support/flows";
import { startServer, type RunningServer } from "../support/server";

for (const javaScriptEnabled of [true, false]) {
  test.describe(javaScriptEnabled ? "with JavaScript" : "without JavaScript", () => {
    test.use({ javaScriptEnabled });

    let server: RunningServer;
    let root: string;
    test.beforeAll(async () => {
      server = await startServer();
      root = uniqueName("root");
      const made = server.command(
        ["createsuperuser", "--noinput", "--username", root, "--email", `${root}@example.com`],
        { SUPERUSER_PASSWORD: PASSWORD },
      );
      expect(made.status, made.output).toBe(0);
    });
    test.afterAll(async () => {
      await server.stop();
    });

    test("a superuser finds a user, ends their sign-in and deactivates them", async ({ browser }) => {
      const base = server.baseURL;
      const name = uniqueName("member");
      const email = `${name}@example.com`;

      // The member, signed in; /admin is the ordinary 404 page for them.
      const member = await browser.newContext({ javaScriptEnabled, baseURL: base });
      const memberPage = await member.newPage();
      await signUp(memberPage, name, email);
      const res = await memberPage.goto("/admin/users");
      expect(res?.status()).toBe(404);
      await expect(memberPage.getByRole("heading", { name: "Page not found" })).toBeVisible();
      await expect(memberPage.getByTestId("nav-admin")).toHaveCount(0);
      await memberPage.goto("/profile");

      // The superuser signs in and finds them by address.
      const staff = await browser.newContext({ javaScriptEnabled, baseURL: base });
      const page = await staff.newPage();
      await page.goto("/signin");
      await signIn(page, root);
      await expect(page).toHaveURL(/\/profile$/);
      await page.getByTestId("nav-admin").click();
      await expect(page).toHaveURL(/\/admin$/);
      await page.getByRole("navigation", { name: "Administration" }).getByRole("link", { name: "Users" }).click();
      await page.getByLabel("Search").fill(email.toUpperCase());
      await page.getByRole("button", { name: "Search" }).click();
      const rows = page.getByTestId("user-row");
      await expect(rows).toHaveCount(1);
      await expect(rows.first()).toContainText(email);
      await rows.first().getByRole("link", { name }).click();
      await expect(page.getByTestId("admin-user-name")).toHaveText(name);

      // End the member's sign-in: their browser is signed out on its next page.
      const signIns = page.getByTestId("admin-sign-in");
      await expect(signIns).toHaveCount(1);
      await signIns.first().getByRole("button", { name: "End" }).click();
      await expect(page.getByTestId("admin-sign-ins")).toContainText("That sign-in was ended.");
      await expect(signIns).toHaveCount(0);
      await memberPage.goto("/profile");
      await expect(memberPage).toHaveURL(/\/signin/);

      // The member signs in again; the superuser deactivates the account.
      await signIn(memberPage, name);
      await expect(memberPage).toHaveURL(/\/profile$/);
      await page.reload();
      await expect(signIns).toHaveCount(1);
      await page.getByTestId("admin-active-form").getByRole("button", { name: "Deactivate the account" }).click();
      await expect(page.getByTestId("admin-account-actions")).toContainText("The account was deactivated");
      await expect(page.getByTestId("badge-inactive")).toBeVisible();
      await expect(signIns).toHaveCount(0);

      // Signed out at once, and no way back in.
      await memberPage.goto("/profile");
      await expect(memberPage).toHaveURL(/\/signin/);
      await signIn(memberPage, name);
      await expect(memberPage.getByTestId("form-error")).toBeVisible();
      await expect(memberPage).toHaveURL(/\/signin/);

      // Every action is on the record, naming the administrator.
      const activity = page.getByTestId("admin-event");
      await expect(activity.nth(0)).toContainText(`An administrator deactivated the account (by ${root}`);
      await expect(activity.nth(1)).toContainText("Signed in with a password");
      await expect(activity.nth(2)).toContainText(`An administrator ended a sign-in (by ${root}`);

      // The security activity page, filtered to the account, and its chart.
      await page.getByRole("link", { name: "All of this account's activity" }).click();
      await expect(page.getByTestId("event-row").first()).toContainText("deactivated");
      await expect(page.getByTestId("chart-hour")).toHaveCount(24);
      await page.getByLabel("Kind").selectOption("sign_in_failed");
      await page.getByRole("button", { name: "Filter" }).click();
      await expect(page.getByTestId("event-row")).toHaveCount(1);
      await expect(page.getByTestId("event-row").first()).toContainText("the account is deactivated");

      // The list shows the account as deactivated.
      await page.goto(`/admin/users?q=${encodeURIComponent(name)}&active=no`);
      await expect(page.getByTestId("user-row")).toHaveCount(1);
      await expect(page.getByTestId("user-row").first()).toContainText("Deactivated");

      // On a phone the tables become labelled rows: nothing wider than the screen.
      await page.setViewportSize({ width: 375, height: 740 });
      for (const path of ["/admin/users", "/admin/activity", "/admin/users?sort=last_login"]) {
        await page.goto(path);
        const overflow = await page.evaluate(
          () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
        );
        expect(overflow, path).toBeLessThanOrEqual(0);
      }
      await page.goto("/admin/users");
      await expect(page.getByTestId("user-row").first().locator("td").first()).toHaveCSS("display", "grid");

      await member.close();
      await staff.close();
    });
  });
}
