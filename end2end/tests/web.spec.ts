import { test, expect } from "@playwright/test";
import {
  PASSWORD,
  islandsReady,
  signIn,
  signOut,
  signUp,
  uniqueName,
  userDetails,
} from "../support/flows";

test.describe("with JavaScript", () => {
  test("sign up, sign out, sign in: the profile shows the right data", async ({ page }) => {
    const name = uniqueName("ada");
    const email = `${name}@example.com`;
    await page.goto("/");
    await expect(page.getByTestId("auth-state")).toHaveText("You are not authenticated.");
    await page.getByRole("main").getByRole("link", { name: "Sign up" }).click();
    await expect(page).toHaveURL(/\/signup$/);
    await signUp(page, name, email);

    await expect(page.getByTestId("profile-email")).toHaveText(email);
    await expect(page.getByTestId("profile-pk")).toHaveText(/^\d+$/);
    await expect(page.getByTestId("nav-user")).toHaveText(name);
    await signOut(page);
    await expect(page.getByTestId("notice")).toHaveText("You have signed out.");

    await page.getByRole("main").getByRole("link", { name: "Sign in" }).click();
    await signIn(page, email);
    await expect(page).toHaveURL(/\/profile$/);
    await expect(page.getByTestId("profile-username")).toHaveText(name);
  });

  test("the user details buttons call the API with and without the token", async ({ page }) => {
    const name = uniqueName("grace");
    await signUp(page, name);
    await expect(page.getByTestId("profile-email")).toHaveText("Not provided");
    await islandsReady(page);

    const withToken = await userDetails(page, true);
    expect(withToken).toContain("HTTP 200");
    const pk = await page.getByTestId("profile-pk").textContent();
    expect(JSON.parse(withToken.split("\n").slice(1).join("\n"))).toEqual({
      pk: Number(pk),
      username: name,
      email: "",
      first_name: "",
      last_name: "",
    });

    const without = await userDetails(page, false);
    expect(without).toContain("HTTP 401");
    expect(without).toContain("Authentication credentials were not provided.");
  });

  test("editing the profile persists and bad input is explained", async ({ page }) => {
    const name = uniqueName("lin");
    await signUp(page, name);
    await page.getByLabel("First name").fill("Ada");
    await page.getByLabel("Last name").fill("Lovelace");
    await page.getByRole("button", { name: "Save" }).click();
    await expect(page.getByTestId("form-notice")).toHaveText("Your profile was saved.");
    await page.reload();
    await expect(page.getByTestId("profile-first-name")).toHaveText("Ada");
    await expect(page.getByTestId("profile-last-name")).toHaveText("Lovelace");

    await page.getByLabel("Username").fill("no spaces allowed");
    await page.getByRole("button", { name: "Save" }).click();
    await expect(page.getByTestId("error-username")).toContainText("Enter a valid username.");
    await expect(page.getByLabel("Username")).toHaveValue("no spaces allowed");
    await expect(page.getByLabel("Username")).toHaveAttribute("aria-invalid", "true");
    await expect(page.getByTestId("profile-username")).toHaveText(name);
  });

  test("a protected page sends you to sign in and back", async ({ page }) => {
    const name = uniqueName("kay");
    await signUp(page, name);
    await signOut(page);
    await page.goto("/profile?tab=security");
    await expect(page).toHaveURL(/\/signin\?next=\/profile%3Ftab%3Dsecurity$/);
    await signIn(page, name);
    await expect(page).toHaveURL(/\/profile\?tab=security$/);
  });

  test("open redirects stay on this site", async ({ page, baseURL }) => {
    const name = uniqueName("eve");
    await signUp(page, name);
    await signOut(page);
    for (const next of ["//evil.com", "https://evil.com", "/\\evil.com"]) {
      await page.goto(`/signin?next=${encodeURIComponent(next)}`);
      await signIn(page, name);
      await expect(page).toHaveURL(`${baseURL}/profile`);
      await signOut(page);
    }
  });

  test("wrong credentials come back in words, username kept, password not", async ({ page }) => {
    const name = uniqueName("bob");
    await signUp(page, name);
    await signOut(page);
    await page.goto("/signin");
    await signIn(page, name, "not-my-password");
    await expect(page.getByTestId("form-error")).toHaveText(
      "Unable to log in with provided credentials.",
    );
    await expect(page.getByLabel("Username or email")).toHaveValue(name);
    await expect(page.getByLabel("Password")).toHaveValue("");
  });

  test("sign-up errors are shown field by field", async ({ page }) => {
    await page.goto("/signup");
    await page.getByLabel("Username").fill("bad name");
    await page.getByLabel("Email").fill("someone@example");
    await page.getByLabel("Password", { exact: true }).fill("12345678");
    await page.getByLabel("Confirm password").fill("12345678");
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByTestId("error-username")).toContainText("Enter a valid username.");
    await expect(page.getByTestId("error-email")).toHaveText("Enter a valid email address.");
    await expect(page.getByTestId("error-password1")).toContainText(
      "This password is entirely numeric.",
    );
    await expect(page.getByLabel("Username")).toHaveValue("bad name");
    await expect(page.getByLabel("Password", { exact: true })).toHaveValue("");
  });

  test("buttons show a pending state while the form is on its way", async ({ page }) => {
    const name = uniqueName("pat");
    await signUp(page, name);
    await signOut(page);
    await page.goto("/signin");
    await expect(page.locator("button[data-ready]")).toHaveCount(1);
    // Playwright cannot query a page whose navigation is under way, so the page reports
    // its button's changes itself, and the form's request is held back a little.
    const states: string[] = [];
    page.on("console", (m) => m.text().startsWith("button:") && states.push(m.text()));
    await page.evaluate(() => {
      const button = document.querySelector("form[data-testid=signin-form] button")!;
      new MutationObserver(() =>
        console.log(
          `button: ${button.textContent} busy=${button.getAttribute("aria-busy")} ` +
            `disabled=${(button as HTMLButtonElement).disabled}`,
        ),
      ).observe(button, { attributes: true, childList: true, subtree: true, characterData: true });
    });
    await page.route("**/signin", async (route) => {
      if (route.request().method() === "POST") await new Promise((r) => setTimeout(r, 700));
      await route.continue();
    });
    await page.getByLabel("Username or email").fill(name);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(/\/profile$/);
    expect(states).toContain("button: Signing in… busy=true disabled=true");
  });

  test("works at phone width", async ({ page }) => {
    await page.setViewportSize({ width: 360, height: 740 });
    for (const path of ["/", "/signin", "/signup"]) {
      await page.goto(path);
      const overflow = await page.evaluate(
        () => document.documentElement.scrollWidth - window.innerWidth,
      );
      expect(overflow, path).toBeLessThanOrEqual(0);
    }
    await signUp(page, uniqueName("tiny"));
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - window.innerWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
  });
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("sign up, sign out and sign in work as plain forms", async ({ page }) => {
    const name = uniqueName("nojs");
    await signUp(page, name);
    await signOut(page);
    await page.goto("/profile");
    await expect(page).toHaveURL(/\/signin\?next=\/profile$/);
    await signIn(page, name, "wrong-password-here");
    await expect(page.getByTestId("form-error")).toHaveText(
      "Unable to log in with provided credentials.",
    );
    await expect(page.getByLabel("Username or email")).toHaveValue(name);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(/\/profile$/);
    await expect(page.getByTestId("profile-username")).toHaveText(name);
    await page.getByLabel("First name").fill("Plain");
    await page.getByRole("button", { name: "Save" }).click();
    await expect(page.getByTestId("profile-first-name")).toHaveText("Plain");
    await signOut(page);
  });

  test("sign-up validation works without JavaScript", async ({ page }) => {
    await page.goto("/signup");
    await page.getByLabel("Username").fill(uniqueName("nojsv"));
    await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await page.getByLabel("Confirm password").fill(`${PASSWORD}x`);
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByTestId("form-error")).toContainText(
      "The two password fields didn't match.",
    );
  });
});
