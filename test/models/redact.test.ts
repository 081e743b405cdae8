// PII detection and per-request placeholders: each type in a realistic sentence, checksums enforced, and text that
// only looks like PII (order numbers, dates, versions, times, prices) left untouched.
import { Redactor, findPii, ibanValid, luhnValid, piiPolicyFor } from '../../activities/models/redact';
import { ConfigError, loadConfig } from '../../common/config';

const found = (text: string) => findPii(text).map((s) => [s.type, text.slice(s.start, s.end)]);

describe('detects each type in a sentence', () => {
  test.each([
    ['email', 'Write to jane.doe+hr@example.co.uk if in doubt.', 'jane.doe+hr@example.co.uk'],
    ['phone', 'Call +44 20 7946 0958 during office hours.', '+44 20 7946 0958'],
    ['phone', 'Her mobile is +4915123456789.', '+4915123456789'],
    ['phone', 'The US desk answers at (415) 555-0132.', '(415) 555-0132'],
    ['phone', 'The US desk answers at 415-555-0132.', '415-555-0132'],
    ['phone', 'Berlin office: 030 12345678.', '030 12345678'],
    ['phone', 'Tel: 0301234567', '0301234567'],
    ['iban', 'Pay to DE89 3704 0044 0532 0130 00 by Friday.', 'DE89 3704 0044 0532 0130 00'],
    ['iban', 'Pay to GB82WEST12345698765432 by Friday.', 'GB82WEST12345698765432'],
    ['card', 'Charged to 4111 1111 1111 1111 on Monday.', '4111 1111 1111 1111'],
    ['card', 'Charged to 5500-0000-0000-0004.', '5500-0000-0000-0004'],
    ['card', 'Amex 378282246310005 was declined.', '378282246310005'],
    ['ssn', 'SSN on file: 123-45-6789.', '123-45-6789'],
    ['ip', 'The request came from 192.168.10.254.', '192.168.10.254'],
    ['ip', 'The request came from 2001:db8::8a2e:370:7334 today.', '2001:db8::8a2e:370:7334'],
  ])('%s: %s', (type, text, value) => {
    expect(found(text)).toEqual([[type, value]]);
  });

  test('several types in one text, in order', () => {
    expect(found('Mail a@b.io, card 4242424242424242, host 10.0.0.1.').map(([t]) => t)).toEqual([
      'email',
      'card',
      'ip',
    ]);
  });
});

describe('checksums and validity are enforced', () => {
  test.each([
    ['an IBAN with a wrong check digit', 'Pay to DE88 3704 0044 0532 0130 00 by Friday.'],
    ['an IBAN-shaped code with a wrong checksum', 'Ref GB00WEST12345698765432.'],
    ['16 digits failing Luhn', 'Charged to 4111 1111 1111 1112 on Monday.'],
    ['an SSN with area 000', 'Number 000-12-3456.'],
    ['an SSN with area 666', 'Number 666-12-3456.'],
    ['an SSN with area 9xx', 'Number 912-12-3456.'],
    ['an SSN with group 00', 'Number 123-00-3456.'],
    ['an SSN with serial 0000', 'Number 123-45-0000.'],
    ['an IPv4 with an octet above 255', 'Address 192.168.1.300 is invalid.'],
  ])('%s', (_name, text) => {
    expect(findPii(text)).toEqual([]);
  });

  test('Luhn and mod-97 themselves', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(ibanValid('DE89370400440532013000')).toBe(true);
    expect(ibanValid('DE89370400440532013001')).toBe(false);
  });
});

