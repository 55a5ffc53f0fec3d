// The layering rule of @spectator/core, run by its `lint` script (and so by CI): imports point one
// way, from the top of this list to the bottom, never back up. A newcomer can read the code
// bottom-up: ids, then meters, then the store that holds them, then the outputs that publish
// them, then the registry that picks an output, then the global registry and the integrations.
// Modules of one layer may import each other; cycles are refused everywhere.
/** The layers, lowest first: each may import only the ones before it (and itself). */
const LAYERS = [
  ['internal', 'errors'], // utilities: clock, logger, error codes
  ['ids'], // meter identity and Atlas's tag rules
  ['meters'], // the meter types; they know nothing of publishing
  ['store'], // the registry's meters: factories, cap, refusals, expiry
  ['outputs'], // where measurements go: the Atlas publisher, the SpectatorD writer
  ['registry'], // configuration, the output chosen from it, the publish schedule
  ['global'], // the process-global registry and its exit flush
  ['ipc', 'runtime'], // request recording for the server adapters; runtime metrics
  ['ipc-client'], // outbound HTTP metrics (shares the IPC recorder)
];

const dir = (names) => `^src/(${names.join('|')})(/|\\.ts$)`;

module.exports = {
  forbidden: [
    ...LAYERS.slice(0, -1).map((layer, i) => ({
      name: `layer-${layer[0]}`,
      comment: `${layer.join('/')} may not import a layer above it (${LAYERS.slice(i + 1)
        .flat()
        .join(', ')}): see .dependency-cruiser.cjs`,
      severity: 'error',
      from: { path: dir(layer) },
      to: { path: dir(LAYERS.slice(i + 1).flat()) },
    })),
    {
      name: 'no-circular',
      comment: 'modules that import each other, directly or through others',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
