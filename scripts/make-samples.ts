// Regenerates the bundled sample documents in samples/ (committed, so the demo needs nothing else).
// Run: npx tsx scripts/make-samples.ts
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { makeTextPdf, makeWorkbook } from '../test/support/documents';

const root = path.resolve(__dirname, '..', 'samples');

async function write(rel: string, content: Uint8Array | string): Promise<void> {
  const file = path.join(root, rel);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, content);
}

async function writeAcmeSamples(): Promise<void> {
  await write(
    'acme/employee-handbook.pdf',
    await makeTextPdf(
      [
        [
          'Acme Corporation Employee Handbook',
          'Vacation policy. Full-time employees receive 25 vacation days per calendar year. Unused vacation days may be carried over until March 31 of the following year.',
          'Parental leave. Employees with at least six months of service are entitled to 16 weeks of paid parental leave.',
        ],
        [
          'Expenses and travel',
          'Expense reports must be submitted within 30 days of purchase through the finance portal, with itemised receipts attached.',
          'Hotel stays are reimbursed up to 180 euros per night in major cities and 120 euros per night elsewhere.',
          'Remote work. Employees may work remotely up to three days per week with the agreement of their manager.',
        ],
      ],
      'Acme Employee Handbook',
    ),
  );
  await write(
    'acme/sales-2025.xlsx',
    makeWorkbook(
      {
        Revenue: [
          ['Acme revenue by region, 2025 (thousand euros)', '', '', '', ''],
          ['Region', 'Q1', 'Q2', 'Q3', 'Q4'],
          ['EMEA', 1200, 1350, 1280, 1490],
          ['Americas', 2100, 2240, 2310, 2505],
          ['Asia Pacific', 860, 910, 975, 1020],
        ],
        Headcount: [
          ['Department', 'Employees', 'Open positions'],
          ['Engineering', 142, 12],
          ['Sales', 87, 5],
          ['Support', 45, 3],
        ],
      },
      { Revenue: ['A1:E1'] },
    ),
  );
  await write(
    'acme/it-faq.md',
    [
      '# IT help desk FAQ',
      '',
      'The IT help desk is open Monday to Friday from 8:00 to 18:00 and can be reached at extension 4400.',
      '',
      '## Laptops',
      '',
      'Laptops are replaced every three years. Lost or stolen laptops must be reported to security within 24 hours.',
      '',
    ].join('\n'),
  );
}

async function writeGlobexSamples(): Promise<void> {
  await write(
    'globex/security-policy.md',
    [
      '# Globex information security policy',
      '',
      'Passwords must be at least 14 characters long and are rotated every 90 days.',
      '',
      'Multi-factor authentication is mandatory for all remote access to Globex systems.',
      '',
      'Security incidents must be reported to the security operations centre within one hour of discovery.',
      '',
    ].join('\n'),
  );
  await write(
    'globex/price-list.xlsx',
    makeWorkbook({
      Prices: [
        ['Product', 'Unit price (USD)', 'Minimum order'],
        ['Hyperwidget', 49.5, 10],
        ['Megasprocket', 120, 5],
        ['Quantum gear', 899, 1],
      ],
    }),
  );
  await write(
    'globex/travel-policy.pdf',
    await makeTextPdf(
      [
        [
          'Globex travel policy',
          'Business class travel is permitted only for flights longer than eight hours.',
          'Globex employees receive a daily meal allowance of 65 dollars when travelling.',
        ],
      ],
      'Globex Travel Policy',
    ),
  );
}

/** Golden questions per tenant, for `groundwork eval` and the demo's re-evaluation. */
async function writeGoldenSets(): Promise<void> {
  const golden = {
    acme: [
      {
        question: 'How many vacation days do full-time employees get?',
        expectedDocuments: ['employee-handbook.pdf'],
        expectedAnswerContains: '25',
      },
      {
        question: 'What was the EMEA revenue in Q2?',
        expectedDocuments: ['sales-2025.xlsx'],
        expectedAnswerContains: '1350',
      },
      {
        question: 'How often are laptops replaced?',
        expectedDocuments: ['it-faq.md'],
        expectedAnswerContains: 'three years',
      },
      { question: 'What is the company stock ticker symbol?', expectAnswer: false },
    ],
    globex: [
      {
        question: 'How often are passwords rotated?',
        expectedDocuments: ['security-policy.md'],
        expectedAnswerContains: '90 days',
      },
      {
        question: 'What is the unit price of the Megasprocket?',
        expectedDocuments: ['price-list.xlsx'],
        expectedAnswerContains: '120',
      },
      {
        question: 'What is the daily meal allowance when travelling?',
        expectedDocuments: ['travel-policy.pdf'],
        expectedAnswerContains: '65',
      },
    ],
  };
  for (const [tenant, set] of Object.entries(golden))
    await write(`golden/${tenant}.json`, `${JSON.stringify(set, null, 2)}\n`);
}

async function main(): Promise<void> {
  await writeAcmeSamples();
  await writeGlobexSamples();
  await writeGoldenSets();
  process.stdout.write(`samples written to ${path.relative(process.cwd(), root) || '.'}\n`);
}

void main();
