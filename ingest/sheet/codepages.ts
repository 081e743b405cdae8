// SheetJS's codepage tables, loaded when a file first needs them. xlsx.js loads its 560 KB codepage module
// (dist/cpexcel.js) as it loads, unless a global `cptable` already exists: that module took 85 of xlsx's 115 ms of
// loading, paid by every parse child, while only legacy files need it (XLS strings in a non-Unicode codepage, DBF,
// SYLK). So this module, imported before xlsx, defines `cptable` as a stand-in that loads the real tables at first
// use and forwards to them. Where a `cptable` exists already, it is left alone.
import path from 'node:path';

type Tables = Record<PropertyKey, unknown>;

let tables: Tables | undefined;
function load(): Tables {
  // The file sits beside xlsx's entry (the package declares no exports map that would hide it).
  tables ??= require(path.join(path.dirname(require.resolve('xlsx')), 'dist', 'cpexcel.js')) as Tables;
  return tables;
}

/** Whether the codepage tables have been loaded in this process (for tests). */
export const codepagesLoaded = (): boolean => tables !== undefined;

const scope = globalThis as { cptable?: unknown };
if (scope.cptable === undefined) {
  scope.cptable = new Proxy({} as Tables, {
    get: (_target, key) => load()[key],
    has: (_target, key) => key in load(),
    ownKeys: () => Reflect.ownKeys(load()),
    getOwnPropertyDescriptor: (_target, key) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(load(), key);
      // A proxy may only report a property as configurable when its target holds it so.
      return descriptor ? { ...descriptor, configurable: true } : undefined;
    },
  });
}
