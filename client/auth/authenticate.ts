// From an Authorization header to a principal: `Bearer gw_…` is an API key from the key store, any other bearer
// token a JWT of the configured identity provider.
import { AuthError } from './errors';
import { createJwtVerifier } from './jwt';
import type { JwtSettings, JwtVerifier } from './jwt';
import { looksLikeApiKey, principalForKey } from './key-store';
import type { KeyStore } from './key-store';
import type { Principal } from './roles';

const MAX_TOKEN_LENGTH = 8192;

export interface Authenticator {
  /** The caller's principal; undefined without an Authorization header; AuthError for a credential not accepted. */
  authenticate(authorization: string | undefined): Promise<Principal | undefined>;
}

export async function createAuthenticator(options: { keys: KeyStore; jwt?: JwtSettings }): Promise<Authenticator> {
  const jwt: JwtVerifier | undefined = options.jwt ? await createJwtVerifier(options.jwt) : undefined;
  return {
    async authenticate(authorization) {
      if (authorization === undefined || authorization.trim() === '') return undefined;
      const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
      if (!m || (m[1] as string).length > MAX_TOKEN_LENGTH)
        throw new AuthError('Send the credential as "Authorization: Bearer <API key or token>".');
      const token = m[1] as string;
      if (looksLikeApiKey(token)) {
        const key = await options.keys.verify(token);
        if (!key) throw new AuthError('The API key is not valid or has been revoked.');
        return principalForKey(key);
      }
      if (!jwt)
        throw new AuthError('The credential is not a Groundwork API key, and no identity provider is configured.');
      return jwt.verify(token);
    },
  };
}
