// The OpenID provider the integration tests sign in through: `oidc-provider` (OpenID
// Certified) on loopback, with its development sign-in page (any login, any password) and one
// client, the desk under test. Started by tests/it/support/oidc.rs; prints {"issuer": ...} on
// its first line once it listens, and ends when its standard input closes.
//
// The login typed on its sign-in page is the account: an email, then words that shape the
// ID token the desk receives:
//   unverified         email_verified is false
//   groups=a,b         the `groups` claim lists a and b
//   name=Pat_Doe       the `name` claim ("Pat Doe")
//   expired            the ID token expired ten minutes ago (signed with the real key)
//   otheraud           the ID token is issued to another application (signed with the real key)
//   othernonce         the ID token carries another sign-in's nonce (signed with the real key)
//   otherissuer        the ID token names another issuer (signed with the real key)
//   forged             the ID token is signed with a key that is not the provider's
//
// GET /test/last-callback answers the last address it sent a browser back to the desk with.
//
// Environment: REDIRECT_URI and POST_LOGOUT_REDIRECT_URI (the desk's), CLIENT_ID,
// CLIENT_SECRET, PORT (0: any), KEY_ID (the signing key's id: a new id is a rotated key).

import { createServer } from 'node:http';
import * as jose from 'jose';
import Provider from 'oidc-provider';

const env = (name, fallback) => process.env[name] ?? fallback;
const keyId = env('KEY_ID', 'key-1');

function parseLogin(login) {
  const [email, ...words] = String(login).trim().split(/\s+/);
  const flags = {};
  for (const word of words) {
    const [k, v] = word.split('=');
    flags[k] = v ?? true;
  }
  return { email, flags };
}

const signing = await jose.generateKeyPair('RS256', { extractable: true });
const impostor = await jose.generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await jose.exportJWK(signing.privateKey)), kid: keyId, alg: 'RS256', use: 'sig' };

let handler = (req, res) => { res.statusCode = 503; res.end(); };
// The last address the provider sent a browser back to the desk with (a test replays it).
let lastCallback = '';
const server = createServer((req, res) => {
  if (req.url === '/test/last-callback') {
    res.setHeader('content-type', 'text/plain');
    res.end(lastCallback);
    return;
  }
  handler(req, res);
});
await new Promise((resolve) => server.listen(Number(env('PORT', '0')), '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: env('CLIENT_ID', 'offboarding-desk'),
    client_secret: env('CLIENT_SECRET', 'test-secret'),
    redirect_uris: [env('REDIRECT_URI')],
    post_logout_redirect_uris: [env('POST_LOGOUT_REDIRECT_URI')],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [jwk] },
  cookies: { keys: ['test-provider-cookie-key'] },
  pkce: { required: () => true },
  // The claims the scopes carry go in the ID token itself, as Google's and Entra's do.
  conformIdTokenClaims: false,
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'groups'],
  },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  async findAccount(ctx, sub) {
    const { email, flags } = parseLogin(sub);
    return {
      accountId: sub,
      async claims() {
        return {
          sub,
          email,
          email_verified: !flags.unverified,
          name: flags.name ? flags.name.replace(/_/g, ' ') : email.split('@')[0],
          groups: flags.groups ? flags.groups.split(',') : [],
        };
      },
    };
  },
  // A first-party application: no consent screen (the grant is made at once).
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile');
    grant.addOIDCClaims(['email', 'email_verified', 'name', 'groups']);
    await grant.save();
    return grant;
  },
});

// The bad ID tokens a test asks for by its login's words: the provider's own token, changed
// and signed again after the provider answered.
provider.use(async (ctx, next) => {
  await next();
  const location = ctx.response.get('location');
  if (location && location.startsWith(env('REDIRECT_URI'))) lastCallback = location;
});

provider.use(async (ctx, next) => {
  await next();
  if (ctx.path !== '/token' || !ctx.body || !ctx.body.id_token) return;
  const claims = jose.decodeJwt(ctx.body.id_token);
  const { flags } = parseLogin(claims.sub);
  let key = signing.privateKey;
  if (flags.expired) {
    const now = Math.floor(Date.now() / 1000);
    claims.iat = now - 1200;
    claims.exp = now - 600;
  } else if (flags.otheraud) {
    claims.aud = 'another-application';
  } else if (flags.othernonce) {
    claims.nonce = 'a-nonce-of-another-sign-in';
  } else if (flags.otherissuer) {
    claims.iss = 'https://impostor.example';
  } else if (flags.forged) {
    key = impostor.privateKey;
  } else {
    return;
  }
  ctx.body = {
    ...ctx.body,
    id_token: await new jose.SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: keyId })
      .sign(key),
  };
});

handler = provider.callback();
process.stdout.write(`${JSON.stringify({ issuer })}\n`);
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
