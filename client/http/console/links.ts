// The review console's address for links: GROUNDWORK_REVIEW_CONSOLE_URL, else this server as the request reached it.
import type { IncomingMessage } from 'node:http';
import type { Config } from '../../../common/config';

const HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

export function consoleUrlFor(config: Config, req?: IncomingMessage): string {
  if (config.review.consoleUrl) return config.review.consoleUrl;
  const host = req?.headers.host;
  // Only a plain host[:port] is echoed back into a link.
  if (host && HOST.test(host)) return `http://${host}/console/`;
  return config.review.fallbackConsoleUrl;
}
