// Environment configuration for the demo programs. Every variable is read once at start-up and a
// bad value is reported as ONE line naming the variable and the value, so `kubectl logs` (or a
// terminal) says exactly what to fix; the program then exits 2.
//
// An empty variable counts as unset: manifests and shells often set `X=` to mean "default".

import { UsageError } from './errors.ts';

export type Env = Record<string, string | undefined>;

/** A bad setting (env, config file, manifest given to the proxy): one line, exit 2 (lib/errors.ts). */
export class ConfigError extends UsageError {
  override name = 'ConfigError';
}

function raw(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

function fail(name: string, wanted: string, got: string): never {
  throw new ConfigError(`${name} must be ${wanted}, got ${JSON.stringify(got)}`);
}

export interface NumberSpec {
  /** Whole numbers only (ports, milliseconds, counts). */
  integer?: boolean;
  /** Inclusive bounds. */
  min?: number;
  max?: number;
  /** Exclusive lower bound ("> 0"). */
  above?: number;
}

function describe(spec: NumberSpec): string {
  const kind = spec.integer ? 'a whole number' : 'a number';
  if (spec.min !== undefined && spec.max !== undefined) return `${kind} from ${spec.min} to ${spec.max}`;
  if (spec.above !== undefined) return `${kind} > ${spec.above}`;
  if (spec.min !== undefined) return `${kind} >= ${spec.min}`;
  if (spec.max !== undefined) return `${kind} <= ${spec.max}`;
  return kind;
}

/** A number within `spec`, or `fallback` when unset (undefined fallback: optional variable). */
export function numberVar(env: Env, name: string, spec: NumberSpec, fallback: number): number;
export function numberVar(env: Env, name: string, spec: NumberSpec, fallback?: undefined): number | undefined;
export function numberVar(env: Env, name: string, spec: NumberSpec, fallback?: number): number | undefined {
  const v = raw(env, name);
  if (v === undefined) return fallback;
  // Number('') and Number('0x10') are too forgiving for config: accept plain decimals only.
  const n = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v) ? Number(v) : NaN;
  const ok =
    Number.isFinite(n) &&
    (!spec.integer || Number.isInteger(n)) &&
    (spec.min === undefined || n >= spec.min) &&
    (spec.max === undefined || n <= spec.max) &&
    (spec.above === undefined || n > spec.above);
  if (!ok) fail(name, describe(spec), v);
  return n;
}

/** One of `choices` (exact spelling), or `fallback` when unset. */
export function oneOfVar<T extends string>(env: Env, name: string, choices: readonly T[], fallback: T): T {
  const v = raw(env, name);
  if (v === undefined) return fallback;
  if (!(choices as readonly string[]).includes(v)) fail(name, `one of ${choices.join(', ')}`, v);
  return v as T;
}

/** A string `pattern` accepts (described as `wanted` in the error), or `fallback` when unset. */
export function stringVar(env: Env, name: string, fallback: string, pattern?: RegExp | ((v: string) => boolean), wanted?: string): string;
export function stringVar(env: Env, name: string, fallback?: undefined, pattern?: RegExp | ((v: string) => boolean), wanted?: string): string | undefined;
export function stringVar(env: Env, name: string, fallback?: string, pattern?: RegExp | ((v: string) => boolean), wanted = `text matching ${pattern}`): string | undefined {
  const v = raw(env, name);
  if (v === undefined) return fallback;
  const ok = pattern === undefined || (typeof pattern === 'function' ? pattern(v) : pattern.test(v));
  if (!ok) fail(name, wanted, v);
  return v;
}

/**
 * Run `read` and return its result; on a ConfigError print `program: message` on stderr and
 * exit 2 (the documented "bad configuration" code). Other errors are not caught.
 */
export function readConfigOrExit<T>(program: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${program}: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
