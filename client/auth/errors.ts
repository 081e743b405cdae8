// Why a credential was not accepted: 401 (none, malformed, invalid, expired, revoked), or 503 when the identity
// provider's keys cannot be fetched. Messages never quote the credential.
import { GroundworkError } from '../../common/errors';

export class AuthError extends GroundworkError {
  override readonly name = 'AuthError';
  constructor(
    message: string,
    readonly status: 401 | 503 = 401,
  ) {
    super(status === 401 ? 'UNAUTHENTICATED' : 'AUTH_UNAVAILABLE', message, { retryable: status === 503 });
  }
}
