/** Import rules of STYLE (c): which folders may import which. Checked by `npm run lint`. */
const SRC = '^(common|resolver|sandbox|etchosts|resolvconf|controller|drivers|cni|bin)/';
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
      to: { path: '^(controller|drivers|bin)/' },
    },
    { name: 'only-bin-imports-controller', severity: 'error', from: { path: SRC, pathNot: '^(bin|controller)/' }, to: { path: '^controller/' } },
    {
      name: 'only-index-across-folders',
      severity: 'error',
      from: { path: '^(resolver|sandbox|etchosts|resolvconf|controller|drivers|cni|bin)/' },
      to: {
        path: '^(resolver|sandbox|etchosts|resolvconf|controller|drivers|cni)/(?!index\\.ts$).+',
        pathNot: ['^$1/', '^drivers/'],
      },
    },
    {
      name: 'io-only-in-io-folders',
      severity: 'error',
      from: { path: SRC, pathNot: ['/io/', '^bin/', '/index\\.ts$'] },
      to: { path: '^(fs|net|dgram|child_process|node:fs|node:net|node:dgram|node:child_process|execa|netlink)', dependencyTypesNot: ['type-only'] },
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
