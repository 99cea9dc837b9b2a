/** sandns's release, as package.json gives it (test/unit/docs/version.test.ts keeps the two equal). */
export const SANDNS_VERSION = '0.1.0';
