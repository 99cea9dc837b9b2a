/**
 * The store's public door: persistence of the controller's model (L3). The
 * state is a versioned, checksummed JSON document (document.ts) written
 * atomically into one directory (io/files.ts), with the changes between
 * snapshots as journal lines (journal.ts), by a group-committing, write-ahead
 * StateStore (keeper.ts). The store knows only plain persisted records; it
 * never imports the model (controller/) or the API (api/).
 */
export { StateStore, type Intent, type Snapshot, type RestoreOutcome, type RecordOf } from './keeper.js';
export { netKey, epKey, sbKey, type RecordKey, type JournalRecord } from './journal.js';
export { StateWriteError, StoreDegradedError } from './errors.js';
export { encodeState, decodeState } from './document.js';
export type {
  PersistedState, PersistedNetwork, PersistedEndpoint, PersistedJoin, PersistedJoinInfo, PersistedKey, PersistedSandbox,
  DecodedState, StateCandidate, ChosenState,
} from './document.js';
export { type StateFiles } from './io/files.js';
export * from './cluster/index.js';
