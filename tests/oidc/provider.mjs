// A real OpenID provider for the single sign-on tests: the certified `oidc-provider` package
// (scripts/bootstrap --dev installs it, pinned, into .oidc/), started by tests/oidc_provider.py.
//
//     node tests/oidc/provider.mjs CONFIG_JSON
//
// CONFIG_JSON: {"port": 4567, "clients": [{client_id, redirect_uris, client_secret?}],
// "accounts": {"<login at the form>": {claims...}}, "claims_in_id_token": false}
// It prints "listening <issuer>" once it answers. PKCE (S256) is required of every client;
// the login form is the package's development form (any password); consent is implied.
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "..", "..", ".oidc", "package.json"));
const { default: Provider } = await import(require.resolve("oidc-provider"));

const config = JSON.parse(process.argv[2]);
const issuer = `http://127.0.0.1:${config.port}`;

const provider = new Provider(issuer, {
  clients: config.clients.map((c) => ({
    client_id: c.client_id,
    ...(c.client_secret
      ? { client_secret: c.client_secret, token_endpoint_auth_method: "client_secret_basic" }
      : { token_endpoint_auth_method: "none" }),
    redirect_uris: c.redirect_uris,
    grant_types: ["authorization_code"],
    response_types: ["code"],
  })),
  pkce: { required: () => true },
  claims: { openid: ["sub"], profile: ["name", "preferred_username", "roles"] },
  // With false, the profile claims ride in the ID token itself; with true (the package's
  // default) only at the userinfo endpoint, where the relying party has to fetch them.
  conformIdTokenClaims: !config.claims_in_id_token,
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ["tests-only-cookie-key"] },
  async findAccount(ctx, id) {
    const claims = config.accounts[id];
    if (!claims) return undefined;
    return { accountId: id, async claims() { return { sub: `sub-${id}`, ...claims }; } };
  },
  // The client is the agency's own: consent is implied (no consent page after the login).
  async loadExistingGrant(ctx) {
    const clientId = ctx.oidc.client.clientId;
    const found = ctx.oidc.session.grantIdFor(clientId);
    if (found) return ctx.oidc.provider.Grant.find(found);
    const grant = new ctx.oidc.provider.Grant({ clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope("openid profile");
    await grant.save();
    return grant;
  },
  renderError(ctx, out) {
    ctx.type = "text/plain";
    ctx.body = `error: ${out.error}: ${out.error_description ?? ""}`;
  },
});
provider.on("server_error", (ctx, error) => console.error("server_error", error));

const server = provider.listen(config.port, "127.0.0.1", () => {
  console.log(`listening ${issuer}`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
