/**
 * Import rules between the source folders ("rooms", docs/architecture.md):
 * bin -> api -> controller -> {sandbox, drivers, store}; leaves import only
 * common. Checked by `npm run lint`.
 */
const SRC = '^(common|resolver|sandbox|etchosts|resolvconf|controller|api|store|drivers|cni|bin)/';
module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', from: {}, to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } } },
    { name: 'common-is-a-leaf', severity: 'error', from: { path: '^common/' }, to: { path: SRC, pathNot: '^common/' } },
    {
      name: 'leaf-folders-import-only-common',
      severity: 'error',
      from: { path: '^(etchosts|resolvconf|resolver|drivers|cni)/' },
      to: { path: SRC, pathNot: ['^common/', '^$1/'] },
    },
    {
      name: 'sandbox-not-controller-or-drivers',
      severity: 'error',
      from: { path: '^sandbox/' },
      to: { path: '^(controller|api|store|drivers|bin)/' },
    },
    {
      comment: 'The model (controller/) knows nothing of HTTP: the API imports the model, never the reverse.',
      name: 'model-not-api',
      severity: 'error',
      from: { path: '^controller/' },
      to: { path: '^(api|bin)/' },
    },
    {
      comment: 'The store holds plain persisted records: it never imports the model, the API or an entry point.',
      name: 'store-not-model-or-api',
      severity: 'error',
      from: { path: '^store/' },
      to: { path: '^(api|controller|sandbox|bin)/' },
    },
    {
      comment: 'The API talks to the model only (and common building blocks).',
      name: 'api-imports-controller-and-common',
      severity: 'error',
      from: { path: '^api/' },
      to: { path: SRC, pathNot: ['^(api|controller|common)/'] },
    },
    { name: 'only-bin-and-api-import-controller', severity: 'error', from: { path: SRC, pathNot: '^(bin|api|controller)/' }, to: { path: '^controller/' } },
    { name: 'only-bin-imports-api', severity: 'error', from: { path: SRC, pathNot: '^(bin|api)/' }, to: { path: '^api/' } },
    {
      name: 'only-index-across-folders',
      severity: 'error',
      from: { path: '^(resolver|sandbox|etchosts|resolvconf|controller|api|store|drivers|cni|bin)/' },
      to: {
        path: '^(resolver|sandbox|etchosts|resolvconf|controller|api|store|drivers|cni)/(?!index\\.ts$).+',
        pathNot: ['^$1/', '^drivers/'],
      },
    },
    {
      name: 'io-only-in-io-folders',
      severity: 'error',
      from: { path: SRC, pathNot: ['/io/', '^bin/', '/index\\.ts$'] },
      to: { path: '^(fs|net|dgram|http|child_process|node:fs|node:net|node:dgram|node:http|node:child_process|execa|netlink)', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'exec-only-from-io',
      severity: 'error',
      from: { path: SRC, pathNot: '/io/' },
      to: { path: '^common/io/exec\\.ts$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
