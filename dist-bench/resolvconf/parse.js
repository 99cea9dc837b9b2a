/**
 * The ResolvConf value and the parser of resolv.conf text (spec C1; Docker 3.A).
 * Values are immutable: every transform returns a new one (moby's
 * internal/resolvconf Parse -> Override* -> Transform -> Generate, made pure).
 */
import { parseNameserver } from './addr.js';
import { MAX_LINE_BYTES, ResolvConfLineTooLongError } from './errors.js';
/** An empty configuration read from `sourcePath` (a missing origin file, Docker C3). */
export function emptyResolvConf(sourcePath) {
    return {
        sourcePath,
        nameservers: [],
        invalidNameservers: [],
        search: [],
        options: [],
        other: [],
        overridden: { nameservers: false, search: false, options: false },
        ndotsFrom: undefined,
        warnings: [],
        extServers: [],
        transform: 'none',
    };
}
/** Whitespace as Go's strings.Fields sees it (unicode.IsSpace). */
const FIELD_SEPARATOR = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;
/** Split a line into fields as Go's strings.Fields does. */
function fields(line) {
    return line.split(FIELD_SEPARATOR).filter((field) => field !== '');
}
/** Fold one line into the lists (moby processLine). */
function processLine(lists, line) {
    const parts = fields(line);
    const [directive, first] = parts;
    // Blank lines and comments: '#' or ';' first on the line (C1).
    if (directive === undefined || directive.startsWith('#') || directive.startsWith(';'))
        return;
    if (directive === 'nameserver' || directive === 'search' || directive === 'domain' || directive === 'options') {
        if (first === undefined)
            return; // a known directive without argument is ignored
    }
    if (directive === 'nameserver') {
        const addr = parseNameserver(first);
        if (addr === undefined)
            lists.invalidNameservers.push(first);
        else
            lists.nameservers.push(addr.text);
    }
    else if (directive === 'search' || directive === 'domain') {
        lists.search = parts.slice(1); // 'domain' is the obsolete 'search'; the last one wins
    }
    else if (directive === 'options') {
        lists.options.push(...parts.slice(1)); // options accumulate
    }
    else {
        lists.other.push(line);
    }
}
/** Split text into lines as Go's bufio.ScanLines does (a trailing CR is dropped). */
function splitLines(text) {
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '')
        lines.pop();
    return lines.map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
}
/**
 * Parse resolv.conf text read from `sourcePath` (C1; Docker 3.A). Throws
 * ERR_RESOLVCONF_LINE_TOO_LONG for a line over 64 KiB (Docker C3).
 */
export function parseResolvConf(text, sourcePath) {
    const lists = { nameservers: [], invalidNameservers: [], search: [], options: [], other: [] };
    splitLines(text).forEach((line, index) => {
        if (line.length > MAX_LINE_BYTES / 3 && Buffer.byteLength(line) > MAX_LINE_BYTES) {
            throw new ResolvConfLineTooLongError(sourcePath, index + 1);
        }
        processLine(lists, line);
    });
    const conf = { ...emptyResolvConf(sourcePath), ...lists };
    return option(conf, 'ndots') === undefined ? conf : { ...conf, ndotsFrom: 'host' };
}
/**
 * The value of the last option named `name` (Docker C2): `ndots:0 edns0 ndots:1`
 * gives '1' for ndots and '' for edns0; undefined when absent.
 */
export function option(conf, name) {
    for (let i = conf.options.length - 1; i >= 0; i--) {
        const opt = conf.options[i];
        const colon = opt.indexOf(':');
        const key = colon < 0 ? opt : opt.slice(0, colon);
        if (key === name)
            return colon < 0 ? '' : opt.slice(colon + 1);
    }
    return undefined;
}
/** A key that changes exactly when the parsed directives change (C5 watch). */
export function directivesKey(conf) {
    return JSON.stringify([conf.nameservers, conf.invalidNameservers, conf.search, conf.options, conf.other]);
}
//# sourceMappingURL=parse.js.map