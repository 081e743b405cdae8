// Tokens from the company's identity provider: signature (its JWKS URL, or one public key), issuer, audience and
// expiry checked by jose; the tenant, roles and subject read from the configured claims.
import { createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { createRemoteJWKSet, errors, importJWK, jwtVerify } from 'jose';
import type { JWK, JWTPayload, JWTVerifyGetKey, KeyLike } from 'jose';
import type { Config } from '../../common/config';
import { GroundworkError } from '../../common/errors';
import { AuthError } from './errors';
import { ALL_TENANTS, ROLES, isTenantScope } from './roles';
import type { Principal, Role } from './roles';

export type JwtSettings = NonNullable<Config['security']['jwt']>;

const RSA = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
const EC = ['ES256', 'ES384', 'ES512'];
/** Asymmetric algorithms only: no `none`, no shared-secret HMAC that a leaked verifier key could forge. */
const ASYMMETRIC = [...RSA, ...EC, 'EdDSA'];

export interface JwtVerifier {
  verify(token: string): Promise<Principal>;
}

/** Roles from a claim that is an array of names or one string of names separated by spaces or commas. */
export function rolesFromClaim(value: unknown): Role[] {
  const names = Array.isArray(value) ? value : typeof value === 'string' ? value.split(/[\s,]+/) : [];
  return ROLES.filter((role) => names.includes(role));
}

/** The principal a verified token stands for; a token without subject or with an unusable tenant is refused. */
export function principalFromClaims(payload: JWTPayload, settings: JwtSettings): Principal {
  if (typeof payload.sub !== 'string' || payload.sub.trim() === '')
    throw new AuthError('The token has no subject (sub).');
  const tenant = payload[settings.tenantClaim];
  if (typeof tenant !== 'string' || !isTenantScope(tenant))
    throw new AuthError(`The token's ${settings.tenantClaim} claim is missing or not a tenant id.`);
  const roles = rolesFromClaim(payload[settings.rolesClaim]);
  if (tenant === ALL_TENANTS && !roles.includes('admin'))
    throw new AuthError('Only admin tokens may be for all tenants (*).');
  return { kind: 'jwt', id: `jwt:${payload.iss ?? ''}:${payload.sub}`, subject: payload.sub, tenant, roles };
}

async function staticKey(publicKey: string): Promise<{ key: KeyLike | Uint8Array; algorithms: string[] }> {
  const text = publicKey.trim();
  if (text.startsWith('{')) {
    const jwk = JSON.parse(text) as JWK;
    const algorithms = jwk.alg ? [jwk.alg] : jwk.kty === 'RSA' ? RSA : jwk.kty === 'EC' ? EC : ['EdDSA'];
    return { key: await importJWK(jwk, algorithms[0]), algorithms: algorithms.filter((a) => ASYMMETRIC.includes(a)) };
  }
  // Environment variables often carry PEM with literal "\n".
  const key: KeyObject = createPublicKey(text.replace(/\\n/g, '\n'));
  const type = key.asymmetricKeyType;
  const algorithms =
    type === 'rsa' ? RSA : type === 'rsa-pss' ? RSA.filter((a) => a.startsWith('PS')) : type === 'ec' ? EC : ['EdDSA'];
  return { key, algorithms };
}

/** Builds the verifier; a configured public key that cannot be read fails here, at start, not on the first request. */
export async function createJwtVerifier(settings: JwtSettings): Promise<JwtVerifier> {
  const remote: JWTVerifyGetKey | undefined = settings.jwksUrl
    ? createRemoteJWKSet(new URL(settings.jwksUrl), { timeoutDuration: 5000, cooldownDuration: 30_000 })
    : undefined;
  let local: { key: KeyLike | Uint8Array; algorithms: string[] } | undefined;
  if (!remote && settings.publicKey) {
    try {
      local = await staticKey(settings.publicKey);
    } catch {
      throw new GroundworkError(
        'CONFIG_INVALID',
        'GROUNDWORK_JWT_PUBLIC_KEY is not a PEM public key (SPKI or certificate) or a public JWK.',
      );
    }
  }
  const options = { issuer: settings.issuer, audience: settings.audience, clockTolerance: 5 };

  return {
    async verify(token: string): Promise<Principal> {
      let payload: JWTPayload;
      try {
        if (remote) payload = (await jwtVerify(token, remote, { ...options, algorithms: ASYMMETRIC })).payload;
        else if (local)
          payload = (await jwtVerify(token, local.key, { ...options, algorithms: local.algorithms })).payload;
        else throw new AuthError('Tokens are not accepted: no identity provider is configured.');
      } catch (err) {
        throw refusal(err, remote !== undefined);
      }
      return principalFromClaims(payload, settings);
    },
  };
}

/** A jose error as a 401 with a reason; failing to fetch the provider's keys is ours, not the caller's: 503. */
function refusal(err: unknown, remote: boolean): AuthError {
  if (err instanceof AuthError) return err;
  if (err instanceof errors.JWTExpired) return new AuthError('The token has expired.');
  if (err instanceof errors.JWTClaimValidationFailed)
    return new AuthError(`The token's ${err.claim} claim is not accepted.`);
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid)
    return new AuthError("The identity provider's keys cannot be fetched.", 503);
  if (err instanceof errors.JOSEError && err.code !== 'ERR_JOSE_GENERIC')
    return new AuthError('The token is not valid.');
  // A generic JOSEError or a socket error comes from fetching the JWKS.
  if (remote) return new AuthError("The identity provider's keys cannot be fetched.", 503);
  return new AuthError('The token is not valid.');
}
