// local-mesh's bad-usage error is the shared one (lib/errors.ts): exit 2, and the CLI prints its usage.
export { exitCodeOf, UsageError } from '../../lib/errors.ts';
