// A page on another site that posts to our forms: refused, and nothing changes.
import { test, expect } from "@playwright/test";
import { createServer, type Server } from "node:http";
import { freePort } from "../support/server";
import { signUp, uniqueName } from "../support/flows";

let attacker: Server;
let attackerURL: string;

test.beforeAll(async ({}, testInfo) => {
  const target = testInfo.project.use.baseURL ?? process.env.E2E_BASE_URL!;
  const port = await freePort();
  // `localhost` is a different site from `127.0.0.1`, where the app runs.
  attackerURL = `http://localhost:${port}`;
  attacker = createServer((req, res) => {
    const [action, field] =
      req.url === "/edit" ? ["/profile", '<input name="first_name" value="Pwned">'] : ["/signout", ""];
    res.writeHead(200, { "content-type": "text/html" });
    res.end(
      `<form id="f" method="post" action="${target}${action}">${field}</form>` +
        `<script>document.getElementById("f").submit()</script>`,
    );
  });
  await new Promise<void>((resolve) => attacker.listen(port, "localhost", resolve));
});

test.afterAll(() => attacker?.close());

test("cross-site posts to sign-out and profile edit are refused", async ({ page }) => {
  const name = uniqueName("victim");
  await signUp(page, name);

  for (const path of ["/signout", "/edit"]) {
    const refused = page.waitForResponse((r) => r.request().method() === "POST");
    await page.goto(`${attackerURL}${path}`);
    const response = await refused;
    expect(response.status(), path).toBe(403);
    await expect(page.locator("body")).toContainText("Cross-site request refused");
  }

  await page.goto("/profile");
  await expect(page).toHaveURL(/\/profile$/);
  await expect(page.getByTestId("profile-username")).toHaveText(name);
  await expect(page.getByTestId("profile-first-name")).not.toHaveText("Pwned");
});
