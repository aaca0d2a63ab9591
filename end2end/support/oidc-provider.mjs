// A real OpenID Connect provider for the browser tests: the certified `oidc-provider`
// package with one confidential client (PKCE required) and any-login accounts, using its
// development login and consent pages. Whoever logs in as "x" is the account "x", with the
// verified email x@example.com.
//
//   PORT=4000 REDIRECT_URI=http://127.0.0.1:3000/auth/testidp/callback node oidc-provider.mjs
import Provider from "oidc-provider";

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: process.env.CLIENT_ID ?? "las-e2e",
      client_secret: process.env.CLIENT_SECRET ?? "las-e2e-secret",
      redirect_uris: [process.env.REDIRECT_URI],
      grant_types: ["authorization_code"],
      response_types: ["code"],
    },
  ],
  pkce: { required: () => true },
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["name", "given_name", "family_name", "preferred_username"],
  },
  // The default, conformant behaviour: with an access token issued, the email and profile
  // claims are served by UserInfo, not put in the ID token; the app must fetch them.
  cookies: { keys: ["leptos-auth-starter e2e cookie key"] },
  findAccount: async (_ctx, id) => ({
    accountId: id,
    claims: async () => ({
      sub: id,
      email: `${id}@example.com`,
      email_verified: true,
      preferred_username: id,
      given_name: "E2E",
      family_name: "Person",
      name: "E2E Person",
    }),
  }),
});
provider.proxy = false;

provider.listen(port, "127.0.0.1", () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