describe('false positives pass untouched', () => {
  const fixtures = [
    'Order 123456789 shipped on 2024-01-15.',
    'Order no. 4500012345 and invoice INV-2024-00017 are attached.',
    'The contract starts 15.01.2024 and ends 01/15/2025.',
    'Dates: 2024-01-15, 15.01.2024, 01/15/2024.',
    'Upgrade from 1.2.3 to v2.10.4 (build 10.0.19041).',
    'Meet at 19:00, or 10:30:45 at the latest.',
    'The price is 1,350.00 EUR, or $12,499.99 with tax.',
    'Figures for 2019–2024 and 2019-2024 are in table 3.',
    'See section 4.2.1 and page 123 of 456.',
    'Tracking 1Z999AA10123456784 left the depot.',
    'Use std::vector and a::b in C++.',
    'Room 101, floor 12, ext. 4567.',
  ];
  test.each(fixtures)('%s', (text) => {
    expect(findPii(text)).toEqual([]);
    expect(new Redactor().redact(text)).toBe(text);
  });
});

describe('Redactor', () => {
  test('the same value gets the same placeholder across texts of one request, others the next number', () => {
    const r = new Redactor();
    const q = r.redact('Is jane@example.com the owner of 4111 1111 1111 1111?');
    const c1 = r.redact('Card 4111111111111111 belongs to JANE@example.com.');
    const c2 = r.redact('Copy bob@example.com and jane@example.com.');
    expect(q).toBe('Is [EMAIL_1] the owner of [CARD_1]?');
    expect(c1).toBe('Card [CARD_1] belongs to [EMAIL_1].');
    expect(c2).toBe('Copy [EMAIL_2] and [EMAIL_1].');
    expect(r.counts()).toEqual({ email: 4, card: 2 });
    expect(JSON.stringify(r.counts())).not.toContain('example');
  });

  test('restore() round-trips and leaves unknown placeholders alone', () => {
    const r = new Redactor();
    const text = 'Mail jane@example.com, call +44 20 7946 0958, SSN 123-45-6789, host 10.1.2.3.';
    const redacted = r.redact(text);
    expect(redacted).toBe('Mail [EMAIL_1], call [PHONE_1], SSN [SSN_1], host [IP_1].');
    expect(r.restore(redacted)).toBe(text);
    expect(r.restore('[EMAIL_9] and [CARD_1]')).toBe('[EMAIL_9] and [CARD_1]');
  });

  test('a new request starts numbering again', () => {
    new Redactor().redact('a@example.com b@example.com');
    expect(new Redactor().redact('c@example.com')).toBe('[EMAIL_1]');
  });
});

test('policy per tenant, else the default, else redact', () => {
  const settings = { policy: 'allow' as const, tenantPolicy: { beta: 'block' as const } };
  expect(piiPolicyFor('beta', settings)).toBe('block');
  expect(piiPolicyFor('acme', settings)).toBe('allow');
  expect(piiPolicyFor(undefined, settings)).toBe('allow');
  expect(piiPolicyFor('acme')).toBe('redact');
});

describe('configuration', () => {
  const answers = (env: NodeJS.ProcessEnv) => loadConfig({ OPENAI_API_KEY: 'sk-x', ...env }).models.answers;

  test('unset: no policy configured, so the answerer redacts', () => {
    expect(answers({})).toMatchObject({ piiPolicy: undefined, tenantPiiPolicy: undefined });
  });

  test('a default and per-tenant policies reach the answers config', () => {
    expect(
      answers({ GROUNDWORK_PII_POLICY: 'allow', GROUNDWORK_TENANT_PII_POLICY: 'acme=allow, beta=block' }),
    ).toMatchObject({ piiPolicy: 'allow', tenantPiiPolicy: { acme: 'allow', beta: 'block' } });
  });

  test.each([
    ['GROUNDWORK_PII_POLICY', 'mask'],
    ['GROUNDWORK_TENANT_PII_POLICY', 'acme=mask'],
    ['GROUNDWORK_TENANT_PII_POLICY', 'acme'],
  ])('%s=%s is refused, naming the variable', (name, value) => {
    expect(() => answers({ [name]: value })).toThrow(ConfigError);
    expect(() => answers({ [name]: value })).toThrow(name);
  });
});
