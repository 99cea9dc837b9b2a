/** In-memory state files with a journal (the StateFiles the store is given in production), and a model of networks. */
import type { StateFiles } from '../../../store/io/files.js';
import type { PersistedNetwork, PersistedState } from '../../../store/document.js';

/** The files as a map of names to text; `ops` counts snapshot writes and appends, and whether each append synced. */
export function journalFiles(initial: Record<string, string> = {}) {
  const files = new Map(Object.entries(initial));
  const ops = { writes: 0, appends: 0, syncs: [] as boolean[] };
  const store: StateFiles = {
    dir: '/mem',
    readAll: async () => ['state.json', 'state.json.prev'].filter((n) => files.has(n)).map((name) => ({ name, text: files.get(name)! })),
    async write(text) {
      await new Promise((r) => setTimeout(r, 3));
      ops.writes++;
      if (files.has('state.json')) files.set('state.json.prev', files.get('state.json')!);
      files.set('state.json', text);
    },
    quarantine: async (name) => {
      files.delete(name);
      return `${name}.corrupt`;
    },
    lock: async () => undefined,
    unlock: async () => undefined,
    async appendJournal(text, sync = true) {
      await new Promise((r) => setTimeout(r, 3)); // the fdatasync that changes made meanwhile wait for
      ops.appends++;
      ops.syncs.push(sync);
      files.set('state.journal', (files.get('state.journal') ?? '') + text);
    },
    readJournal: async () => ({ prev: files.get('state.journal.prev') ?? '', current: files.get('state.journal') ?? '' }),
    async cutJournal(bytes) {
      files.set('state.journal', Buffer.from(files.get('state.journal') ?? '').subarray(0, bytes).toString());
    },
    async rotateJournal() {
      files.set('state.journal.prev', files.get('state.journal') ?? '');
      files.set('state.journal', '');
    },
  };
  return { store, files, ops };
}

export const net = (i: number): PersistedNetwork => ({
  id: `${i}`.padStart(64, '0'), name: `n${i}`, driver: 'bridge', subnet: `10.${i}.0.0/24`, gateway: `10.${i}.0.1`, internal: false, ttl: 600, driverOptions: {}, phase: 'live',
});

/** A model of plain records with the store's two views of it. */
export function model() {
  const nets = new Map<string, PersistedNetwork>();
  const snapshot = (): PersistedState => ({ networks: [...nets.values()], endpoints: [], sandboxes: [] });
  const record = (key: string) => nets.get(key.slice(4));
  return { nets, snapshot, record };
}

/** A rebuild that restores nothing and reports no problem. */
export const noProblems = async () => ({ problems: [] });
