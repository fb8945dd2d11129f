// @ts-check
/**
 * The layers of ARCHITECTURE.md ("Layout and layers"), enforced: `npm run lint` runs
 * `depcruise src --config .dependency-cruiser.cjs`.
 *
 * Each folder of src/ has a layer. A module imports only from its own folder or from folders of a
 * lower layer; the exceptions below are the only same-layer imports allowed. Tests
 * (`*.test.ts`), conformance suites (`*.conformance.ts`, `*.test-suite.ts`) and fixtures
 * (`*.fixture.ts`) follow the same rules: a test that needs a higher layer lives in tests/, which
 * this rule does not cover. `src/index.ts`, the package root, may import anything. Type-only
 * imports count (`tsPreCompilationDeps`): they couple the code as much as value imports do.
 */

/** @type {Record<string, number>} */
const LAYERS = {
  contracts: 0,
  config: 0,
  text: 1,
  db: 1,
  observability: 1,
  threads: 1,
  ledger: 2,
  locks: 2,
  store: 2,
  models: 2,
  queue: 3,
  pipeline: 3,
  stages: 4,
  gate: 4,
  retrieval: 4,
  engine: 5,
  eval: 6,
  api: 6,
  "model-server": 6,
  cli: 6,
  console: 6,
};

/**
 * Same-layer imports the code is right to make (one direction only; the reverse stays forbidden,
 * and ARCHITECTURE.md says so):
 * - config → contracts: contracts is the floor every part stands on (the error table included);
 *   contracts imports nothing of Sluice's.
 * - queue → pipeline: the worker in queue/ runs the pipelines a document's job names.
 * - cli → api, model-server, eval: `sluice serve`, `sluice model-server`, `sluice certs`,
 *   `sluice token` and `sluice eval` start or call the other ways in.
 * @type {Record<string, string[]>}
 */
const SAME_LAYER_ALLOWED = {
  config: ["contracts"],
  queue: ["pipeline"],
  cli: ["api", "model-server", "eval"],
};

const FOLDERS = Object.keys(LAYERS);
const escape = (/** @type {string} */ name) => name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const anyOf = (/** @type {string[]} */ names) => `^src/(${names.map(escape).join("|")})/`;

/** One rule per folder: it may not import folders of its own layer or above (but the exceptions), nor the package root. */
const layerRules = FOLDERS.map((folder) => {
  const layer = /** @type {number} */ (LAYERS[folder]);
  const allowed = SAME_LAYER_ALLOWED[folder] ?? [];
  const above = FOLDERS.filter(
    (other) => other !== folder && /** @type {number} */ (LAYERS[other]) >= layer && !allowed.includes(other),
  );
  const may = [
    "its own folder",
    ...allowed.map((f) => `${f}/ (same layer)`),
    ...(layer === 0 ? [] : [layer === 1 ? "layer 0" : `layers 0-${layer - 1}`]),
  ];
  return {
    name: `layer-${folder}`,
    severity: /** @type {const} */ ("error"),
    comment:
      `src/${folder}/ is layer ${layer}: it may import only ${may.join(", ")} (ARCHITECTURE.md, "Layout and layers"). ` +
      "Move what both sides need down a layer; a test that needs a higher layer belongs in tests/.",
    from: { path: `^src/${escape(folder)}/` },
    to: { path: above.length > 0 ? [anyOf(above), "^src/index\\.ts$"] : "^src/index\\.ts$" },
  };
});

/** @type {import("dependency-cruiser").IConfiguration} */
module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: "layer-unmapped-folder",
      severity: "error",
      comment: "Every folder of src/ has a layer: add the new folder to LAYERS here and to ARCHITECTURE.md.",
      from: { path: "^src/[^/]+/", pathNot: anyOf(FOLDERS) },
      to: {},
    },
    {
      name: "no-folder-cycles",
      severity: "error",
      comment: "No circular dependencies between the folders of src/.",
      scope: "folder",
      from: { path: "^src/[^/]+" },
      to: { path: "^src/[^/]+", circular: true },
    },
    {
      name: "adapters-never-import-engine",
      severity: "error",
      comment:
        "Adapters (sqlite/, postgres/, redis/, bullmq/, models/backends, models/remote) never import the engine.",
      from: { path: ["^src/[^/]+/(sqlite|postgres|redis|bullmq)/", "^src/models/(backends|remote)/"] },
      to: { path: "^src/engine/" },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(node_modules|dist)/" },
    enhancedResolveOptions: { extensions: [".ts", ".js", ".mjs", ".cjs", ".json"] },
    progress: { type: "none" },
  },
};
