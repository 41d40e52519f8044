/**
 * What the two apps share and the core must not hold (it owns no I/O): private atomic file
 * writes, bounded reads, identity key files, and a hidden prompt. A private workspace package, bundled into each app
 * by tsup, so the published apps do not depend on it.
 *
 * @packageDocumentation
 */

export {
  type SmallFile,
  type WriteFileAtomicOptions,
  errorCode,
  readSmallFile,
  writeFileAtomic,
} from './atomic-file.js';
export { promptHidden } from './prompt.js';
export { DataFileError, IdentityFileError, InsecureFileModeError, formatMode } from './errors.js';
export {
  IDENTITY_FILE_NAME,
  IDENTITY_HEADER,
  type Identity,
  type LoadIdentityOptions,
  formatIdentityFile,
  loadOrCreateIdentity,
  parseIdentityFile,
} from './identity.js';
