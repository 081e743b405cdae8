// A local OpenAI-compatible chat server for tests (127.0.0.1, a free port): every request's raw body goes to
// `reply`, whose string becomes the assistant message of a chat.completion. The models under test talk to it over
// real HTTP through the `openai` client.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ChatServer {
  /** The base URL to give as CHAT_BASE_URL. */
  baseUrl: string;
  close(): Promise<void>;
}

export async function startChatServer(reply: (rawBody: string) => string): Promise<ChatServer> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const content = reply(body);
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          id: 'x',
          object: 'chat.completion',
          choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
