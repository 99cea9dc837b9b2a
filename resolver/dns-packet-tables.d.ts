/**
 * Types for dns-packet's IANA tables (the package ships them as plain CJS
 * files; @types/dns-packet does not declare them). Used to name qtypes and
 * rcodes in metrics and explain().
 */
declare module 'dns-packet/types.js' {
  const types: {
    /** Mnemonic of a type number (`1` → `A`; unknown → `UNKNOWN_<n>`). */
    toString(type: number): string;
    /** Type number of a mnemonic (`AAAA` → 28; unknown → 0). */
    toType(name: string): number;
  };
  export = types;
}

declare module 'dns-packet/rcodes.js' {
  const rcodes: {
    /** Mnemonic of a 4-bit rcode (`3` → `NXDOMAIN`). */
    toString(rcode: number): string;
    /** Rcode of a mnemonic. */
    toRcode(name: string): number;
  };
  export = rcodes;
}
