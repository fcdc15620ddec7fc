// ESM entry: the same objects as the CommonJS entry (index.js), re-exported by name and as the default export.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const sessionstore = require('./index.js');

export const {
  SessionStore,
  SessionStoreError,
  NotFoundError,
  InvalidArgumentError,
  InvalidJsonError,
  InvalidSessionError,
  ConflictError,
  TooLargeError,
  InternalError,
  PermissionDeniedError,
  IoError,
  LockedError,
  CorruptError,
  PoisonedError,
  VersionMismatchError,
  FeedTruncatedError,
  FullError,
  UnavailableError,
  ClosedError,
  Status,
  version,
  DEFAULT_LIBRARY_PATH,
  BINDING_VERSION,
} = sessionstore;

export default sessionstore;
