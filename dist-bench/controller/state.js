import { openStateFiles, STATE_FILE } from './io/store.js';
import { chooseState, encodeState, snapshotState } from './persist.js';
import { emptyReport, restoreState } from './restore.js';
import { isLateKey, joinDeferred } from './keys.js';
import { StateNotRestorableError } from './state-errors.js';
/** Coalesced, write-ahead persistence of one controller. */
export class StateKeeper {
    #files;
    #logger;
    #model;
    #inFlight = new Map();
    #seq = 0;
    #restored = false;
    #dirty = false;
    #scheduled = false;
    #writing;
    #failing = false;
    constructor(dir, logger, model, files = openStateFiles(dir)) {
        this.#files = files;
        this.#logger = logger.child({ stateDir: dir });
        this.#model = model;
    }
    /** The model changed: write it on the next tick. Before restore() nothing is written (the old state is kept). */
    changed() {
        this.#dirty = true;
        if (this.#scheduled || !this.#restored)
            return;
        this.#scheduled = true;
        setImmediate(() => {
            this.#scheduled = false;
            void this.#pump();
        });
    }
    /** Write-ahead: `item` (if any) is saved in flight, and the state is on disk, before this resolves. Never rejects. */
    async ahead(key, item) {
        if (key !== undefined && item !== undefined)
            this.#inFlight.set(key, item);
        this.changed();
        await this.flush();
    }
    /** The in-flight object `key` has settled (made, removed, or failed): the next write describes the model alone. */
    settle(key) {
        if (this.#inFlight.delete(key))
            this.changed();
    }
    /** Wait until every change so far is on disk (or its write failed, which is logged). */
    async flush() {
        await this.#writing;
        if (this.#dirty && this.#restored)
            await this.#pump();
    }
    #render() {
        const m = this.#model();
        const items = [...this.#inFlight.values()];
        const state = snapshotState({
            networks: m.networks, sandboxes: m.sandboxes,
            creatingNetworks: items.flatMap((i) => ('network' in i ? [i.network] : [])),
            creatingSandboxes: items.flatMap((i) => ('draft' in i ? [i.draft] : [])),
            deletingSandboxes: items.flatMap((i) => ('deleting' in i ? [i.deleting] : [])),
        });
        return encodeState(state, ++this.#seq, new Date());
    }
    #pump() {
        this.#writing ??= (async () => {
            try {
                while (this.#dirty) {
                    this.#dirty = false;
                    await this.#files.write(this.#render());
                    if (this.#failing)
                        this.#logger.info('state written again');
                    this.#failing = false;
                }
            }
            catch (err) {
                this.#dirty = true; // retried on the next change or flush
                if (!this.#failing)
                    this.#logger.error({ err }, 'cannot write the state: changes are not persisted until a write succeeds');
                this.#failing = true;
            }
            finally {
                this.#writing = undefined;
            }
        })();
        return this.#writing;
    }
    /** Write what is pending and give the directory back. */
    async close() {
        await this.flush();
        if (this.#restored)
            await this.#files.unlock();
    }
    /** Load the newest good state, rebuild the model through `deps`, reconcile the kernel, save the result. Once, before any change. */
    async restore(deps) {
        if (this.#restored)
            throw new StateNotRestorableError('restore() ran already');
        const before = this.#model();
        if (before.networks.length + before.sandboxes.length > 0)
            throw new StateNotRestorableError('the controller has networks or sandboxes already');
        await this.#files.lock();
        const { chosen, rejected } = chooseState(await this.#files.readAll());
        for (const bad of rejected) {
            const aside = bad.name === STATE_FILE || chosen === undefined ? await this.#files.quarantine(bad.name) : undefined;
            this.#logger.warn({ file: bad.name, code: bad.code, reason: bad.reason, ...(aside ? { movedTo: aside } : {}) }, `ignoring ${bad.name}: ${bad.reason}`);
        }
        this.#seq = chosen?.seq ?? 0;
        const report = chosen === undefined ? emptyReport() : await restoreState(deps, chosen.state);
        for (const sb of this.#model().sandboxes) {
            if (isLateKey(sb) && sb.netnsPath !== '')
                await joinDeferred(sb).catch((err) => report.problems.push(`join of ${sb.id}: ${String(err)}`));
        }
        this.#restored = true;
        await this.ahead();
        this.#report(chosen, rejected.length, report);
        return report;
    }
    #report(chosen, rejected, r) {
        const from = chosen === undefined ? { source: 'none' } : { source: chosen.name, seq: chosen.seq, savedAt: chosen.savedAt };
        const fields = { ...from, ...r };
        if (chosen === undefined && rejected > 0)
            this.#logger.error(fields, 'no usable state file: starting empty (the bad files were moved aside)');
        else if (chosen !== undefined && chosen.name !== STATE_FILE)
            this.#logger.warn(fields, `state recovered from ${chosen.name} (seq ${chosen.seq}): the newest write was incomplete or corrupt`);
        else
            this.#logger.info(fields, chosen === undefined ? 'no saved state: starting empty' : `state restored from ${chosen.name} (seq ${chosen.seq})`);
        if (r.problems.length > 0)
            this.#logger.warn({ problems: r.problems }, 'some saved objects could not be restored');
    }
}
//# sourceMappingURL=state.js.map